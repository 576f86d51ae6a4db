import Foundation
import FynloSyncCore
import Observation

/// The sync status strip and its detail sheet: online or not, changes waiting, when the
/// iPad last synced, changes the server refused (dead letters) and what the server did with
/// this iPad's edits when another iPad edited the same thing, in words.
///
/// Follow ``SyncMonitor/statusUpdates()`` with ``follow(_:)`` and the ``SyncNoticeLog``
/// with ``follow(notices:)``; ``tick()`` keeps "last synced … ago" current.
@MainActor
@Observable
public final class SyncStatusModel {
    /// One line of the sheet.
    public struct Line: Sendable, Hashable, Identifiable {
        public enum Kind: Sendable, Hashable {
            /// Another iPad's edit met this one; the server merged them by its rules.
            case conflict
            /// The server refused a change for good; a manager sees it in the quarantine.
            case refused
            /// A manager dismissed a refused change.
            case dismissed
        }

        public var id: String
        public var kind: Kind
        public var text: String

        public init(id: String, kind: Kind, text: String) {
            self.id = id
            self.kind = kind
            self.text = text
        }
    }

    public private(set) var status = SyncStatus()
    /// Reaching the server (or not yet tried): false while retrying after a failure.
    public private(set) var isOnline = true
    public private(set) var pendingChanges = 0
    public private(set) var lastSyncedAtMs: Int?
    /// The strip, in words: "Online · all changes sent · synced 2 min ago".
    public private(set) var headline = ""
    /// Refused changes, with why, in words.
    public private(set) var refused: [Line] = []
    /// Conflicts the server resolved and dismissals, newest last.
    public private(set) var notices: [Line] = []

    private var shown: Set<String> = []
    private let monitor: any SyncMonitor
    private let records: any Records
    private let clock: any WallClock

    public init(monitor: any SyncMonitor, records: any Records, clock: any WallClock = SystemWallClock()) {
        self.monitor = monitor
        self.records = records
        self.clock = clock
        headline = Self.headline(SyncStatus(), nowMs: clock.nowMs())
    }

    /// Follows the engine's status until the stream ends.
    public func follow(_ updates: AsyncStream<SyncStatus>) async {
        for await next in updates {
            await show(next)
        }
    }

    /// Follows the server's notices until the stream ends.
    public func follow(notices updates: AsyncStream<SyncNotice>) async {
        for await notice in updates {
            await show(notice)
        }
    }

    /// Recomputes the words that depend on the time.
    public func tick() {
        headline = Self.headline(status, nowMs: clock.nowMs())
    }

    /// Hides a notice the user has read.
    public func acknowledge(_ line: Line) {
        notices.removeAll { $0.id == line.id }
    }

    // MARK: Status

    public func show(_ next: SyncStatus) async {
        let deadLettersChanged = next.deadLetters != status.deadLetters
        status = next
        pendingChanges = next.pendingChanges
        lastSyncedAtMs = next.lastSyncedAtMs
        switch next.activity {
        case .waiting, .blocked: isOnline = false
        case .idle, .pushing, .pulling: isOnline = true
        case .stopped: break
        }
        headline = Self.headline(next, nowMs: clock.nowMs())
        if deadLettersChanged { await reloadRefused() }
    }

    private func reloadRefused() async {
        guard let letters = try? await monitor.deadLetters() else { return }
        var lines: [Line] = []
        for letter in letters {
            let what = await SyncWords.name(of: letter.change.key, in: records, sent: letter.change.fields)
            lines.append(
                Line(
                    id: "refused-\(letter.change.seq)", kind: .refused,
                    text: "\(what): \(SyncWords.change(letter.change)) was refused: \(SyncWords.reason(letter.reason, detail: letter.detail))"))
        }
        refused = lines
    }

    static func headline(_ status: SyncStatus, nowMs: Int) -> String {
        var parts: [String] = []
        switch status.activity {
        case .idle, .pushing, .pulling: parts.append("Online")
        case .waiting(let retryAtMs, _):
            let seconds = max(0, (retryAtMs - nowMs + 999) / 1000)
            parts.append("Offline (trying again in \(SyncWords.duration(seconds)))")
        case .blocked(.notAuthenticated): parts.append("Not signed in to the server: ask a manager to enrol this iPad again")
        case .blocked(.upgradeRequired): parts.append("This app needs updating before it can sync")
        case .blocked(.refused(let status, let code)): parts.append("The server refuses to sync (\(code ?? "HTTP \(status)"))")
        case .stopped: parts.append("Sync stopped")
        }
        switch status.pendingChanges {
        case 0: parts.append("all changes sent")
        case 1: parts.append("1 change waiting")
        default: parts.append("\(status.pendingChanges) changes waiting")
        }
        if let last = status.lastSyncedAtMs {
            parts.append("synced \(SyncWords.ago(max(0, nowMs - last) / 1000))")
        } else {
            parts.append("not synced yet")
        }
        if status.deadLetters > 0 {
            parts.append(status.deadLetters == 1 ? "1 change refused" : "\(status.deadLetters) changes refused")
        }
        return parts.joined(separator: " · ")
    }

    // MARK: Notices

    public func show(_ notice: SyncNotice) async {
        let id: String
        switch notice {
        case .merged(let sent, _): id = "merged-\(sent.seq)"
        case .dismissed(let seq, _, _): id = "dismissed-\(seq)"
        }
        // Each is told once, also after it was acknowledged.
        guard shown.insert(id).inserted else { return }
        switch notice {
        case .merged(let sent, let result):
            let what = await SyncWords.name(of: sent.key, in: records, sent: sent.fields)
            notices.append(
                Line(id: "merged-\(sent.seq)", kind: .conflict, text: "\(what): \(SyncWords.merge(sent, result))"))
        case .dismissed(let seq, let reason, _):
            let letter = try? await monitor.deadLetters().first { $0.change.seq == seq }
            var what = "A change made on this iPad"
            if let letter {
                let name = await SyncWords.name(of: letter.change.key, in: records, sent: letter.change.fields)
                what = "\(name): \(SyncWords.change(letter.change))"
            }
            let why = reason.isEmpty ? "" : " (\(reason))"
            notices.append(
                Line(id: "dismissed-\(seq)", kind: .dismissed, text: "\(what) was dismissed by a manager\(why). It will not apply."))
            // The protocol asks to drop it from the outbox and from the refused list.
            try? await monitor.dismissDeadLetter(seq: seq)
            refused.removeAll { $0.id == "refused-\(seq)" }
        }
    }
}

/// Sync events in words.
public enum SyncWords {
    /// "Table 4's order", "A line (Flat white) on Table 4's order", "Table 4", "Cash for …".
    ///
    /// `sent` is what the change carried, for an entity the store no longer holds (a refused
    /// new payment).
    public static func name(of key: EntityKey, in records: any Records, sent: [String: JSONValue] = [:]) async -> String {
        switch key.entityType {
        case "order":
            return await orderName(key.entityID, in: records)
        case "order_line":
            let line = (try? await records.entity(key))?.data ?? sent
            let item = line["name"]?.stringValue.map { " (\($0))" } ?? ""
            guard let orderID = line["order_id"]?.stringValue else { return "A line\(item)" }
            return "A line\(item) on \(lowerFirst(await orderName(orderID, in: records)))"
        case "table_state":
            return await tableName(key.entityID, in: records) ?? "A table"
        case "cash_payment", "offline_card_payment":
            let payment = (try? await records.entity(key))?.data ?? sent
            let kind = key.entityType == "cash_payment" ? "Cash" : "A card taken offline"
            guard let orderID = payment["order_id"]?.stringValue else { return kind }
            return "\(kind) for \(lowerFirst(await orderName(orderID, in: records)))"
        case "availability":
            return "A dish's availability"
        default:
            return "A \(key.entityType.replacingOccurrences(of: "_", with: " "))"
        }
    }

    static func orderName(_ orderID: String, in records: any Records) async -> String {
        let order = try? await records.entity(EntityKey("order", orderID))
        if let tableID = order?.data["table_id"]?.stringValue, let table = await tableName(tableID, in: records) {
            return "\(table)'s order"
        }
        if let number = order?.data["number"]?.stringValue { return "Order \(number)" }
        return "An order"
    }

    static func tableName(_ tableID: String, in records: any Records) async -> String? {
        guard let name = try? await records.entity(EntityKey("floor_table", tableID))?.data["name"]?.stringValue else {
            return nil
        }
        return Int(name) != nil ? "Table \(name)" : name
    }

    private static func lowerFirst(_ text: String) -> String {
        guard text.hasPrefix("An ") || text.hasPrefix("A ") else { return text }
        return text.prefix(1).lowercased() + text.dropFirst()
    }

    /// What a field is called at the till.
    public static func field(_ name: String) -> String {
        switch name {
        case "notes": "note"
        case "covers": "number of guests"
        case "table_id": "table"
        case "discount_kind", "discount_value", "discount_reason": "discount"
        case "service_charge_bp": "service charge"
        case "closed_at": "closing time"
        case "sold_out": "sold-out mark"
        case "order_id": "order on the table"
        case "unit_price": "price"
        default: name.replacingOccurrences(of: "_", with: " ")
        }
    }

    /// What a pushed change did, briefly: "the note", "the status (paid)".
    static func change(_ change: PendingChange) -> String {
        if change.op == .delete { return "the deletion" }
        if change.entityType == "cash_payment" || change.entityType == "offline_card_payment" {
            return "the payment of \(PaymentWords.money(change.fields["amount"]?.intValue ?? 0, change.fields["currency"]?.stringValue ?? "GBP"))"
        }
        let names = Array(Set(change.fields.keys.map(field))).sorted()
        if change.fields.count == 1, let status = change.fields["status"]?.stringValue { return "the status (\(status))" }
        return names.isEmpty ? "the change" : "the " + names.joined(separator: ", ")
    }

    /// How the server settled this iPad's change against another's, by the entity's rules
    /// (docs/sync-protocol.md, "Conflict rules in the log").
    static func merge(_ sent: PendingChange, _ result: EntityState?) -> String {
        guard let result else { return "another iPad changed it at the same time; the server merged the two." }
        if result.deleted {
            return "it was deleted on another iPad at the same time; the deletion was kept."
        }
        var kept: [String] = []
        var lost: [String] = []
        for (name, value) in sent.fields.sorted(by: { $0.key < $1.key }) {
            let now = result.data[name]
            if sent.entityType == "availability", name == "remaining" {
                kept.append("both iPads' counts were added")
            } else if sent.entityType == "order", name == "status" {
                if now == value {
                    kept.append("it stays \(value.stringValue ?? "")")
                } else {
                    lost.append("it stays \(now?.stringValue ?? "as it was") (the further status wins: a paid order stays paid)")
                }
            } else if sent.entityType == "order_line", name == "voided" {
                kept.append("the line stays voided")
            } else if now == value {
                kept.append("your \(field(name)) was kept (newer)")
            } else {
                lost.append("the other iPad's \(field(name)) was kept (newer)")
            }
        }
        var parts: [String] = []
        for part in lost + kept where !parts.contains(part) { parts.append(part) }
        guard !parts.isEmpty else { return "another iPad changed it at the same time; the two were merged." }
        return parts.joined(separator: "; ") + "."
    }

    /// Why the server refused a change (docs/sync-protocol.md, "Rejection reasons").
    public static func reason(_ reason: String, detail: String?) -> String {
        let words: String
        switch reason {
        case "order_voided": words = "the order was voided elsewhere; a manager will sort out the money"
        case "unknown_order": words = "the server does not know the order"
        case "currency_mismatch": words = "the currency is not the order's"
        case "order_closed": words = "the bill was already final (paid or voided)"
        case "order_holds_money": words = "the order holds money: refund or cancel its payments first"
        case "state_backwards": words = "a status cannot go back"
        case "not_permitted": words = "the person signed in may not do that"
        case "needs_approval": words = "it needed a manager's approval"
        case "actor_unproven", "approval_unproven": words = "the server could not confirm who made or approved it"
        case "order_unpaid": words = "the payments do not cover the order yet"
        case "immutable": words = "a payment is never edited; record a refund instead"
        default: words = reason.replacingOccurrences(of: "_", with: " ")
        }
        return words + (detail.map { $0.isEmpty ? "" : " (\($0))" } ?? "") + "."
    }

    public static func duration(_ seconds: Int) -> String {
        seconds < 60 ? "\(seconds) s" : "\(seconds / 60) min"
    }

    public static func ago(_ seconds: Int) -> String {
        switch seconds {
        case ..<10: "just now"
        case ..<60: "\(seconds) s ago"
        case ..<3_600: "\(seconds / 60) min ago"
        default: "\(seconds / 3_600) h ago"
        }
    }
}
