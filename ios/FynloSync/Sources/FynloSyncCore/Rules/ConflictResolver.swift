/// The merge rules of server/sync/rules.py (`resolve`), rule for rule and in the same order,
/// so `shared/schema/vectors/conflicts.json` gives the same decisions here as in Python.
public enum ConflictResolver {
    /// The order in which a merged decision lists the rules that decided it.
    public static let ruleOrder = ["lww", "state_rank", "counter", "sticky", "delete_wins"]

    public static func resolve(
        spec: EntitySpec, current: Version?, change: Change, serverActor: String = "server"
    ) -> Decision {
        do {
            return try decide(spec, current, change, serverActor)
        } catch let rejected as Rejection {
            return Decision(
                outcome: .rejected, version: current, reason: rejected.code, detail: rejected.detail)
        } catch {
            return Decision(outcome: .rejected, version: current, reason: "invalid_fields", detail: "\(error)")
        }
    }

    private struct Rejection: Error {
        let code: String
        let detail: String
    }

    private static func decide(
        _ spec: EntitySpec, _ current: Version?, _ change: Change, _ serverActor: String
    ) throws -> Decision {
        guard let clock = try? VectorClock(json: change.clock), clock.isWellFormed else {
            throw Rejection(code: "bad_clock", detail: "The change's clock is not valid.")
        }
        guard let hlc = try? Hlc(parsing: change.hlc) else {
            throw Rejection(code: "bad_hlc", detail: "The change's timestamp \(change.hlc) is not valid.")
        }
        if change.op == .delete && !spec.deletable {
            throw Rejection(
                code: "delete_not_allowed",
                detail: "A \(spec.entityType) cannot be deleted; void it instead.")
        }
        let fields = change.op == .upsert ? change.fields : [:]
        for name in spec.counters.intersection(fields.keys).sorted() where fields[name]?.intValue == nil {
            throw Rejection(code: "bad_counter", detail: "\(name) must change by a whole number.")
        }

        guard let current else {
            if change.op == .delete { return Decision(outcome: .applied, version: .tombstone(clock)) }
            return Decision(outcome: .applied, version: try created(spec, fields, change.hlc, clock))
        }

        if spec.immutable && change.op == .upsert {
            let changed = fields.filter { name, value in current.data[name] != value }.keys.sorted()
            if !changed.isEmpty {
                throw Rejection(
                    code: "immutable",
                    detail: "A \(spec.entityType) cannot be changed once made (\(changed.joined(separator: ", "))).")
            }
            return Decision(outcome: .duplicate, version: current)
        }
        for name in spec.createOnly.intersection(fields.keys).sorted() {
            if let stored = current.data[name], stored != fields[name] {
                throw Rejection(code: "create_only_field", detail: "The \(spec.entityType)'s \(name) cannot change.")
            }
        }

        switch clock.compare(current.clock) {
        case .equal:
            return Decision(outcome: .duplicate, version: current)
        case .before:
            return Decision(outcome: .stale, version: withLateDeltas(spec, current, fields))
        case .after:
            return Decision(outcome: .applied, version: try applied(spec, current, change, fields, clock))
        case .concurrent:
            let mergedClock = current.clock.merged(with: clock).incremented(for: serverActor)
            let (version, used) = try merged(spec, current, change, fields, hlc, mergedClock)
            let rule = ruleOrder.filter(used.contains).joined(separator: ",")
            return Decision(outcome: .merged, version: version, rule: rule.isEmpty ? nil : rule)
        }
    }

    /// A new row (or a resurrected tombstone): complete, in a known state, counters from 0.
    private static func created(
        _ spec: EntitySpec, _ fields: [String: JSONValue], _ hlc: String, _ clock: VectorClock
    ) throws -> Version {
        let missing = spec.requiredOnCreate.subtracting(fields.keys).sorted()
        if !missing.isEmpty {
            throw Rejection(
                code: "missing_fields",
                detail: "A new \(spec.entityType) needs \(missing.joined(separator: ", ")).")
        }
        try checkKnownState(spec, fields)
        return Version(data: fields, clock: clock, fieldHlcs: fields.mapValues { _ in hlc })
    }

    /// The stored row plus a stale change's counter deltas, and nothing else from it.
    private static func withLateDeltas(
        _ spec: EntitySpec, _ current: Version, _ fields: [String: JSONValue]
    ) -> Version {
        let deltas = fields.filter { spec.counters.contains($0.key) }
        guard !deltas.isEmpty, !current.deleted else { return current }
        var version = current
        for (name, delta) in deltas {
            version.data[name] = .int((current.data[name]?.intValue ?? 0) + (delta.intValue ?? 0))
        }
        return version
    }

    private static func applied(
        _ spec: EntitySpec, _ current: Version, _ change: Change, _ fields: [String: JSONValue],
        _ clock: VectorClock
    ) throws -> Version {
        let mergedClock = current.clock.merged(with: clock)
        if change.op == .delete { return .tombstone(mergedClock) }
        if current.deleted { return try created(spec, fields, change.hlc, mergedClock) }
        try checkKnownState(spec, fields)
        if let state = spec.state, let after = fields[state.field],
            let before = current.data[state.field]?.stringValue, state.ranks[before] != nil,
            after != .string(before),
            !(after.stringValue.map { state.allowed[before, default: []].contains($0) } ?? false)
        {
            throw Rejection(
                code: "state_backwards",
                detail: "A \(spec.entityType) cannot go from \(before) to \(after.stringValue ?? "\(after)").")
        }
        for name in spec.stickyTrue.intersection(fields.keys).sorted()
        where current.data[name] == .bool(true) && fields[name] != .bool(true) {
            throw Rejection(code: "sticky_field", detail: "\(name) cannot be undone on a \(spec.entityType).")
        }
        var data = current.data
        var fieldHlcs = current.fieldHlcs
        for (name, value) in fields {
            data[name] = spec.counters.contains(name) ? added(data[name], value) : value
            fieldHlcs[name] = change.hlc
        }
        return Version(data: data, clock: mergedClock, fieldHlcs: fieldHlcs)
    }

    private static func merged(
        _ spec: EntitySpec, _ current: Version, _ change: Change, _ fields: [String: JSONValue],
        _ hlc: Hlc, _ clock: VectorClock
    ) throws -> (Version, Set<String>) {
        if current.deleted || change.op == .delete {
            // The safe side of a delete/edit race is the delete; two deletes simply agree.
            let agreed = current.deleted && change.op == .delete
            return (.tombstone(clock), agreed ? [] : ["delete_wins"])
        }
        try checkKnownState(spec, fields)
        var data = current.data
        var fieldHlcs = current.fieldHlcs
        var used: Set<String> = []
        for (name, value) in fields {
            let storedHlc = current.fieldHlcs[name].flatMap { try? Hlc(parsing: $0) }
            let incomingNewer = storedHlc.map { hlc > $0 } ?? true
            let newest = incomingNewer ? change.hlc : current.fieldHlcs[name]!
            guard let stored = current.data[name] else {
                data[name] = value
                fieldHlcs[name] = change.hlc
                continue
            }
            if spec.counters.contains(name) {
                data[name] = added(stored, value)
                fieldHlcs[name] = newest
                if value != .int(0) { used.insert("counter") }
                continue
            }
            if stored == value {
                fieldHlcs[name] = newest
                continue
            }
            let rule: String
            let incomingWins: Bool
            if let state = spec.state, name == state.field {
                rule = "state_rank"
                // A stored state the spec no longer knows ranks below every known one.
                if let storedRank = stored.stringValue.flatMap({ state.ranks[$0] }) {
                    incomingWins = (value.stringValue.flatMap { state.ranks[$0] } ?? Int.min) > storedRank
                } else {
                    incomingWins = true
                }
            } else if spec.stickyTrue.contains(name) && (stored == .bool(true) || value == .bool(true)) {
                rule = "sticky"
                incomingWins = value == .bool(true)
            } else {
                rule = "lww"
                incomingWins = incomingNewer
            }
            used.insert(rule)
            if incomingWins {
                data[name] = value
                fieldHlcs[name] = change.hlc
            }
        }
        return (Version(data: data, clock: clock, fieldHlcs: fieldHlcs), used)
    }

    private static func checkKnownState(_ spec: EntitySpec, _ fields: [String: JSONValue]) throws {
        guard let state = spec.state, let value = fields[state.field] else { return }
        guard let name = value.stringValue, state.ranks[name] != nil else {
            throw Rejection(code: "unknown_state", detail: "\(value) is not a \(spec.entityType) \(state.field).")
        }
    }

    private static func added(_ stored: JSONValue?, _ delta: JSONValue) -> JSONValue {
        .int((stored?.intValue ?? 0) + (delta.intValue ?? 0))
    }
}
