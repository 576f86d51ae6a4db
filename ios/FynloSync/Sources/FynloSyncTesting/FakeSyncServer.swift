import FynloSyncCore

/// A tiny in-memory sync server for engine tests: exactly-once per device sequence (replays
/// answered from stored results), sequence gaps refused, states resolved by the shared
/// rules, and a feed pulled by cursor. Not the real server: the integration tests are.
public actor FakeSyncServer {
    private var lastSeq: [String: Int] = [:]
    private var results: [String: [Int: ChangeResult]] = [:]
    private var states: [EntityKey: Version] = [:]
    private var feed: [EntityKey] = []
    private var specs: [String: EntitySpec]
    public private(set) var appliedChanges = 0
    /// Rejects every change of these entity types, as the real server does for read-only ones.
    public var readOnlyTypes: Set<String> = []

    public init(specs: [EntitySpec] = []) {
        self.specs = Dictionary(specs.map { ($0.entityType, $0) }, uniquingKeysWith: { a, _ in a })
    }

    public func setReadOnly(_ types: Set<String>) { readOnlyTypes = types }

    public func lastApplied(device: String) -> Int { lastSeq[device] ?? 0 }

    public func state(_ key: EntityKey) -> Version? { states[key] }

    public func handle(_ request: FakeTransport.Request, device: String) -> TransportReply {
        switch request {
        case .push(let push): return self.push(push, device: device)
        case .pull(let cursor, let limit): return pull(cursor: cursor, limit: limit, device: device)
        }
    }

    private func push(_ request: PushRequest, device: String) -> TransportReply {
        let last = lastSeq[device] ?? 0
        let fresh = request.changes.filter { $0.seq > last }
        for (offset, change) in fresh.enumerated() where change.seq != last + 1 + offset {
            return .problem(409, "sequence_gap", ["expected_seq": .int(last + 1 + offset)])
        }
        for change in fresh {
            results[device, default: [:]][change.seq] = apply(change, device: device)
        }
        if let newest = fresh.last?.seq { lastSeq[device] = newest }
        let answered = request.changes.compactMap { results[device]?[$0.seq] }
        return .ok(PushResponse(batchID: request.batchID, lastAppliedSeq: lastSeq[device] ?? 0, results: answered).json)
    }

    private func apply(_ change: PendingChange, device: String) -> ChangeResult {
        let key = change.key
        func result(_ outcome: Outcome, _ version: Version?, reason: String? = nil) -> ChangeResult {
            ChangeResult(
                seq: change.seq, entityType: change.entityType, entityID: change.entityID, outcome: outcome,
                state: version.map { self.entityState(key, $0) }, reason: reason, detail: reason)
        }
        if readOnlyTypes.contains(change.entityType) {
            return result(.rejected, states[key], reason: "read_only")
        }
        let spec = specs[change.entityType] ?? EntitySpec(entityType: change.entityType)
        let decision = ConflictResolver.resolve(
            spec: spec, current: states[key],
            change: Change(op: change.op, fields: change.fields, clock: change.clock.json, hlc: change.hlc, device: device))
        if decision.outcome != .rejected, decision.outcome != .duplicate, let version = decision.version {
            states[key] = version
            feed.removeAll { $0 == key }
            feed.append(key)
            appliedChanges += 1
        }
        return result(decision.outcome, decision.version, reason: decision.reason)
    }

    /// The cursor is the feed position as text; every state is delivered in write order.
    private func pull(cursor: String?, limit: Int, device: String) -> TransportReply {
        let start = Int(cursor ?? "") ?? 0
        let page = feed.dropFirst(start).prefix(limit)
        let next = start + page.count
        return .ok(
            PullResponse(
                changes: page.compactMap { key in states[key].map { entityState(key, $0) } }, cursor: String(next),
                hasMore: next < feed.count, phase: cursor == nil ? "snapshot" : "feed",
                lastAppliedSeq: lastSeq[device] ?? 0
            ).json)
    }

    private func entityState(_ key: EntityKey, _ version: Version) -> EntityState {
        EntityState(
            entityType: key.entityType, entityID: key.entityID, data: version.data, clock: version.clock,
            deleted: version.deleted, hlc: version.fieldHlcs.values.max())
    }
}
