import Foundation
import FynloSyncCore

// The drawers and this iPad's drawer sessions, read from the store (docs/cash-up.md;
// server/cashup/drawer_sync.py for the entities):
//
// - `cash_drawer` (the server's): the location's drawers, `name` and `archived`;
// - `drawer_open`, `drawer_movement`, `drawer_close` (this iPad's and the others', each an
//   append-only step): a session's id is its open's id;
// - `drawer_session` (the server's answer on a session): `status` (`open`, `merged`,
//   `closed`), `merged_into`, and once closed `counted_cash`, `expected_cash`, `over_short`,
//   `threshold` and `flagged`.
//
// Everything here is read back from the store, so a till killed with a drawer open finds it
// open again at the next launch, offline or not.

/// A cash drawer at this location that can be opened.
public struct CashDrawerInfo: Sendable, Hashable, Identifiable {
    public var id: String
    public var name: String
}

public enum MovementKind: String, Sendable, Hashable {
    case paidIn = "paid_in"
    case paidOut = "paid_out"
}

/// A paid-in or paid-out, as recorded.
public struct DrawerMovement: Sendable, Hashable, Identifiable {
    public var id: String
    public var kind: MovementKind
    public var amount: Int
    public var reason: String
    public var atMs: Int
}

/// The server's figures on a closed session: for a manager's eyes only (``DrawerModel``
/// gives them to nobody else).
public struct DrawerResult: Sendable, Hashable {
    public var countedCash: Int
    public var expectedCash: Int
    /// Counted − expected: positive is over, negative short.
    public var overShort: Int
    public var threshold: Int
    public var flagged: Bool

    public init(countedCash: Int, expectedCash: Int, overShort: Int, threshold: Int, flagged: Bool) {
        self.countedCash = countedCash
        self.expectedCash = expectedCash
        self.overShort = overShort
        self.threshold = threshold
        self.flagged = flagged
    }
}

/// A drawer session opened on this iPad.
public struct DrawerSession: Sendable, Hashable, Identifiable {
    public var id: String
    public var drawerID: String
    public var drawerName: String
    public var openedAtMs: Int
    public var floatCount: CashCount
    public var movements: [DrawerMovement]
    /// What the server said of it (`open`, `merged`, `closed`); `nil` until its open synced.
    public var serverStatus: String?
    /// The session another iPad opened on this drawer first, which this one joined.
    public var mergedInto: String?
    /// This iPad's blind count, once it closed the session.
    public var closedCount: CashCount?
    public var closedAtMs: Int?
    /// The server's figures once it closed the session (whoever counted it).
    var result: DrawerResult?

    public var openingFloat: Int { floatCount.total }
    public var paidIn: Int { movements.filter { $0.kind == .paidIn }.map(\.amount).reduce(0, +) }
    public var paidOut: Int { movements.filter { $0.kind == .paidOut }.map(\.amount).reduce(0, +) }
    /// Closed here, or closed by the server (the session it joined was counted elsewhere).
    public var isClosed: Bool { closedCount != nil || result != nil }
}

/// Reads the drawers and this iPad's sessions from ``Records``.
struct DrawerBook {
    let records: any Records
    let deviceID: String

    /// The location's drawers that are not archived, by name.
    func drawers() async throws -> [CashDrawerInfo] {
        try await records.entities(ofType: "cash_drawer")
            .filter { !$0.value.deleted && !$0.value.data.bool("archived") }
            .map { CashDrawerInfo(id: $0.key.entityID.lowercased(), name: $0.value.data.string("name") ?? "Drawer") }
            .sorted { ($0.name, $0.id) < ($1.name, $1.id) }
    }

    /// Every session opened on this iPad, earliest first.
    func sessions(drawers: [CashDrawerInfo]) async throws -> [DrawerSession] {
        let opens = try await mine("drawer_open")
        let movements = try await mine("drawer_movement")
        let closes = try await mine("drawer_close")
        let answers = try await records.entities(ofType: "drawer_session")
        let answer = { (id: String) in answers.first { $0.key.entityID.lowercased() == id }?.value.data }
        let names = try await allDrawerNames()

        return opens.map { open in
            let (id, data) = (open.id, open.data)
            let drawerID = data.id("drawer_id") ?? ""
            let server = answer(id)
            let mergedInto = server?.id("merged_into")
            // A joined session is counted with the one it joined: that one carries the figures.
            let owner = mergedInto.flatMap(answer) ?? server
            let close = closes.filter { $0.data.id("session_id") == id }.min { $0.atMs < $1.atMs }
            return DrawerSession(
                id: id, drawerID: drawerID,
                drawerName: drawers.first { $0.id == drawerID }?.name ?? names[drawerID] ?? "Drawer",
                openedAtMs: Instant.ms(data.string("at")), floatCount: CashCount(json: data["float_counts"]),
                movements: movements.filter { $0.data.id("session_id") == id }.compactMap(Self.movement)
                    .sorted { $0.atMs < $1.atMs },
                serverStatus: server?.string("status"), mergedInto: mergedInto,
                closedCount: close.map { CashCount(json: $0.data["counts"]) }, closedAtMs: close?.atMs,
                result: owner.flatMap(Self.result))
        }
        .sorted { ($0.openedAtMs, $0.id) < ($1.openedAtMs, $1.id) }
    }

    private struct Step {
        var id: String
        var data: [String: JSONValue]
        var atMs: Int { Instant.ms(data.string("at")) }
    }

    /// This iPad's steps of one type (the store also holds the other iPads').
    private func mine(_ type: String) async throws -> [Step] {
        try await records.entities(ofType: type)
            .filter { !$0.value.deleted && $0.value.data.id("device_id") == deviceID.lowercased() }
            .map { Step(id: $0.key.entityID.lowercased(), data: $0.value.data) }
    }

    private func allDrawerNames() async throws -> [String: String] {
        var names: [String: String] = [:]
        for (key, drawer) in try await records.entities(ofType: "cash_drawer") {
            names[key.entityID.lowercased()] = drawer.data.string("name")
        }
        return names
    }

    private static func movement(_ step: Step) -> DrawerMovement? {
        guard let kind = step.data.string("kind").flatMap(MovementKind.init), let amount = step.data.int("amount")
        else { return nil }
        return DrawerMovement(
            id: step.id, kind: kind, amount: amount, reason: step.data.string("reason") ?? "", atMs: step.atMs)
    }

    private static func result(_ data: [String: JSONValue]) -> DrawerResult? {
        guard data.string("status") == "closed", let counted = data.int("counted_cash"),
            let expected = data.int("expected_cash")
        else { return nil }
        return DrawerResult(
            countedCash: counted, expectedCash: expected, overShort: data.int("over_short") ?? counted - expected,
            threshold: data.int("threshold") ?? 0, flagged: data.bool("flagged"))
    }
}

/// Instants on the wire (RFC 3339, with or without fractional seconds) as milliseconds.
enum Instant {
    static func ms(_ text: String?) -> Int {
        guard let text else { return 0 }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return Int((date.timeIntervalSince1970 * 1000).rounded()) }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text).map { Int($0.timeIntervalSince1970 * 1000) } ?? 0
    }
}
