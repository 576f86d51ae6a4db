/// The device-side rules every store shares, as pure functions (reference_client.py).
public enum Replica {
    /// What the device shows: the confirmed state with pending changes replayed on top (a
    /// rebase), so a pulled state never hides a local change the server has not confirmed.
    public static func shown(
        confirmed: LocalEntity?, pending: [PendingChange], counters: CounterFields
    ) -> LocalEntity? {
        guard !pending.isEmpty else { return confirmed }
        var data = confirmed.map { $0.deleted ? [:] : $0.data } ?? [:]
        var clock = confirmed?.clock ?? VectorClock()
        var deleted = confirmed?.deleted ?? false
        for change in pending {
            clock = clock.merged(with: change.clock)
            if change.op == .delete {
                data = [:]
                deleted = true
                continue
            }
            deleted = false
            for (name, value) in change.fields {
                if counters.contains(change.entityType, name) {
                    data[name] = .int((data[name]?.intValue ?? 0) + (value.intValue ?? 0))
                } else {
                    data[name] = value
                }
            }
        }
        return LocalEntity(data: data, clock: clock, deleted: deleted)
    }

    /// A local edit made into the next outbox change: the clock the device shows for the
    /// entity with this device's entry incremented, the HLC ticked, and signed by the
    /// draft's signers over that number and HLC.
    public static func change(
        seq: Int, draft: ChangeDraft, shown: LocalEntity?, hlc: inout Hlc?, deviceID: String, nowMs: Int
    ) throws -> PendingChange {
        let ticked = try Hlc.tick(hlc, nowMs: nowMs, node: deviceID)
        hlc = ticked
        let change = PendingChange(
            seq: seq, entityType: draft.entityType, entityID: draft.entityID, op: draft.op,
            fields: draft.op == .delete ? [:] : draft.fields,
            clock: (shown?.clock ?? VectorClock()).incremented(for: deviceID), hlc: ticked.description)
        return OfflineProof.signed(change, by: draft.signers, deviceID: deviceID)
    }

    /// The HLC after seeing a state's: later than everything seen. An unreadable remote
    /// reading is ignored (the server only sends readable ones).
    public static func received(_ local: Hlc?, remote: String?, deviceID: String, nowMs: Int) -> Hlc? {
        guard let remote, let reading = try? Hlc(parsing: remote),
            let next = try? Hlc.receive(local, remote: reading, nowMs: nowMs, node: deviceID)
        else { return local }
        return next
    }

    /// Whether a pushed answer should replace what is held: a replayed answer describes the
    /// entity as it was then, so never step back to an older clock.
    public static func shouldAdopt(pushed: EntityState, held: LocalEntity?) -> Bool {
        guard let held else { return true }
        return pushed.clock.compare(held.clock) != .before
    }

    /// What a 409 `sequence_gap` means for the outbox (reference_client `_after_gap`).
    public enum GapPlan: Equatable, Sendable {
        /// The server has more of ours than we knew: forget changes through this seq.
        case dropThrough(Int)
        /// The server lost acknowledged changes (a restore): number pending ones from here.
        case renumber(from: Int)
    }

    public static func gapPlan(expected: Int, firstPending: Int) -> GapPlan {
        expected >= firstPending ? .dropThrough(expected - 1) : .renumber(from: expected)
    }
}
