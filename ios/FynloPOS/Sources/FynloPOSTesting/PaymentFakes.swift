import Foundation
import FynloPOSCore
import FynloSyncCore

/// The server's payments API in memory, deduplicating by Idempotency-Key as the server does
/// (same key and body: the stored answer; another body: 409 `idempotency.key_reused`) and
/// counting every charge, so a test can show that a retried tap never pays twice.
///
/// Pay by bank is played by hand: ``approve(_:)``, ``execute(_:)``, ``settle(_:)``,
/// ``decline(_:)``, ``expire(_:)``. Apple Pay token `tok_decline` and card collections the
/// ``FakeCardTerminal`` declines end `failed`. ``loseNextAnswer()`` does the next call's
/// work and then loses its answer, as a dropped connection does.
public actor FakePaymentsAPI: PaymentsAPI {
    public enum Call: Sendable, Hashable {
        case quote(amount: Int)
        case create(key: String, method: PaymentMethod)
        case payment(String)
        case cancel(key: String, id: String)
        case capture(key: String, id: String)
        case collect(key: String, id: String)
        case refund(key: String, id: String)
    }

    public private(set) var calls: [Call] = []
    /// Every time money was taken (a payment reached `succeeded` by a call or a bank event).
    public private(set) var charges = 0
    public private(set) var payments: [String: PaymentView] = [:]
    /// Answer every call with "unreachable" (the network is down) until set back.
    public var offline = false

    private var answers: [String: (body: JSONValue, answer: PaymentView)] = [:]
    private var refundAnswers: [String: (body: JSONValue, answer: RefundView)] = [:]
    /// Every refund made (once per Idempotency-Key, as the server does).
    public private(set) var refunds: [RefundView] = []
    private var loseAnswers = 0
    private var nextFailure: PaymentsAPIError?
    private let clock: any WallClock
    private let ids: any IDSource
    private let limits: OfflineCardLimits
    private let qrTTLms: Int

    public init(
        clock: any WallClock, ids: any IDSource = RandomIDs(),
        limits: OfflineCardLimits = OfflineCardLimits(perPayment: 10_000, total: 100_000), qrTTLSeconds: Int = 900
    ) {
        self.clock = clock
        self.ids = ids
        self.limits = limits
        self.qrTTLms = qrTTLSeconds * 1000
    }

    public func setOffline(_ offline: Bool) { self.offline = offline }

    /// The next call does its work, then its answer is lost (``PaymentsAPIError/unreachable(_:)``).
    public func loseNextAnswer(_ count: Int = 1) { loseAnswers += count }

    /// The next call fails with `error` before doing anything.
    public func failNext(_ error: PaymentsAPIError) { nextFailure = error }

    public var createCalls: Int {
        calls.filter { if case .create = $0 { return true } else { return false } }.count
    }

    // MARK: The API

    public func quote(amount: Int) throws -> PaymentQuote {
        calls.append(.quote(amount: amount))
        try gate()
        func fee(_ bp: Int, _ fixed: Int) -> Int { (amount * bp + 5_000) / 10_000 + fixed }
        let card = fee(290, 30) + fee(100, 0)
        let rows: [(PaymentMethod, Int)] = [
            (.cash, 0), (.openBanking, fee(20, 0) + fee(100, 0)), (.cardPresent, fee(140, 10) + fee(100, 0)),
            (.card, card), (.applePay, card),
        ]
        return PaymentQuote(
            amount: amount, currency: "GBP", schedule: "default", surchargePolicy: "absorb",
            methods: rows.map { method, total in
                MethodQuote(
                    method: method, totalFee: total, savingVsCard: card - total, surcharge: 0, customerPays: amount)
            })
    }

    public func create(_ request: PaymentRequest, idempotencyKey key: String) throws -> PaymentView {
        calls.append(.create(key: key, method: request.method))
        return try idempotent(key, body: request.json) {
            let id = ids.next()
            var view = PaymentView(
                id: id, orderID: request.orderID, method: request.method, state: .awaitingCustomer,
                amount: request.amount, tip: request.tip, tendered: request.tendered)
            switch request.method {
            case .openBanking:
                view.qr = BankQR(
                    link: "https://till.example/pay/\(id)?t=secret", pngPath: "/api/v1/payments/\(id)/qr.png",
                    svgPath: "/api/v1/payments/\(id)/qr.svg", expiresAtMs: clock.nowMs() + qrTTLms)
            case .cardPresent, .card:
                view.clientSecret = "pi_\(id)_secret"
            case .applePay:
                if request.walletToken == "tok_decline" {
                    view.stateName = PaymentState.failed.rawValue
                    view.failureReason = "card_declined"
                    view.fallback = Self.fallback(without: .applePay)
                } else {
                    succeed(&view)
                }
            case .cash:
                view.change = (request.tendered ?? 0) - view.charged
                view.openDrawer = true
                succeed(&view)
            }
            payments[id] = view
            return view
        }
    }

    public func payment(_ id: String) throws -> PaymentView {
        calls.append(.payment(id))
        try gate()
        guard let view = payments[id] else { throw PaymentsAPIError.refused(status: 404, code: "not_found", detail: nil) }
        return view
    }

    public func cancel(_ id: String, idempotencyKey key: String) throws -> PaymentView {
        calls.append(.cancel(key: key, id: id))
        return try idempotent(key, body: ["cancel": .string(id)]) {
            guard var view = payments[id] else { throw PaymentsAPIError.refused(status: 404, code: "not_found", detail: nil) }
            guard view.state?.isEnded == false else {
                if view.state == .succeeded { return view }
                throw PaymentsAPIError.refused(status: 409, code: "payment.not_cancelable", detail: nil)
            }
            view.stateName = PaymentState.canceled.rawValue
            view.qr = nil
            view.clientSecret = nil
            payments[id] = view
            return view
        }
    }

    public func capture(_ id: String, idempotencyKey key: String) throws -> PaymentView {
        calls.append(.capture(key: key, id: id))
        return try idempotent(key, body: ["capture": .string(id)]) {
            guard var view = payments[id], view.method == .cardPresent else {
                throw PaymentsAPIError.refused(status: 409, code: "payment.not_collectable", detail: nil)
            }
            if view.state?.isEnded == false { succeed(&view) }
            payments[id] = view
            return view
        }
    }

    public func collect(_ id: String, readerID: String, tipOnReader: Bool, idempotencyKey key: String) throws -> PaymentView {
        calls.append(.collect(key: key, id: id))
        return try idempotent(key, body: ["collect": .string(id), "reader": .string(readerID)]) {
            guard var view = payments[id], view.method == .cardPresent, view.state?.isEnded == false else {
                throw PaymentsAPIError.refused(status: 409, code: "payment.not_collectable", detail: nil)
            }
            view.readerID = readerID
            payments[id] = view
            return view
        }
    }

    public func qrImage(_ id: String, format: QRImageFormat) throws -> Data {
        try gate()
        return Data("\(format.rawValue) of \(payments[id]?.qr?.link ?? "")".utf8)
    }

    public func connectionToken() throws -> TerminalConnectionToken {
        try gate()
        return TerminalConnectionToken(secret: "pst_test_\(ids.next())", stripeLocation: "tml_fake")
    }

    public func offlineCardLimits() throws -> OfflineCardLimits {
        try gate()
        return limits
    }

    public func refund(
        _ paymentID: String, amount: Int?, reason: String, approval: String?, idempotencyKey key: String
    ) throws -> RefundView {
        calls.append(.refund(key: key, id: paymentID))
        try gate()
        let body: JSONValue = [
            "payment_id": .string(paymentID), "amount": amount.map(JSONValue.int) ?? .null,
            "reason": .string(reason), "approval": approval.map(JSONValue.string) ?? .null,
        ]
        let answer: RefundView
        if let stored = refundAnswers[key] {
            guard stored.body == body else {
                throw PaymentsAPIError.refused(status: 409, code: "idempotency.key_reused", detail: nil)
            }
            answer = stored.answer
        } else {
            guard let view = payments[paymentID], view.state == .succeeded else {
                throw PaymentsAPIError.refused(status: 409, code: "refund.not_refundable", detail: nil)
            }
            answer = RefundView(id: ids.next(), paymentID: paymentID, amount: amount ?? view.charged, state: "succeeded")
            refundAnswers[key] = (body, answer)
            refunds.append(answer)
        }
        if loseAnswers > 0 {
            loseAnswers -= 1
            throw PaymentsAPIError.unreachable("the answer was lost")
        }
        return answer
    }

    // MARK: Playing the customer and the bank

    /// The customer approved at their bank (`authorizing`).
    public func approve(_ id: String) { move(id) { $0.stateName = PaymentState.authorizing.rawValue } }

    /// The bank sent the money: `succeeded`, settlement `executed`; a late success if the
    /// payment had expired or been cancelled.
    public func execute(_ id: String) {
        guard var view = payments[id], view.state != .succeeded else { return }
        succeed(&view)
        view.settlement = .executed
        view.qr = nil
        payments[id] = view
    }

    public func settle(_ id: String, as settlement: Settlement = .settled) {
        guard var view = payments[id], view.state == .succeeded else { return }
        view.settlement = settlement
        payments[id] = view
    }

    /// The customer declined or cancelled at their bank, or the card was refused.
    public func decline(_ id: String, reason: String = "user_canceled") {
        move(id) {
            $0.stateName = PaymentState.failed.rawValue
            $0.failureReason = reason
            $0.fallback = Self.fallback(without: $0.method ?? .card)
            $0.qr = nil
        }
    }

    /// The QR's 15 minutes ran out.
    public func expire(_ id: String) {
        move(id) {
            $0.stateName = PaymentState.expired.rawValue
            $0.fallback = Self.fallback(without: $0.method ?? .card)
            $0.qr = nil
        }
    }

    // MARK: Plumbing

    private func move(_ id: String, _ change: (inout PaymentView) -> Void) {
        guard var view = payments[id], view.state?.isEnded == false else { return }
        change(&view)
        payments[id] = view
    }

    private func succeed(_ view: inout PaymentView) {
        view.stateName = PaymentState.succeeded.rawValue
        view.clientSecret = nil
        view.fallback = []
        charges += 1
    }

    /// As the server's `views._FALLBACK_ORDER`, without the method that failed.
    static func fallback(without method: PaymentMethod) -> [PaymentMethod] {
        [.card, .applePay, .cardPresent, .openBanking, .cash].filter { $0 != method }
    }

    private func gate() throws {
        if offline { throw PaymentsAPIError.unreachable("the fake server is offline") }
        if let failure = nextFailure {
            nextFailure = nil
            throw failure
        }
    }

    private func idempotent(
        _ key: String, body: JSONValue, _ effect: () throws -> PaymentView
    ) throws -> PaymentView {
        try gate()
        let answer: PaymentView
        if let stored = answers[key] {
            guard stored.body == body else {
                throw PaymentsAPIError.refused(status: 409, code: "idempotency.key_reused", detail: nil)
            }
            answer = stored.answer
        } else {
            answer = try effect()
            answers[key] = (body, answer)
        }
        if loseAnswers > 0 {
            loseAnswers -= 1
            throw PaymentsAPIError.unreachable("the answer was lost")
        }
        return answer
    }
}

/// A ``PaymentJournal`` in memory whose contents outlive the journal: ``reopened()`` is the
/// journal a relaunched app opens after a kill, holding exactly what was saved.
public actor MemoryPaymentJournal: PaymentJournal {
    private final class Disk: @unchecked Sendable {
        let lock = NSLock()
        var attempts: [PaymentAttempt] = []
        var receipts: [PaymentReceipt] = []
    }

    private let disk: Disk
    /// Refuse saves (a full disk): the step must then not be sent.
    public var refusesSaves = false

    public init() { disk = Disk() }

    private init(disk: Disk) { self.disk = disk }

    /// The same storage, as a new process would open it.
    public nonisolated func reopened() -> MemoryPaymentJournal { MemoryPaymentJournal(disk: disk) }

    public func refuseSaves(_ refuse: Bool) { refusesSaves = refuse }

    public func save(_ attempt: PaymentAttempt) throws {
        if refusesSaves { throw CocoaError(.fileWriteOutOfSpace) }
        disk.lock.withLock {
            if let index = disk.attempts.firstIndex(where: { $0.id == attempt.id }) {
                disk.attempts[index] = attempt
            } else {
                disk.attempts.append(attempt)
            }
        }
    }

    public func finish(_ id: String) {
        disk.lock.withLock { disk.attempts.removeAll { $0.id == id } }
    }

    public func unfinished() -> [PaymentAttempt] { disk.lock.withLock { disk.attempts } }

    public func keep(_ receipt: PaymentReceipt) throws {
        if refusesSaves { throw CocoaError(.fileWriteOutOfSpace) }
        disk.lock.withLock { disk.receipts = disk.receipts.filter { $0.id != receipt.id } + [receipt] }
    }

    public func dropReceipt(_ paymentID: String) {
        disk.lock.withLock { disk.receipts.removeAll { $0.id == paymentID.lowercased() } }
    }

    public func receipts(for orderID: String) -> [PaymentReceipt] {
        disk.lock.withLock { disk.receipts.filter { $0.orderID == orderID.lowercased() } }
    }

    /// Every receipt kept, oldest first.
    public nonisolated var allReceipts: [PaymentReceipt] { disk.lock.withLock { disk.receipts } }
}

/// Stripe Terminal's simulated reader: connects, collects as told, and stores cards offline.
public actor FakeCardTerminal: CardTerminal {
    public private(set) var readers: [CardReader]
    public private(set) var connected: CardReader?
    /// What the next ``collect(clientSecret:)`` answers.
    public var nextCollection: CardCollection = .authorised
    public private(set) var collected: [String] = []
    public var offlineEnabled = true
    /// Payments stored offline, by payment id: the intent and when.
    public private(set) var stored: [String: (intent: OfflineCardIntent, atMs: Int)] = [:]
    private let clock: any WallClock
    private var heldBefore: Int

    public init(
        clock: any WallClock,
        readers: [CardReader] = [CardReader(id: "tap-to-pay", label: "This iPad", kind: .tapToPay)],
        heldOffline: Int = 0
    ) {
        self.clock = clock
        self.readers = readers
        self.heldBefore = heldOffline
    }

    public func setNextCollection(_ collection: CardCollection) { nextCollection = collection }
    public func setOfflineEnabled(_ enabled: Bool) { offlineEnabled = enabled }

    /// Stores a card offline as the SDK does, without the app hearing of it (a kill
    /// between the SDK storing it and the app recording it).
    public func storeBehindTheAppsBack(_ intent: OfflineCardIntent) {
        stored[intent.paymentID] = (intent, clock.nowMs())
    }

    public func discoverReaders() -> [CardReader] { readers }

    public func connect(_ reader: CardReader) { connected = reader }

    public func connectedReader() -> CardReader? { connected }

    public func collect(clientSecret: String) -> CardCollection {
        collected.append(clientSecret)
        return nextCollection
    }

    public func canTakeOffline() -> Bool { offlineEnabled && connected != nil }

    public func heldOffline(currency: String) -> Int {
        heldBefore + stored.values.filter { $0.intent.currency == currency }.reduce(0) { $0 + $1.intent.amount + $1.intent.tip }
    }

    public func collectOffline(_ intent: OfflineCardIntent) -> OfflineCardCollection {
        switch nextCollection {
        case .authorised:
            let at = clock.nowMs()
            stored[intent.paymentID] = (intent, at)
            return .stored(storedAtMs: at)
        case .declined(let code): return .declined(code: code)
        case .canceled: return .canceled
        }
    }

    public func storedOffline(paymentID: String) -> Int? { stored[paymentID]?.atMs }
}

/// Apple Pay's sheet: answers a token, or `nil` as if the customer cancelled.
public actor FakeWalletPay: WalletPay {
    public var token: String?
    public var available = true
    public private(set) var sheets: [Int] = []

    public init(token: String? = "tok_apple_pay") { self.token = token }

    public func setToken(_ token: String?) { self.token = token }

    public func isAvailable() -> Bool { available }

    public func requestToken(amount: Int, currency: String, label: String) -> String? {
        sheets.append(amount)
        return token
    }
}

/// A cash drawer that counts how often it was told to open.
public actor FakeCashDrawer: CashDrawer {
    public private(set) var opened = 0
    public var jammed = false

    public init() {}

    public func jam() { jammed = true }

    public func open() throws {
        if jammed { throw CocoaError(.fileWriteUnknown) }
        opened += 1
    }
}

/// A receipt printer's raw port: records what it was sent, or fails as told.
public actor FakePrinterLink: PrinterLink {
    public private(set) var received: [[UInt8]] = []
    private var failure: PrinterLinkError?

    public init(failing failure: PrinterLinkError? = nil) { self.failure = failure }

    public func send(_ bytes: [UInt8]) throws {
        if let failure { throw failure }
        received.append(bytes)
    }
}
