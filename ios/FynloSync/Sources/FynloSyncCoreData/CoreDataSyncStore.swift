#if canImport(CoreData)
import CoreData
import FynloSyncCore

/// Every store port on the app's Core Data stack, with the same semantics as
/// `SQLiteSyncStore` (the contract suite runs against it on a Mac).
///
/// - **Transactional outbox**: ``record(_:in:)`` adds the outbox entry to the app's own
///   context, so the domain change and its entry are committed by the same `save()`.
/// - **No echo**: pulled and pushed states are written by a background context whose
///   `transactionAuthor` is ``syncAuthor``; history consumers skip that author, so the
///   server's changes never come back as local edits.
///
/// Threading: every method runs its work inside `context.perform` on a fresh background
/// context; only Sendable values (changes, states, keys) go in or come out, never managed
/// objects. `@unchecked Sendable` because `NSPersistentContainer` is not annotated; it is
/// only used to make background contexts, which is safe from any thread.
public final class CoreDataSyncStore: SyncStore, EntityReader, @unchecked Sendable {
    /// The `transactionAuthor` of every write that applies the server's state.
    public static let syncAuthor = "sync"
    /// The author of outbox bookkeeping written by the engine itself (not domain edits).
    public static let outboxAuthor = "sync.outbox"

    public let deviceID: String
    private let container: NSPersistentContainer
    private let projector: any EntityProjector
    private let clock: any WallClock
    private let counters: CounterFields

    /// - Parameter container: loaded, with ``SyncBookkeepingModel`` merged into its model and
    ///   persistent history tracking on (`NSPersistentHistoryTrackingKey`).
    public init(
        container: NSPersistentContainer, deviceID: String, projector: any EntityProjector,
        clock: any WallClock = SystemWallClock(), counters: CounterFields = .standard
    ) {
        self.container = container
        self.deviceID = deviceID.lowercased()
        self.projector = projector
        self.clock = clock
        self.counters = counters
    }

    /// Whether a history transaction was the sync engine's own (skip it when deriving
    /// local edits or refreshing from history: it is the server's state, not the user's).
    public static func isSyncWrite(_ transaction: NSPersistentHistoryTransaction) -> Bool {
        transaction.author == syncAuthor || transaction.author == outboxAuthor
    }

    // MARK: The transactional outbox

    /// Records a local edit in `context` (the app's writing context), to be committed by the
    /// app's own `save()` together with the domain change. Call on the context's queue, from
    /// one writing context at a time (the seq counter lives in the store: a second writer
    /// racing it fails its save on the outbox's uniqueness constraint and must retry).
    public func record(_ draft: ChangeDraft, in context: NSManagedObjectContext) throws -> PendingChange {
        let books = Books(context: context)
        let seq = Int(try books.meta("next_seq") ?? "1") ?? 1
        var hlc = try books.meta("hlc").flatMap { try? Hlc(parsing: $0) }
        let change = try Replica.change(
            seq: seq, draft: draft, shown: try books.shown(draft.key, counters: counters), hlc: &hlc,
            deviceID: deviceID, nowMs: clock.nowMs())
        books.insertOutbox(change)
        try books.setMeta("next_seq", String(seq + 1))
        try books.setMeta("hlc", hlc?.description)
        return change
    }

    // MARK: OutboxStore

    public func enqueue(_ draft: ChangeDraft) async throws -> PendingChange {
        let draft = draft
        return try await write(author: Self.outboxAuthor) { context in try self.record(draft, in: context) }
    }

    public func pendingChanges() async throws -> [PendingChange] {
        try await read { try Books(context: $0).outbox() }
    }

    public func freezeBatch(maxItems: Int, newID: String) async throws -> Batch? {
        try await write(author: Self.outboxAuthor) { context in
            let books = Books(context: context)
            if let id = try books.meta("batch_id") {
                return Batch(id: id, changes: try books.outbox(inBatchOnly: true))
            }
            let chosen = Array(try books.outbox().prefix(max(1, maxItems)))
            guard !chosen.isEmpty else { return nil }
            try books.markInBatch(Set(chosen.map(\.seq)))
            try books.setMeta("batch_id", newID.lowercased())
            return Batch(id: newID, changes: chosen)
        }
    }

    public func acknowledge(through seq: Int, rejected: [DeadLetter]) async throws {
        try await write(author: Self.outboxAuthor) { context in
            let books = Books(context: context)
            for letter in rejected where letter.change.seq <= seq { try books.insertDeadLetter(letter) }
            let batchFirst = try books.outbox(inBatchOnly: true).first?.seq
            try books.deleteOutbox(through: seq)
            if try books.meta("batch_id") != nil, batchFirst.map({ $0 <= seq }) ?? true {
                try books.clearBatch()
            }
        }
    }

    public func unfreezeBatch(id: String) async throws {
        try await write(author: Self.outboxAuthor) { context in
            let books = Books(context: context)
            if try books.meta("batch_id") == id.lowercased() { try books.clearBatch() }
        }
    }

    public func deadLetterBatch(id: String, reason: String, detail: String?, atMs: Int) async throws {
        try await write(author: Self.outboxAuthor) { context in
            let books = Books(context: context)
            guard try books.meta("batch_id") == id.lowercased() else { return }
            for change in try books.outbox(inBatchOnly: true) {
                try books.insertDeadLetter(DeadLetter(change: change, reason: reason, detail: detail, atMs: atMs))
                try books.deleteOutbox(seq: change.seq)
            }
            try books.setMeta("batch_id", nil)
        }
    }

    public func restartSequence(expected: Int) async throws {
        try await write(author: Self.outboxAuthor) { context in
            let books = Books(context: context)
            try books.clearBatch()
            let pending = try books.outbox()
            guard let first = pending.first?.seq else {
                let next = Int(try books.meta("next_seq") ?? "1") ?? 1
                try books.setMeta("next_seq", String(max(next, expected)))
                return
            }
            switch Replica.gapPlan(expected: expected, firstPending: first) {
            case .dropThrough(let seq):
                try books.deleteOutbox(through: seq)
            case .renumber(let start):
                for (offset, change) in pending.enumerated() {
                    try books.renumber(seq: change.seq, to: start + offset)
                }
                try books.setMeta("next_seq", String(start + pending.count))
            }
        }
    }

    public func deadLetters() async throws -> [DeadLetter] {
        try await read { try Books(context: $0).deadLetters() }
    }

    public func dismissDeadLetter(seq: Int) async throws {
        try await write(author: Self.outboxAuthor) { try Books(context: $0).deleteDeadLetter(seq: seq) }
    }

    public func outboxCounts() async throws -> OutboxCounts {
        try await read { context in
            let books = Books(context: context)
            return OutboxCounts(
                pending: try books.count(SyncBookkeepingModel.outbox),
                deadLetters: try books.count(SyncBookkeepingModel.deadLetter))
        }
    }

    // MARK: CursorStore, ChangeApplier

    public func pullPosition() async throws -> PullPosition {
        try await read { context in
            let books = Books(context: context)
            return PullPosition(cursor: try books.meta("cursor"), bootstrapping: try books.meta("bootstrapping") == "1")
        }
    }

    /// The page's states, the projection into domain objects and the cursor: one save.
    public func applyPulled(_ page: PullResponse) async throws {
        try await write(author: Self.syncAuthor) { context in
            let books = Books(context: context)
            var hlc = try books.meta("hlc").flatMap { try? Hlc(parsing: $0) }
            let bootstrapping = try books.meta("bootstrapping") == "1"
            for state in page.changes {
                hlc = Replica.received(hlc, remote: state.hlc, deviceID: self.deviceID, nowMs: self.clock.nowMs())
                try books.storeConfirmed(state)
                if bootstrapping { try books.markSeen(state.key) }
                try self.projector.project(try books.shown(state.key, counters: self.counters), for: state.key, in: context)
            }
            try books.setMeta("hlc", hlc?.description)
            try books.setMeta("cursor", page.cursor)
        }
    }

    public func applyPushed(_ results: [ChangeResult]) async throws {
        try await write(author: Self.syncAuthor) { context in
            let books = Books(context: context)
            var hlc = try books.meta("hlc").flatMap { try? Hlc(parsing: $0) }
            for state in results.compactMap(\.state) {
                hlc = Replica.received(hlc, remote: state.hlc, deviceID: self.deviceID, nowMs: self.clock.nowMs())
                guard Replica.shouldAdopt(pushed: state, held: try books.confirmed(state.key)) else { continue }
                try books.storeConfirmed(state)
                try self.projector.project(try books.shown(state.key, counters: self.counters), for: state.key, in: context)
            }
            try books.setMeta("hlc", hlc?.description)
        }
    }

    public func beginBootstrap() async throws {
        try await write(author: Self.syncAuthor) { context in
            let books = Books(context: context)
            try books.setMeta("cursor", nil)
            try books.setMeta("bootstrapping", "1")
            try books.deleteAll(SyncBookkeepingModel.bootstrapSeen)
        }
    }

    public func finishBootstrap() async throws {
        try await write(author: Self.syncAuthor) { context in
            let books = Books(context: context)
            guard try books.meta("bootstrapping") == "1" else { return }
            for key in try books.unseenConfirmedKeys() {
                try books.deleteConfirmed(key)
                try self.projector.project(try books.shown(key, counters: self.counters), for: key, in: context)
            }
            try books.deleteAll(SyncBookkeepingModel.bootstrapSeen)
            try books.setMeta("bootstrapping", nil)
        }
    }

    // MARK: EntityReader

    public func entity(_ key: EntityKey) async throws -> LocalEntity? {
        try await read { context in
            guard let shown = try Books(context: context).shown(key, counters: self.counters), !shown.deleted else {
                return nil
            }
            return shown
        }
    }

    public func entityKeys(ofType entityType: String) async throws -> [EntityKey] {
        try await read { context in
            let books = Books(context: context)
            return try books.keys(ofType: entityType).filter {
                (try books.shown($0, counters: self.counters)).map { !$0.deleted } ?? false
            }.sorted()
        }
    }

    public func currentHlc() async throws -> Hlc? {
        try await read { try Books(context: $0).meta("hlc").flatMap { try? Hlc(parsing: $0) } }
    }

    // MARK: Contexts

    /// One transaction: a fresh background context, saved once at the end (or not at all).
    private func write<T: Sendable>(
        author: String, _ work: @escaping @Sendable (NSManagedObjectContext) throws -> T
    ) async throws -> T {
        let context = container.newBackgroundContext()
        context.transactionAuthor = author
        // The uniqueness constraints decide: a racing insert fails rather than duplicates.
        context.mergePolicy = NSMergePolicy.error
        return try await context.perform {
            do {
                let result = try work(context)
                if context.hasChanges { try context.save() }
                return result
            } catch {
                context.rollback()
                throw error
            }
        }
    }

    private func read<T: Sendable>(_ work: @escaping @Sendable (NSManagedObjectContext) throws -> T) async throws -> T {
        let context = container.newBackgroundContext()
        return try await context.perform { try work(context) }
    }
}
#endif
