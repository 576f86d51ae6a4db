import Foundation
import FynloSyncCore
import Observation

// The composition root: how one iPad is put together, for the SwiftUI app and the live tests
// alike. Read this first to follow a service:
//
// 1. ``TillApp/launch()``: the set-up screen (``DeviceSetup``) reads the Keychain; an iPad
//    never enrolled asks a manager for a code (``TillApp/enrol(code:name:)``). Once it knows
//    itself, the ``Till`` is built from its ports.
// 2. ``Till/start()``: the offline PIN checks and the cash-drawer/card caps are read, the
//    sync engine pulls the menu and the floor, live updates start (a socket, or polling where
//    there is none), and the sync status strip follows the engine.
// 3. Staff sign in by PIN (``Till/staff``); from then on every change is signed by them
//    (``Till/records``, the one write path), and what needs a manager asks one by PIN
//    (``Till/approvals``, the gate order entry uses).
// 4. The host seats parties (``Till/floor``), the waiter takes the order (``Till/menu``,
//    ``Till/entry``), the bill is split (``Till/bill``), and each part is paid on its own
//    payment screen (``Till/payment(for:)``). Every write goes into the store's outbox and
//    syncs when it can, so the network may be down for any of it.
// 5. The cash drawer (``Till/drawer``): opened with a counted float at the start of the day,
//    paid into and out of with a reason (a manager approving a cashier's), counted blind
//    and closed at the end; a manager then reads the server's over/short.

/// Everything an enrolled iPad talks to: its store, the server's APIs, the card reader, the
/// wallet and the drawer, and time and ids. The app builds them over HTTP, the Keychain and
/// SQLite (FynloPOSHTTP, FynloSyncSQLite); tests over fakes.
public struct TillPorts: Sendable {
    /// The durable store: the entities this iPad shows and its outbox.
    public var store: any SyncStore & EntityReader
    public var transport: any SyncTransport
    public var staffAuth: any StaffAuth
    public var payments: any PaymentsAPI
    public var socket: any LiveSocket
    /// Payment steps in flight, kept across an app kill.
    public var journal: any PaymentJournal
    public var keychain: any Keychain
    public var terminal: (any CardTerminal)?
    public var wallet: (any WalletPay)?
    public var drawer: (any CashDrawer)?
    public var clock: any WallClock
    public var sleeper: any Sleeper
    public var ids: any IDSource
    public var appVersion: String
    /// How the engine retries a sync that failed (the network is down): backoff and jitter.
    public var syncRetry: RetryPolicy
    public var live: LiveUpdates.Configuration

    public init(
        store: any SyncStore & EntityReader, transport: any SyncTransport, staffAuth: any StaffAuth,
        payments: any PaymentsAPI, socket: any LiveSocket, journal: any PaymentJournal, keychain: any Keychain,
        terminal: (any CardTerminal)? = nil, wallet: (any WalletPay)? = nil, drawer: (any CashDrawer)? = nil,
        clock: any WallClock = SystemWallClock(), sleeper: any Sleeper = TaskSleeper(), ids: any IDSource = RandomIDs(),
        appVersion: String = "fynlo-pos", syncRetry: RetryPolicy = RetryPolicy(),
        live: LiveUpdates.Configuration = LiveUpdates.Configuration()
    ) {
        self.store = store
        self.transport = transport
        self.staffAuth = staffAuth
        self.payments = payments
        self.socket = socket
        self.journal = journal
        self.keychain = keychain
        self.terminal = terminal
        self.wallet = wallet
        self.drawer = drawer
        self.clock = clock
        self.sleeper = sleeper
        self.ids = ids
        self.appVersion = appVersion
        self.syncRetry = syncRetry
        self.live = live
    }
}

/// The tokens every request to the server carries, read at each call: the iPad's device
/// token and, while someone signed in online, their employee session (`X-Fynlo-Employee`).
/// The ports are built with ``read()`` before the till exists; the till then points this at
/// its staff session.
@MainActor
public final class SessionTokens {
    public private(set) var credentials: DeviceCredentials
    weak var staff: StaffSession?

    public init(_ credentials: DeviceCredentials) {
        self.credentials = credentials
    }

    /// Rotated tokens (``DeviceSetup/storeTokens(access:refresh:)`` keeps them in the Keychain).
    public func update(_ credentials: DeviceCredentials) { self.credentials = credentials }

    public var device: String { credentials.accessToken }
    public var employee: String? { staff?.current?.session?.token }

    public nonisolated func read() async -> (device: String?, employee: String?) {
        await MainActor.run { (device, employee) }
    }
}

/// One enrolled iPad, every screen's model wired from its ports.
@MainActor
public final class Till {
    public let credentials: DeviceCredentials
    public let tokens: SessionTokens

    // Sync: the store, the engine over the transport, and what it tells the user.
    public let store: any SyncStore & EntityReader
    public let engine: SyncEngine
    public let notices: SyncNoticeLog
    public let syncStatus: SyncStatusModel
    public let live: LiveUpdates

    // Staff: who is signed in, their key, and managers' approvals.
    public let keyring: SigningKeyring
    public let staff: StaffSession
    public let approvals: Approvals
    /// The one write path: every change signed by whoever is signed in.
    public let records: SignedRecords
    /// Order entry's approvals, answered by a manager's PIN on this iPad.
    public let gate: StaffApprovalGate

    // The service.
    public let orders: Orders
    public let floor: FloorModel
    public let menu: MenuModel
    public let entry: OrderEntryModel
    public let bill: BillModel
    /// The cash drawer's sessions on this iPad: float, paid-ins and -outs, the blind count.
    /// (``TillPorts/drawer`` is the printer that kicks the drawer open at a cash sale.)
    public let drawer: DrawerModel

    /// Every payment this iPad holds: synced cash and offline cards, and the online ones its
    /// payment screens saw succeed (the journal's receipts: the bill and voids count them,
    /// after an app kill too), each with the bill part it paid.
    public let payments: SeenPayments
    /// The restaurant's caps on cards taken offline, as last read (``start()``).
    public private(set) var offlineCardLimits: OfflineCardLimits?

    private let ports: TillPorts
    private var followers: [Task<Void, Never>] = []

    public init(credentials: DeviceCredentials, ports: TillPorts, tokens: SessionTokens? = nil) {
        self.credentials = credentials
        self.ports = ports
        self.tokens = tokens ?? SessionTokens(credentials)
        store = ports.store
        notices = SyncNoticeLog()
        var configuration = SyncEngine.Configuration(deviceID: credentials.deviceID, appVersion: ports.appVersion)
        configuration.retry = ports.syncRetry
        engine = SyncEngine(
            configuration: configuration, store: ports.store,
            transport: NoticingTransport(ports.transport, log: notices), clock: ports.clock, sleeper: ports.sleeper,
            ids: ports.ids)

        keyring = SigningKeyring()
        staff = StaffSession(
            deviceID: credentials.deviceID, auth: ports.staffAuth, keychain: ports.keychain, keyring: keyring,
            clock: ports.clock, ids: ports.ids)
        approvals = Approvals(session: staff)
        records = SignedRecords(SyncedRecords(reader: ports.store, engine: engine), keyring: keyring)
        gate = StaffApprovalGate(approvals: approvals, records: records)

        payments = SeenPayments(base: SyncedPayments(records: records), journal: ports.journal)
        orders = Orders(
            records: records, numbers: DeviceOrderNumbers(prefix: credentials.prefix, records: records),
            approvals: gate, payments: payments, ids: ports.ids, clock: ports.clock)
        floor = FloorModel(records: records, orders: orders)
        menu = MenuModel(records: records, locationID: credentials.locationID)
        entry = OrderEntryModel(records: records, orders: orders)
        bill = BillModel(records: records, orders: orders, payments: payments)
        let staff = staff
        drawer = DrawerModel(
            records: records, approvals: gate, deviceID: credentials.deviceID, signedIn: { staff.current },
            clock: ports.clock, ids: ports.ids)

        syncStatus = SyncStatusModel(monitor: engine, records: records, clock: ports.clock)
        let engine = engine
        let tokens = self.tokens
        live = LiveUpdates(
            socket: ports.socket, tokens: { await tokens.read() }, records: records,
            poll: { await engine.requestSync() == .synced }, configuration: ports.live, sleeper: ports.sleeper)
        tokens.staff = staff
    }

    /// At launch (and after enrolment): the staff's offline checks, the caps on offline cards,
    /// the sync status and live updates. Returns once the first sync was asked for, without
    /// waiting for the network.
    public func start() async {
        await staff.load()
        await staff.refreshCredentialsIfDue()
        offlineCardLimits = (try? await ports.payments.offlineCardLimits()) ?? offlineCardLimits
        let (engine, notices, syncStatus) = (engine, notices, syncStatus)
        followers = [
            Task { await syncStatus.follow(await engine.statusUpdates()) },
            Task { await syncStatus.follow(notices: await notices.updates()) },
        ]
        await live.start()
        await records.syncSoon()
    }

    /// Stops live updates, the sync loop and the followers (the store keeps everything).
    public func stop() async {
        // The engine first: a poll waiting on a sync returns once the sync is stopped.
        await engine.stop()
        await live.stop()
        for follower in followers { follower.cancel() }
        followers = []
    }

    /// Carries on the payments a killed till left unfinished (``PaymentFlowModel/resume()``),
    /// one screen per order and bill part, and returns them (the app shows those still
    /// waiting, a QR say). Call it once someone has signed in after a launch: the resent
    /// steps need their session, and cash recorded now is signed by them (the server refuses
    /// cash from a bare iPad).
    @discardableResult
    public func resumePayments() async -> [PaymentFlowModel] {
        let unfinished = (try? await ports.journal.unfinished()) ?? []
        var resumed: [PaymentFlowModel] = []
        for (orderID, partID) in unfinished.map({ ($0.orderID, $0.partID) }).uniqued() {
            let steps = unfinished.filter { $0.orderID == orderID && $0.partID == partID }
            // The amount as the first step sent it (a create's request, an offline payment's fields).
            let amount = steps.lazy.compactMap { $0.request?.amount ?? $0.fields["amount"]?.intValue }.first ?? 0
            let tip = steps.lazy.compactMap { $0.request?.tip ?? $0.fields["tip"]?.intValue }.first ?? 0
            let model = payment(PaymentDue(orderID: orderID, partID: partID, amount: amount, tip: tip))
            await model.resume()
            resumed.append(model)
        }
        return resumed
    }

    /// The payment screen for one part of the bill open in ``bill`` (its whole, a guest's
    /// or a seat's share), as whoever is signed in takes it: what that part still owes as the
    /// bill has it now (the whole, once a share was paid, is what is left). A paid part is
    /// refused.
    public func payment(for part: BillPart) throws -> PaymentFlowModel {
        guard bill.order != nil else { throw OrderRefusal.unknownOrder("no bill open") }
        guard let due = bill.paymentDue(for: part) else { throw BillRefusal.partPaid(part.label) }
        return payment(due)
    }

    /// The refund screen for one payment (from the bill's payments): the server's payment, as
    /// a refund needs it (and the server, online only). A payment still on its way to the
    /// server (cash taken offline, not yet pushed) cannot be refunded yet.
    public func refund(paymentID: String) async throws -> RefundModel {
        let payment: PaymentView
        do {
            payment = try await ports.payments.payment(paymentID)
        } catch PaymentsAPIError.refused(status: 404, _, _) {
            throw RefundUnavailable(
                "This payment has not reached the server yet (it goes up with the next sync): refund it once it has.")
        } catch let error as PaymentsAPIError where error.isRetryable {
            throw RefundUnavailable("A refund needs the server, which can't be reached now. Try again when it can.")
        }
        return RefundModel(
            payment: payment, api: ports.payments, journal: ports.journal, approvals: approvals, ids: ports.ids,
            clock: ports.clock)
    }

    /// The payment screen for an amount due on an order; for the order whose bill is open,
    /// never more than that bill has left to pay (the server would refuse it).
    public func payment(_ due: PaymentDue) -> PaymentFlowModel {
        var due = due
        if let order = bill.order, order.id == due.orderID { due.amount = min(due.amount, bill.due) }
        return PaymentFlowModel(
            due: due, api: ports.payments, journal: ports.journal, records: records, terminal: ports.terminal,
            wallet: ports.wallet, drawer: ports.drawer, clock: ports.clock, sleeper: ports.sleeper, ids: ports.ids,
            offlineLimits: offlineCardLimits, employeeID: staff.current?.id)
    }
}

/// The app from its first launch: the set-up screen until the iPad is enrolled, then its
/// ``Till``, built by `ports` from the credentials enrolment gave.
@MainActor
@Observable
public final class TillApp {
    public typealias PortsMaker = @MainActor (DeviceCredentials, SessionTokens) throws -> TillPorts

    public let setup: DeviceSetup
    public private(set) var till: Till?
    /// Why the till could not be opened (its store would not open), in words.
    public private(set) var failure: String?
    private let makePorts: PortsMaker

    public init(keychain: any Keychain, enrolment: any EnrolmentService, ports: @escaping PortsMaker) {
        setup = DeviceSetup(keychain: keychain, enrolment: enrolment)
        makePorts = ports
    }

    /// At launch: an enrolled iPad opens its till and starts it.
    public func launch() async {
        await setup.load()
        await open()
    }

    /// Enrols with a manager's code, then opens the till.
    public func enrol(code: String, name: String) async {
        await setup.enrol(code: code, name: name)
        await open()
    }

    private func open() async {
        guard till == nil, setup.phase == .enrolled, let credentials = setup.credentials else { return }
        do {
            let tokens = SessionTokens(credentials)
            let till = Till(credentials: credentials, ports: try makePorts(credentials, tokens), tokens: tokens)
            self.till = till
            failure = nil
            await till.start()
        } catch {
            failure = "This iPad's data could not be opened: \(error)"
        }
    }
}

extension Array where Element == (String, String) {
    /// Each pair once, in first-seen order.
    fileprivate func uniqued() -> [(String, String)] {
        var seen: Set<String> = []
        return filter { seen.insert("\($0.0) \($0.1)").inserted }
    }
}

/// Why a payment's refund screen cannot open, in words.
public struct RefundUnavailable: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
