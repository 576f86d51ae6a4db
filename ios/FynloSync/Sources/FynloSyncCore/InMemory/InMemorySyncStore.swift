/// Every store port in memory: for tests, previews and a first run before a database is
/// chosen. Semantics match ``SQLiteSyncStore``; the contract suite runs both.
public actor InMemorySyncStore: SyncStore, EntityReader {
    public let deviceID: String
    private let clock: any WallClock
    private let counters: CounterFields

    private var confirmed: [EntityKey: LocalEntity] = [:]
    private var outbox: [PendingChange] = []
    private var batch: (id: String, seqs: [Int])?
    private var dead: [DeadLetter] = []
    private var position = PullPosition(cursor: nil, bootstrapping: false)
    private var mentioned: Set<EntityKey> = []
    private var hlc: Hlc?
    private var nextSeq = 1

    public init(deviceID: String, clock: any WallClock = SystemWallClock(), counters: CounterFields = .standard) {
        self.deviceID = deviceID
        self.clock = clock
        self.counters = counters
    }

    // MARK: OutboxStore

    public func enqueue(_ draft: ChangeDraft) throws -> PendingChange {
        let change = try Replica.change(
            seq: nextSeq, draft: draft, shown: shown(draft.key), hlc: &hlc, deviceID: deviceID,
            nowMs: clock.nowMs())
        nextSeq += 1
        outbox.append(change)
        return change
    }

    public func pendingChanges() -> [PendingChange] { outbox }

    public func freezeBatch(maxItems: Int, newID: String) -> Batch? {
        if let batch {
            let seqs = Set(batch.seqs)
            return Batch(id: batch.id, changes: outbox.filter { seqs.contains($0.seq) })
        }
        let chosen = Array(outbox.prefix(max(1, maxItems)))
        guard !chosen.isEmpty else { return nil }
        batch = (newID.lowercased(), chosen.map(\.seq))
        return Batch(id: newID, changes: chosen)
    }

    public func acknowledge(through seq: Int, rejected: [DeadLetter]) {
        let known = Set(dead.map(\.change.seq))
        dead += rejected.filter { !known.contains($0.change.seq) && $0.change.seq <= seq }
        outbox.removeAll { $0.seq <= seq }
        // Batches apply whole; a batch id never names other contents.
        if let batch, let first = batch.seqs.min(), first <= seq { self.batch = nil }
    }

    public func unfreezeBatch(id: String) {
        if batch?.id == id.lowercased() { batch = nil }
    }

    public func deadLetterBatch(id: String, reason: String, detail: String?, atMs: Int) {
        guard let batch, batch.id == id.lowercased() else { return }
        let seqs = Set(batch.seqs)
        dead += outbox.filter { seqs.contains($0.seq) }.map {
            DeadLetter(change: $0, reason: reason, detail: detail, atMs: atMs)
        }
        outbox.removeAll { seqs.contains($0.seq) }
        self.batch = nil
    }

    public func restartSequence(expected: Int) {
        batch = nil
        guard let first = outbox.first?.seq else {
            nextSeq = max(nextSeq, expected)
            return
        }
        switch Replica.gapPlan(expected: expected, firstPending: first) {
        case .dropThrough(let seq):
            outbox.removeAll { $0.seq <= seq }
        case .renumber(let start):
            for index in outbox.indices { outbox[index] = outbox[index].renumbered(to: start + index) }
            nextSeq = start + outbox.count
        }
    }

    public func deadLetters() -> [DeadLetter] { dead }

    public func outboxCounts() -> OutboxCounts {
        OutboxCounts(pending: outbox.count, deadLetters: dead.count)
    }

    public func dismissDeadLetter(seq: Int) { dead.removeAll { $0.change.seq == seq } }

    // MARK: CursorStore, ChangeApplier

    public func pullPosition() -> PullPosition { position }

    public func applyPulled(_ page: PullResponse) {
        for state in page.changes {
            receive(state.hlc)
            confirmed[state.key] = LocalEntity(state)
            if position.bootstrapping { mentioned.insert(state.key) }
        }
        position.cursor = page.cursor
    }

    public func applyPushed(_ results: [ChangeResult]) {
        for result in results {
            guard let state = result.state else { continue }
            receive(state.hlc)
            if Replica.shouldAdopt(pushed: state, held: confirmed[state.key]) {
                confirmed[state.key] = LocalEntity(state)
            }
        }
    }

    public func beginBootstrap() {
        position = PullPosition(cursor: nil, bootstrapping: true)
        mentioned = []
    }

    public func finishBootstrap() {
        guard position.bootstrapping else { return }
        confirmed = confirmed.filter { mentioned.contains($0.key) }
        mentioned = []
        position.bootstrapping = false
    }

    // MARK: EntityReader

    public func entity(_ key: EntityKey) -> LocalEntity? {
        guard let shown = shown(key), !shown.deleted else { return nil }
        return shown
    }

    public func entityKeys(ofType entityType: String) -> [EntityKey] {
        let keys = Set(confirmed.keys).union(outbox.map(\.key)).filter { $0.entityType == entityType }
        return keys.filter { entity($0) != nil }.sorted()
    }

    public func currentHlc() -> Hlc? { hlc }

    private func shown(_ key: EntityKey) -> LocalEntity? {
        Replica.shown(confirmed: confirmed[key], pending: outbox.filter { $0.key == key }, counters: counters)
    }

    private func receive(_ remote: String?) {
        hlc = Replica.received(hlc, remote: remote, deviceID: deviceID, nowMs: clock.nowMs())
    }
}
