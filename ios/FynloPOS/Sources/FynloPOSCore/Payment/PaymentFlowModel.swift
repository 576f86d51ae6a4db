import Foundation
import FynloSyncCore
import Observation

/// The amount one payment takes: a whole order, or one part of a split bill (the bill
/// screen works the parts out; this screen only takes them).
public struct PaymentDue: Sendable, Hashable {
    public var orderID: String
    /// Which part of a split bill; `whole` for the whole order. Attempts in the journal are
    /// matched by order and part, so each part carries on after a kill on its own.
    public var partID: String
    /// Minor units towards the order's total.
    public var amount: Int
    /// Given on top of the bill, recorded apart from it.
    public var tip: Int
    public var currency: String
    /// For the Apple Pay sheet and the words ("Table 4").
    public var label: String

    public init(
        orderID: String, partID: String = "whole", amount: Int, tip: Int = 0, currency: String = "GBP",
        label: String = "Order"
    ) {
        self.orderID = orderID.lowercased()
        self.partID = partID
        self.amount = amount
        self.tip = tip
        self.currency = currency
        self.label = label
    }
}

/// The payment screen for one order or one part of a split bill.
///
/// Wiring: the app follows ``LiveUpdates/events()`` with ``follow(_:)`` and runs
/// ``watch(pollEvery:)`` while the screen is up (every few seconds when ``LiveUpdates`` is
/// polling, rarely while its socket is live); ``resume()`` at launch.
///
/// A payment, step by step:
/// 1. ``loadQuote()``: every method with its fee (the server's quote when online; offline,
///    cash and a card in person within the offline limits, fees unknown until forwarded).
/// 2. One of ``payByBank()`` (a QR, a 15-minute countdown from the injected clock, its
///    status from the socket through ``received(_:)`` and from polling in ``watch(pollEvery:)``),
///    ``payByCard()`` (the Terminal port collects, the server captures; offline, within the
///    caps, an `offline_card_payment`), ``payWithApplePay()`` (the wallet's token to the
///    server) or ``payCash(tendered:)`` (a `cash_payment` through ``Records``, the change,
///    the drawer opened).
/// 3. ``stage`` ends ``Stage/paid`` or ``Stage/notPaid(_:)``; then ``offers`` lists the
///    methods to offer at once, for the same amount.
///
/// Every step that can move money is written to the ``PaymentJournal`` before it is sent,
/// with its Idempotency-Key; ``resume()`` (called at launch, and before any new payment)
/// resends what a killed till left unanswered with the same key, so a retried tap never
/// pays twice.
@MainActor
@Observable
public final class PaymentFlowModel {
    public enum Stage: Sendable, Hashable {
        /// Showing the methods.
        case choosing
        /// Waiting for the server, the reader or the wallet.
        case working(PaymentMethod)
        /// The QR is up: see ``qr``, ``secondsLeft``.
        case awaitingBank
        /// A card-in-person payment waits for the card (a reader the server drives).
        case awaitingCard
        case paid
        /// Ended without the money; ``offers`` are the methods to offer instead.
        case notPaid(PaymentState)
        /// An answer was lost and retrying did not bring it: ``retry()`` asks again with
        /// the same key (it never pays twice), or another method may be chosen once the
        /// network is back.
        case interrupted
    }

    public let due: PaymentDue
    public private(set) var stage: Stage = .choosing
    /// Every method with its fee, cheapest first.
    public private(set) var methods: [MethodQuote] = []
    /// True when the quote could not be asked: only offline methods are listed.
    public private(set) var isOffline = false
    /// What the list means when offline.
    public private(set) var offlineNote: String?
    /// The server's payment this screen follows.
    public private(set) var payment: PaymentView?
    public private(set) var qr: BankQR?
    /// The server's PNG of the QR, when it could be fetched (else render ``BankQR/link``).
    public private(set) var qrImage: Data?
    /// Seconds until the QR expires, from the injected clock (``tick()``).
    public private(set) var secondsLeft: Int?
    /// After a decline or expiry: the methods to offer at once, for ``due``'s amount.
    public private(set) var offers: [PaymentMethod] = []
    /// The status line, in words.
    public private(set) var message = ""
    /// Pay by bank, once paid: where the money stands, in words.
    public private(set) var settlementNote: String?
    /// A late or stuck outcome, in words (paid after expiry, authorised but not sent, …).
    public private(set) var lateNote: String?
    /// Cash: the change to hand back.
    public private(set) var change: Int?
    /// Card taken offline: stored on the iPad, forwarded to the bank later.
    public private(set) var storedOffline = false
    /// The customer agreed to pay the method's fee (a `pass_on` restaurant, where lawful).
    public var acceptSurcharge = false

    private let api: any PaymentsAPI
    private let journal: any PaymentJournal
    private let records: any Records
    private let terminal: (any CardTerminal)?
    private let wallet: (any WalletPay)?
    private let drawer: (any CashDrawer)?
    private let clock: any WallClock
    private let sleeper: any Sleeper
    private let ids: any IDSource
    private let offlineLimits: OfflineCardLimits?
    private let employeeID: String?
    private let retry: RetryPolicy
    private let attemptsPerCall: Int
    /// The payment ended without money here (locally, or by the server): a success
    /// reported after it is a late success.
    private var endedUnpaid = false
    /// Payments this screen followed before the current one (a QR that expired, a declined card).
    private var earlier: Set<String> = []
    private var jitter = SeededGenerator(seed: 17)

    /// - Parameters:
    ///   - offlineLimits: the restaurant's caps as last fetched (``PaymentsAPI/offlineCardLimits()``);
    ///     `nil` (never fetched) refuses cards offline.
    ///   - employeeID: who is signed in, written on offline payments (``Records`` signs them).
    ///   - attemptsPerCall: how often one tap sends a call whose answer is lost before the
    ///     screen says ``Stage/interrupted`` (every send uses the same key).
    public init(
        due: PaymentDue, api: any PaymentsAPI, journal: any PaymentJournal, records: any Records,
        terminal: (any CardTerminal)? = nil, wallet: (any WalletPay)? = nil, drawer: (any CashDrawer)? = nil,
        clock: any WallClock = SystemWallClock(), sleeper: any Sleeper = TaskSleeper(),
        ids: any IDSource = RandomIDs(), offlineLimits: OfflineCardLimits? = nil, employeeID: String? = nil,
        retry: RetryPolicy = RetryPolicy(initial: .milliseconds(500), maximum: .seconds(4)), attemptsPerCall: Int = 3
    ) {
        self.due = due
        self.api = api
        self.journal = journal
        self.records = records
        self.terminal = terminal
        self.wallet = wallet
        self.drawer = drawer
        self.clock = clock
        self.sleeper = sleeper
        self.ids = ids
        self.offlineLimits = offlineLimits
        self.employeeID = employeeID
        self.retry = retry
        self.attemptsPerCall = max(1, attemptsPerCall)
    }

    /// What the customer pays by `method` (amount, tip and any accepted surcharge).
    public func customerPays(_ method: PaymentMethod) -> Int {
        let surcharge = acceptSurcharge ? (methods.first { $0.method == method }?.surcharge ?? 0) : 0
        return due.amount + due.tip + surcharge
    }

    // MARK: Quote

    /// Asks the server what each method costs; offline, lists what works without it.
    public func loadQuote() async {
        do {
            let quote = try await api.quote(amount: due.amount)
            methods = quote.methods
            isOffline = false
            offlineNote = nil
        } catch let error as PaymentsAPIError where error.isRetryable {
            goOffline()
        } catch {
            methods = []
            message = "The quote could not be read: \(error)"
        }
    }

    private func goOffline() {
        isOffline = true
        var offline = [MethodQuote(method: .cash, totalFee: 0, customerPays: due.amount + due.tip)]
        let cap = offlineLimits?.perPayment ?? 0
        if terminal != nil, due.amount + due.tip <= cap {
            offline.append(MethodQuote(method: .cardPresent, totalFee: nil, customerPays: due.amount + due.tip))
        }
        methods = offline
        let card =
            offline.count > 1
            ? ", and a card in person up to \(PaymentWords.money(cap, due.currency)) (its fee is known once the card reaches the bank)"
            : ""
        offlineNote = "No connection to the server: cash\(card). Pay by bank and Apple Pay need the server."
    }

    /// Pay by bank and Apple Pay need the server: offline, the quote is asked again first,
    /// and if the server is still out of reach the screen says so.
    private func serverReachable(for method: PaymentMethod) async -> Bool {
        guard isOffline else { return true }
        await loadQuote()
        guard isOffline else { return true }
        message = "\(PaymentWords.method(method)) needs the server, which can't be reached. Take cash, or a card in person."
        return false
    }

    /// Takes `method` for ``due`` (the amount carried over from a declined or expired
    /// payment): cash needs what was tendered.
    public func take(_ method: PaymentMethod, tendered: Int? = nil) async {
        switch method {
        case .openBanking: await payByBank()
        case .card, .cardPresent: await payByCard()
        case .applePay: await payWithApplePay()
        case .cash: await payCash(tendered: tendered ?? (due.amount + due.tip))
        }
    }

    // MARK: Carrying on after a kill

    /// Carries on every step a previous run of the till left for this order and part:
    /// resends unanswered calls with their own keys, records offline payments not yet
    /// recorded. Shows a payment still waiting (a QR) or already paid.
    public func resume() async {
        do {
            try await carryOn()
        } catch {
            interrupt(error)
        }
    }

    /// Asks again for the answer a lost call never brought (same key, same request).
    public func retry() async {
        await resume()
    }

    /// Before another payment: releases the one this screen still waits on (a QR past its
    /// countdown, a card not presented), so its amount no longer blocks the order, then
    /// carries on what a killed till left. True when it turns out paid or still waiting,
    /// so no new payment may start.
    private func clearTheWay() async throws -> Bool {
        if let current = payment, current.state?.isEnded == false {
            do {
                let released = try await send(.cancel, paymentID: current.id) { api, key in
                    try await api.cancel(current.id, idempotencyKey: key)
                }
                await settle(released)
                if released.state == .succeeded { return true }
            } catch let error as PaymentsAPIError where error.isRetryable {
                // Out of reach: go ahead (cash, a card offline); the payment is cancelled
                // when the journal is next carried on, or ends at its deadline.
                for attempt in try await journal.unfinished() where attempt.paymentID == current.id {
                    var left = attempt
                    left.abandoned = true
                    try await journal.save(left)
                }
            } catch PaymentsAPIError.refused {
                // Already ended at the server (expired, declined): see how.
                await refresh()
                if payment?.state == .succeeded { return true }
            }
        }
        return try await carryOn()
    }

    /// Returns true when a payment is settled or waiting here, so no new one may start.
    ///
    /// A call whose answer is still lost is left in the journal to be asked again later,
    /// unless money may have moved without the customer's further say (Apple Pay, a card by
    /// its details): then nothing new starts until the server has answered it. A create left
    /// so is marked abandoned: the till moved on, so the payment it made, if it made one, is
    /// cancelled when it comes back rather than shown.
    @discardableResult
    private func carryOn() async throws -> Bool {
        let mine = try await journal.unfinished().filter { $0.orderID == due.orderID && $0.partID == due.partID }
        var busy = false
        for attempt in mine {
            do {
                busy = try await carryOn(attempt) || busy
            } catch let error as PaymentsAPIError where error.isRetryable {
                if attempt.kind == .create, let method = attempt.request?.method, method == .applePay || method == .card {
                    throw error
                }
                if attempt.kind == .create, !attempt.abandoned {
                    var left = attempt
                    left.abandoned = true
                    try await journal.save(left)
                }
            } catch PaymentsAPIError.refused {
                // Refused now: a create never made a payment (the order was paid meanwhile,
                // say); a cancel or capture found the payment already ended. Nothing to redo.
                try await journal.finish(attempt.id)
            }
        }
        return busy
    }

    private func carryOn(_ attempt: PaymentAttempt) async throws -> Bool {
        switch attempt.kind {
        case .create:
            guard let request = attempt.request else {
                try await journal.finish(attempt.id)
                return false
            }
            let view = try await call(attempt) { api, key in try await api.create(request, idempotencyKey: key) }
            return try await carriedOn(view, attempt: attempt)
        case .capture, .cancel, .collect:
            guard let paymentID = attempt.paymentID else {
                try await journal.finish(attempt.id)
                return false
            }
            let view = try await call(attempt) { api, key in
                switch attempt.kind {
                case .capture: try await api.capture(paymentID, idempotencyKey: key)
                case .cancel: try await api.cancel(paymentID, idempotencyKey: key)
                default:
                    try await api.collect(
                        paymentID, readerID: attempt.readerID ?? "", tipOnReader: false, idempotencyKey: key)
                }
            }
            try await journal.finish(attempt.id)
            await settle(view)
            return view.state == .succeeded
        case .cash:
            try await recordOffline(attempt, entityType: "cash_payment")
            change = attempt.fields["tendered"]?.intValue.map { $0 - due.amount - due.tip }
            paid("Paid in cash.")
            return true
        case .offlineCard:
            return try await carryOnOfflineCard(attempt)
        case .refund:
            return false  // the refund screen's (``RefundModel``); never filed under a bill part
        }
    }

    /// A replayed create: a waiting QR is shown again; a card or Apple Pay payment left
    /// waiting has lost its card on the till (and an abandoned one its screen), so it is
    /// cancelled, with its own journaled key, to free the amount; an ended one is shown.
    private func carriedOn(_ view: PaymentView, attempt: PaymentAttempt) async throws -> Bool {
        var kept = attempt
        kept.paymentID = view.id
        try await journal.save(kept)
        let state = view.state ?? .created
        if !state.isEnded {
            if view.method == .openBanking, !attempt.abandoned {
                apply(view)
                return true
            }
            let canceled = try await send(.cancel, paymentID: view.id) { api, key in
                try await api.cancel(view.id, idempotencyKey: key)
            }
            try await journal.finish(attempt.id)
            if canceled.state == .succeeded {
                await settle(canceled)
                return true
            }
            return false
        }
        try await journal.finish(attempt.id)
        await settle(view)
        return state == .succeeded
    }

    // MARK: Pay by bank

    /// Creates a pay-by-bank payment and shows its QR, with the countdown running.
    public func payByBank() async {
        guard await serverReachable(for: .openBanking) else { return }
        guard let view = await start(PaymentRequest(
            orderID: due.orderID, method: .openBanking, amount: due.amount, tip: due.tip,
            acceptSurcharge: acceptSurcharge))
        else { return }
        if view.method == .openBanking, view.state?.isEnded == false {
            qrImage = try? await api.qrImage(view.id, format: .png)
        }
    }

    /// Recomputes the countdown from the clock; at zero the QR is over and the other methods
    /// are offered at once (the server expires it too; a late payment is still shown).
    public func tick() {
        guard let qr else {
            secondsLeft = nil
            return
        }
        let left = max(0, (qr.expiresAtMs - clock.nowMs() + 999) / 1000)
        secondsLeft = left
        if left == 0, stage == .awaitingBank {
            endUnpaid(.expired, method: .openBanking, reason: nil, fallback: [])
        }
    }

    /// Asks the server where the payment stands (a socket hint arrived, or a poll).
    public func refresh() async {
        guard let id = payment?.id else { return }
        do {
            await settle(try await api.payment(id))
        } catch {
            // A hint or a poll that failed changes nothing: the next one asks again.
        }
    }

    /// Follows the payment until it has ended (and, for pay by bank, its money has settled
    /// or stopped): ticks the countdown every second and polls every `pollEvery`, the
    /// fallback behind the socket. Returns when cancelled or when there is nothing to follow.
    public func watch(pollEvery: Duration = .seconds(3)) async {
        var sincePoll = Duration.zero
        while !Task.isCancelled, following {
            do { try await sleeper.sleep(for: .seconds(1)) } catch { return }
            tick()
            sincePoll += .seconds(1)
            if sincePoll >= pollEvery {
                sincePoll = .zero
                await refresh()
            }
        }
    }

    private var following: Bool {
        guard let payment, let state = payment.state else { return false }
        if !state.isEnded { return true }
        if state == .succeeded, payment.method == .openBanking {
            // Paid at `executed`; the settlement still moves (or stalls, or reverses).
            return payment.settlement.map { [.executed, .creditable].contains($0) } ?? true
        }
        // Ended without money: a late success may still come; the socket says so.
        return false
    }

    /// A real-time message (``LiveUpdates``): about this payment, ask the server now. About
    /// one this screen took earlier (an expired QR the bank paid after all), say so: the
    /// order may now be paid twice.
    public func received(_ event: LiveEvent) async {
        switch event {
        case .paymentStatus(let paymentID, _, _, _) where paymentID == payment?.id:
            await refresh()
        case .paymentStatus(let paymentID, _, _, let state) where earlier.contains(paymentID):
            if state == PaymentState.succeeded.rawValue { lateNote = PaymentWords.attention("late_success") }
        case .paymentAttention(let paymentID, let orderID, let why)
        where paymentID == payment?.id || earlier.contains(paymentID) || (payment == nil && orderID == due.orderID):
            lateNote = PaymentWords.attention(why)
            if paymentID == payment?.id { await refresh() }
        default:
            break
        }
    }

    /// Follows the real-time messages (``LiveUpdates/events()``) until the stream ends.
    public func follow(_ events: AsyncStream<LiveEvent>) async {
        for await event in events {
            await received(event)
        }
    }

    // MARK: Card in person

    /// The readers the Terminal SDK found (``findReaders()``), Tap to Pay first.
    public private(set) var readers: [CardReader] = []
    /// The reader cards are taken on.
    public private(set) var reader: CardReader?

    /// Looks for readers (Tap to Pay on this iPad, paired and smart readers).
    public func findReaders() async {
        guard let terminal else { return }
        do {
            readers = try await terminal.discoverReaders().sorted { ($0.kind == .tapToPay ? 0 : 1) < ($1.kind == .tapToPay ? 0 : 1) }
            reader = await terminal.connectedReader()
            if readers.isEmpty { message = "No card reader found." }
        } catch {
            message = "Looking for card readers failed: \(error)"
        }
    }

    /// Connects `reader` for the payments that follow.
    public func use(_ reader: CardReader) async {
        guard let terminal else { return }
        do {
            try await terminal.connect(reader)
            self.reader = await terminal.connectedReader()
        } catch {
            message = "\(reader.label) did not connect: \(error)"
        }
    }

    /// Takes a card in person on the connected reader (Tap to Pay or a paired reader, or a
    /// smart reader through the server). Offline, stores it on the iPad within the caps.
    public func payByCard() async {
        guard let terminal else {
            message = "No card reader is set up on this iPad."
            return
        }
        if isOffline {
            await payByCardOffline(terminal)
            return
        }
        guard let reader = await terminal.connectedReader() else {
            message = "Connect a card reader (or Tap to Pay) first."
            return
        }
        guard let view = await start(PaymentRequest(
            orderID: due.orderID, method: .cardPresent, amount: due.amount, tip: due.tip,
            acceptSurcharge: acceptSurcharge))
        else {
            if isOffline { await payByCardOffline(terminal) }
            return
        }
        guard view.state?.isEnded == false else { return }
        do {
            if reader.kind == .internet {
                let collected = try await send(.collect, paymentID: view.id, readerID: reader.id) { api, key in
                    try await api.collect(view.id, readerID: reader.id, tipOnReader: false, idempotencyKey: key)
                }
                await settle(collected)
                if collected.state?.isEnded == false {
                    stage = .awaitingCard
                    message = "Waiting for the card on \(reader.label)."
                }
                return
            }
            guard let secret = view.clientSecret else {
                message = "The server gave no card session for this payment."
                return
            }
            stage = .working(.cardPresent)
            message = "Present the card."
            switch try await terminal.collect(clientSecret: secret) {
            case .authorised:
                let captured = try await send(.capture, paymentID: view.id) { api, key in
                    try await api.capture(view.id, idempotencyKey: key)
                }
                await settle(captured)
            case .declined(let code):
                try await cancelQuietly(view.id)
                endUnpaid(.failed, method: .cardPresent, reason: code, fallback: [])
            case .canceled:
                try await cancelQuietly(view.id)
                stage = .choosing
                message = "The card payment was stopped."
            }
        } catch {
            interrupt(error)
        }
    }

    private func cancelQuietly(_ paymentID: String) async throws {
        let canceled = try await send(.cancel, paymentID: paymentID) { api, key in
            try await api.cancel(paymentID, idempotencyKey: key)
        }
        payment = canceled
    }

    private func payByCardOffline(_ terminal: any CardTerminal) async {
        let charged = due.amount + due.tip
        guard let limits = offlineLimits else {
            message = "Cards can't be taken offline: this iPad has not yet read the restaurant's limits."
            return
        }
        guard charged <= limits.perPayment else {
            message = "Offline, a card can take at most \(PaymentWords.money(limits.perPayment, due.currency)). Take cash, or wait for the connection."
            return
        }
        let held = await terminal.heldOffline(currency: due.currency)
        guard held + charged <= limits.total else {
            message = "This iPad already holds \(PaymentWords.money(held, due.currency)) of cards taken offline, the most it may hold is \(PaymentWords.money(limits.total, due.currency)). Take cash, or wait for the connection."
            return
        }
        guard await terminal.canTakeOffline() else {
            message = "The card reader can't store cards offline now."
            return
        }
        stage = .working(.cardPresent)
        message = "Present the card (offline)."
        do {
            if try await clearTheWay() { return }
            let attempt = PaymentAttempt(
                id: ids.next(), kind: .offlineCard, orderID: due.orderID, partID: due.partID,
                startedAtMs: clock.nowMs())
            try await journal.save(attempt)
            let intent = OfflineCardIntent(paymentID: attempt.id, amount: due.amount, tip: due.tip, currency: due.currency)
            switch try await terminal.collectOffline(intent) {
            case .stored(let storedAtMs):
                var stored = attempt
                stored.fields = offlineCardFields(storedAtMs: storedAtMs)
                try await journal.save(stored)
                try await recordOffline(stored, entityType: "offline_card_payment")
                storedOffline = true
                paid("Card stored on this iPad: it goes to the bank when the connection is back. The order is paid.")
            case .declined(let code):
                try await journal.finish(attempt.id)
                endUnpaid(.failed, method: .cardPresent, reason: code, fallback: [.cash])
            case .canceled:
                try await journal.finish(attempt.id)
                stage = .choosing
                message = "The card payment was stopped."
            }
        } catch {
            interrupt(error)
        }
    }

    private func offlineCardFields(storedAtMs: Int) -> [String: JSONValue] {
        var fields: [String: JSONValue] = [
            "order_id": .string(due.orderID), "amount": .int(due.amount), "currency": .string(due.currency),
            "stored_at": .string(PaymentWireReader.instantText(storedAtMs)),
        ]
        if due.tip > 0 { fields["tip"] = .int(due.tip) }
        if let employeeID { fields["employee_id"] = .string(employeeID) }
        return fields
    }

    /// After a kill during an offline card: if the reader stored it, record it now; if not,
    /// nothing was taken.
    private func carryOnOfflineCard(_ attempt: PaymentAttempt) async throws -> Bool {
        if attempt.fields.isEmpty {
            guard let storedAt = await terminal?.storedOffline(paymentID: attempt.id) else {
                try await journal.finish(attempt.id)
                return false
            }
            var stored = attempt
            stored.fields = offlineCardFields(storedAtMs: storedAt)
            try await journal.save(stored)
            try await recordOffline(stored, entityType: "offline_card_payment")
        } else {
            try await recordOffline(attempt, entityType: "offline_card_payment")
        }
        storedOffline = true
        paid("Card stored on this iPad: it goes to the bank when the connection is back. The order is paid.")
        return true
    }

    // MARK: Apple Pay

    /// Shows the Apple Pay sheet, then sends its token to the server, which charges it.
    public func payWithApplePay() async {
        guard let wallet, await wallet.isAvailable() else {
            message = "Apple Pay isn't available on this iPad."
            return
        }
        guard await serverReachable(for: .applePay) else { return }
        do {
            // A payment a killed till left must be settled before a new sheet is shown.
            if try await clearTheWay() { return }
            stage = .working(.applePay)
            guard let token = try await wallet.requestToken(
                amount: customerPays(.applePay), currency: due.currency, label: due.label)
            else {
                stage = .choosing
                message = "Apple Pay was cancelled."
                return
            }
            _ = await start(PaymentRequest(
                orderID: due.orderID, method: .applePay, amount: due.amount, tip: due.tip,
                acceptSurcharge: acceptSurcharge, walletToken: token), carriedOn: true)
        } catch {
            interrupt(error)
        }
    }

    // MARK: Cash

    /// Takes cash: `tendered` must cover the amount and the tip. Recorded on the iPad as a
    /// `cash_payment` (it syncs when it can, online or not); shows the change and opens the drawer.
    public func payCash(tendered: Int) async {
        let owed = due.amount + due.tip
        guard tendered >= owed else {
            message = "\(PaymentWords.money(tendered, due.currency)) is less than the \(PaymentWords.money(owed, due.currency)) due."
            return
        }
        do {
            if try await clearTheWay() { return }
            stage = .working(.cash)
            var fields: [String: JSONValue] = [
                "order_id": .string(due.orderID), "amount": .int(due.amount), "tendered": .int(tendered),
                "currency": .string(due.currency),
                "taken_at": .string(PaymentWireReader.instantText(clock.nowMs())),
            ]
            if due.tip > 0 { fields["tip"] = .int(due.tip) }
            if let employeeID { fields["employee_id"] = .string(employeeID) }
            let attempt = PaymentAttempt(
                id: ids.next(), kind: .cash, orderID: due.orderID, partID: due.partID, fields: fields,
                startedAtMs: clock.nowMs())
            try await journal.save(attempt)
            try await recordOffline(attempt, entityType: "cash_payment")
            change = tendered - owed
            paid("Paid in cash. Change: \(PaymentWords.money(tendered - owed, due.currency)).")
            do {
                try await drawer?.open()
            } catch {
                message += " The drawer did not open: open it by hand."
            }
        } catch {
            interrupt(error)
        }
    }

    /// Records an offline payment once: if a previous run recorded it already, it is there.
    /// Its receipt (which bill part it paid) is kept before its step is forgotten.
    private func recordOffline(_ attempt: PaymentAttempt, entityType: String) async throws {
        if try await records.entity(EntityKey(entityType, attempt.id)) == nil {
            try await records.record(ChangeDraft(entityType: entityType, entityID: attempt.id, fields: attempt.fields))
            await records.syncSoon()
        }
        try await journal.keep(
            PaymentReceipt(
                id: attempt.id, orderID: attempt.orderID, partID: attempt.partID,
                method: attempt.kind == .cash ? .cash : .offlineCard, amount: attempt.fields["amount"]?.intValue ?? 0,
                tip: attempt.fields["tip"]?.intValue ?? 0, takenAtMs: clock.nowMs()))
        try await journal.finish(attempt.id)
    }

    // MARK: Cancelling

    /// Staff stop the payment still waiting (a QR nobody scans): the amount is free again.
    public func cancel() async {
        guard let payment, payment.state?.isEnded == false else { return }
        do {
            let canceled = try await send(.cancel, paymentID: payment.id) { api, key in
                try await api.cancel(payment.id, idempotencyKey: key)
            }
            await settle(canceled)
        } catch {
            interrupt(error)
        }
    }

    // MARK: Sending

    /// Starts a payment: carries on what a killed till left first, then journals the
    /// request with a new key and sends it. `nil` when nothing was created (see ``message``).
    private func start(_ request: PaymentRequest, carriedOn: Bool = false) async -> PaymentView? {
        do {
            if !carriedOn, try await clearTheWay() { return nil }
            stage = .working(request.method)
            message = "Asking the server…"
            endedUnpaid = false
            lateNote = nil
            let attempt = PaymentAttempt(
                id: ids.next(), kind: .create, orderID: due.orderID, partID: due.partID, request: request,
                startedAtMs: clock.nowMs())
            try await journal.save(attempt)
            let view = try await call(attempt) { api, key in try await api.create(request, idempotencyKey: key) }
            var answered = attempt
            answered.paymentID = view.id
            if view.state?.isEnded == true {
                try await journal.finish(attempt.id)
            } else {
                try await journal.save(answered)
            }
            await settle(view)
            return view
        } catch let error as PaymentsAPIError where error.isRetryable && payment == nil {
            // Nothing came back. Cash, and a card within the caps, work offline; the
            // journaled request is asked again (same key) before anything else is taken.
            interrupt(error)
            goOffline()
            return nil
        } catch {
            interrupt(error)
            return nil
        }
    }

    /// Journals a step on an existing payment, sends it, and forgets it once answered.
    private func send(
        _ kind: PaymentAttempt.Kind, paymentID: String, readerID: String? = nil,
        _ action: @escaping @Sendable (any PaymentsAPI, String) async throws -> PaymentView
    ) async throws -> PaymentView {
        let attempt = PaymentAttempt(
            id: ids.next(), kind: kind, orderID: due.orderID, partID: due.partID, paymentID: paymentID,
            readerID: readerID, startedAtMs: clock.nowMs())
        try await journal.save(attempt)
        let view = try await call(attempt, action)
        try await journal.finish(attempt.id)
        return view
    }

    /// Sends one journaled step, retrying a lost answer a few times with the same key.
    private func call(
        _ attempt: PaymentAttempt, _ action: @escaping @Sendable (any PaymentsAPI, String) async throws -> PaymentView
    ) async throws -> PaymentView {
        var tries = 0
        while true {
            tries += 1
            do {
                return try await action(api, attempt.id)
            } catch let error as PaymentsAPIError where error.isRetryable && tries < attemptsPerCall {
                try await sleeper.sleep(for: retry.delay(attempt: tries, unit: Double.random(in: 0..<1, using: &jitter)))
            }
        }
    }

    // MARK: State

    /// Shows what the server says about the payment; endings are final (a late success aside).
    private func apply(_ view: PaymentView) {
        if let current = payment, current.id == view.id, let old = current.state, let new = view.state,
            old.rank > new.rank || (old.isEnded && new != .succeeded)
        {
            // Events come late and out of order: never step back (docs/payments.md, "States").
            if old == new { payment = view }
            return
        }
        if let current = payment, current.id != view.id { earlier.insert(current.id) }
        payment = view
        qr = view.qr ?? (view.method == .openBanking ? qr : nil)
        tick()
        guard let state = view.state else { return }
        switch state {
        case .created, .awaitingCustomer:
            if view.method == .openBanking {
                stage = endedUnpaid ? stage : .awaitingBank
                message = "Waiting for the customer to scan the QR and approve in their banking app."
            } else {
                stage = .awaitingCard
                message = "Waiting for the card."
            }
        case .authorizing:
            stage = view.method == .openBanking ? .awaitingBank : .working(view.method ?? .cardPresent)
            message =
                view.method == .openBanking
                ? "The customer approved: waiting for their bank to send the money."
                : "The card is being authorised."
        case .succeeded:
            if endedUnpaid {
                lateNote = PaymentWords.attention("late_success")
            }
            endedUnpaid = false
            settlementNote = view.settlement.map(PaymentWords.settlement)
            if view.settlement == .reversed {
                stage = .notPaid(.succeeded)
                offers = [.cardPresent, .applePay, .cash]
                message = PaymentWords.settlement(.reversed)
                return
            }
            paid(settlementNote ?? "Paid by \(PaymentWords.method(view.method ?? .card).lowercased()).")
        case .failed, .expired, .canceled:
            endUnpaid(state, method: view.method, reason: view.failureReason, fallback: view.fallback)
        }
    }

    private func paid(_ words: String) {
        stage = .paid
        offers = []
        message = words
    }

    private func endUnpaid(_ state: PaymentState, method: PaymentMethod?, reason: String?, fallback: [PaymentMethod]) {
        endedUnpaid = true
        stage = .notPaid(state)
        offers = Self.offers(after: method, fallback: fallback, offline: isOffline)
        message = PaymentWords.notPaid(state, method: method, reason: reason)
    }

    /// The methods this till offers after a decline or expiry, best first: card in person,
    /// Apple Pay, cash (pay by bank again only after a card was declined).
    static func offers(after method: PaymentMethod?, fallback: [PaymentMethod], offline: Bool) -> [PaymentMethod] {
        if offline { return [.cardPresent, .cash] }
        let allowed = fallback.isEmpty ? Set(PaymentMethod.allCases) : Set(fallback)
        var offers: [PaymentMethod] = []
        if allowed.contains(.cardPresent) || allowed.contains(.card) { offers.append(.cardPresent) }
        if allowed.contains(.applePay) { offers.append(.applePay) }
        if method != .openBanking, allowed.contains(.openBanking) { offers.append(.openBanking) }
        offers.append(.cash)
        return offers.filter { $0 != method || $0 == .cardPresent }
    }

    /// Shows the answer and, once the payment has ended, forgets its journaled steps (after
    /// keeping its receipt, so a kill in between loses neither).
    private func settle(_ view: PaymentView) async {
        apply(view)
        // What the screen now shows (a late, stale answer does not undo a success).
        if let shown = payment, shown.id == view.id { await keepReceipt(shown) }
        guard view.state?.isEnded == true else { return }
        for attempt in (try? await journal.unfinished()) ?? [] where attempt.paymentID == view.id {
            try? await journal.finish(attempt.id)
        }
    }

    /// An online payment's receipt: kept while it pays (the bill counts it, for this part),
    /// dropped once it does not (never succeeded, or its bank transfer was reversed). Cash
    /// through this screen is a synced entity with a receipt of its own (``recordOffline``).
    private func keepReceipt(_ view: PaymentView) async {
        guard let method = view.method, method != .cash else { return }
        // A journal that cannot write now refused this payment's first step already; should
        // it fail here alone, the bill shows this part unpaid until the order is marked paid.
        if view.state == .succeeded, view.settlement != .reversed {
            try? await journal.keep(
                PaymentReceipt(
                    id: view.id, orderID: view.orderID, partID: due.partID, method: .online, paidBy: method,
                    amount: view.amount, tip: view.tip, takenAtMs: clock.nowMs()))
        } else {
            try? await journal.dropReceipt(view.id)
        }
    }

    private func interrupt(_ error: any Error) {
        stage = .interrupted
        if let api = error as? PaymentsAPIError {
            switch api {
            case .unreachable:
                message = "The server's answer was lost. Try again: the payment will not be taken twice."
            case .refused(_, let code, let detail):
                switch code {
                case "payment.exceeds_remaining": message = "That is more than is left to pay on this order."
                case "payment.order_not_payable": message = "This order is already paid or voided."
                case "payment.provider_unavailable":
                    message = "The payment provider isn't answering. Try again, or take another method."
                default: message = "The server refused the payment: \(detail ?? code ?? "")"
                }
            }
        } else {
            message = "The payment could not go on: \(error)"
        }
    }
}
