import FynloSyncCore
import Observation

/// The cash drawer on this iPad: open it with a counted float, pay in and out of it, count it
/// blind and close it (docs/cash-up.md, "The end-of-day routine").
///
/// A service: ``reload()`` after every sync; choose a drawer and count the float into
/// ``count`` note by note (``setPieces(_:_:)``; ``count``'s total is worked out, never
/// typed), then ``open(drawerID:)``. During the day ``move(_:amountText:reason:)`` records a
/// paid-in or paid-out: a manager's alone, a cashier's or server's once a manager approved
/// by PIN on this iPad (offline too, as a void is). At the end, count the drawer into
/// ``count`` again and ``close()``: the count is blind, nobody here is shown what the drawer
/// should hold. Once the server's answer syncs back, ``closedWords`` tells a manager the
/// counted and expected cash, the over/short and the flag; everyone else only what they
/// counted.
///
/// Every step is an append-only `drawer_open`, `drawer_movement` or `drawer_close` recorded
/// through ``Records`` (signed by whoever is signed in), so it is kept offline and pushed when
/// the network is back; what the model shows is read back from the store.
@MainActor
@Observable
public final class DrawerModel {
    /// Who is signed in, as the staff session has them.
    public typealias SignedIn = @MainActor () -> StaffSession.Employee?

    /// The location's drawers that can be opened.
    public private(set) var drawers: [CashDrawerInfo] = []
    /// The session open on this iPad, if any.
    public private(set) var session: DrawerSession?
    /// The session this iPad closed last (its count, and for a manager the server's figures).
    public private(set) var lastClosed: DrawerSession?
    /// The notes and coins being counted: the float before opening, the drawer before closing.
    public var count = CashCount()

    private let records: any Records
    private let approvals: any ApprovalGate
    private let deviceID: String
    private let signedIn: SignedIn
    private let clock: any WallClock
    private let ids: any IDSource

    public init(
        records: any Records, approvals: any ApprovalGate, deviceID: String, signedIn: @escaping SignedIn,
        clock: any WallClock = SystemWallClock(), ids: any IDSource = RandomIDs()
    ) {
        self.records = records
        self.approvals = approvals
        self.deviceID = deviceID.lowercased()
        self.signedIn = signedIn
        self.clock = clock
        self.ids = ids
    }

    // MARK: What the screen shows

    /// Whether whoever is signed in sees the server's expected cash and over/short.
    public var seesExpected: Bool {
        PermissionTable.decide(PermissionTable.drawerManage, for: signedIn()?.role) == .allow
    }

    /// The server's figures on the last session closed here, for a manager only; `nil` for
    /// anyone else, and until the server's answer has synced.
    public var result: DrawerResult? { seesExpected ? lastClosed?.result : nil }

    /// The open session in words: "Till 1 open since the float of £100.00; paid in £0.00,
    /// paid out £3.00." No sales and no expected figure: the count is blind.
    public var openWords: String? { session.map(DrawerWords.open) }

    /// The last close in words, as whoever is signed in may read it.
    public var closedWords: String? {
        lastClosed.map { DrawerWords.closed($0, showingExpected: seesExpected) }
    }

    /// Reads the drawers and this iPad's sessions from the store.
    public func reload() async throws {
        let book = DrawerBook(records: records, deviceID: deviceID)
        drawers = try await book.drawers()
        let sessions = try await book.sessions(drawers: drawers)
        session = sessions.last { !$0.isClosed }
        lastClosed = sessions.filter { $0.closedCount != nil }.max { ($0.closedAtMs ?? 0) < ($1.closedAtMs ?? 0) }
    }

    /// Sets how many of one note or coin are in ``count``.
    public func setPieces(_ denomination: Int, _ pieces: Int) throws {
        try count.set(denomination, pieces)
    }

    // MARK: The day's steps

    /// Opens `drawerID` on this iPad with ``count`` as its float.
    public func open(drawerID: String) async throws {
        let maker = try employee(may: PermissionTable.drawerUse)
        try await reload()
        if let session { throw DrawerRefusal.alreadyOpen(session.drawerName) }
        guard drawers.contains(where: { $0.id == drawerID.lowercased() }) else { throw DrawerRefusal.unknownDrawer }
        try await record(
            "drawer_open",
            [
                "drawer_id": .string(drawerID.lowercased()), "float_counts": count.json,
                "opening_float": .int(count.total),
            ], by: maker)
        count = CashCount()
        try await reload()
    }

    /// ``move(_:amount:reason:)`` for an amount as typed ("3.00", "£3").
    public func move(_ kind: MovementKind, amountText: String, reason: String) async throws {
        guard let amount = PaymentWords.minorUnits(amountText) else { throw DrawerRefusal.badAmount }
        try await move(kind, amount: amount, reason: reason)
    }

    /// A paid-in or paid-out of `amount` pence for `reason` (3 to 500 characters), on the
    /// open session. A cashier or server needs a manager's approval; without one nothing is
    /// recorded.
    public func move(_ kind: MovementKind, amount: Int, reason: String) async throws {
        let maker = try employee(may: PermissionTable.drawerUse)
        let why = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...Self.maxMovement).contains(amount) else { throw DrawerRefusal.badAmount }
        guard (3...500).contains(why.count) else { throw DrawerRefusal.badReason }
        try await reload()
        guard let session else { throw DrawerRefusal.noOpenSession }
        let draft = draft(
            "drawer_movement",
            [
                "session_id": .string(session.id), "kind": .string(kind.rawValue), "amount": .int(amount),
                "reason": .string(why),
            ], by: maker)
        let words = "\(kind == .paidIn ? "Pay in" : "Pay out") \(PaymentWords.money(amount, "GBP")) (\(session.drawerName)): \(why)"
        switch try await approvals.approval(for: .drawerCashMovement, reason: words) {
        case nil: throw DrawerRefusal.notApproved
        case .held: try await records.record(draft)
        case .approved(let grant):
            var approved = draft
            approved.fields["approved_by"] = .string(grant.approverID.lowercased())
            _ = try await grant.record(approved)
        }
        await records.syncSoon()
        try await reload()
    }

    /// Closes the open session with ``count`` as its blind count: only the count travels.
    public func close() async throws {
        let maker = try employee(may: PermissionTable.drawerUse)
        try await reload()
        guard let session else { throw DrawerRefusal.noOpenSession }
        try await record(
            "drawer_close",
            ["session_id": .string(session.id), "counts": count.json, "counted_cash": .int(count.total)], by: maker)
        count = CashCount()
        try await reload()
    }

    /// £100,000: more than any till holds (server/cashup/drawer_sync.py `MAX_MOVEMENT`).
    static let maxMovement = 10_000_000

    // MARK: Recording

    private func employee(may permission: String) throws -> StaffSession.Employee {
        guard let employee = signedIn() else { throw DrawerRefusal.nobodySignedIn }
        guard PermissionTable.decide(permission, for: employee.role) != .deny else {
            throw DrawerRefusal.notAllowed(employee.role)
        }
        return employee
    }

    private func draft(_ type: String, _ fields: [String: JSONValue], by maker: StaffSession.Employee) -> ChangeDraft {
        var fields = fields
        fields["at"] = .string(PaymentWireReader.instantText(clock.nowMs()))
        fields["device_id"] = .string(deviceID)
        fields["employee_id"] = .string(maker.id.lowercased())
        return ChangeDraft(entityType: type, entityID: ids.next().lowercased(), fields: fields)
    }

    private func record(_ type: String, _ fields: [String: JSONValue], by maker: StaffSession.Employee) async throws {
        try await records.record(draft(type, fields, by: maker))
        await records.syncSoon()
    }
}

extension Permission {
    public static let drawerCashMovement = Permission(rawValue: PermissionTable.drawerCashMovement)
}
