import FynloSyncCore

/// What the screens read and write: the iPad's entities (the server's confirmed state with
/// this iPad's pending edits on top) and the outbox every edit goes into.
///
/// Every write the app makes to a synced entity goes through ``record(_:)`` (one write
/// path: the server and the other iPads see it through the sync feed). Reads are always
/// answered from the device, online or not.
public protocol Records: Sendable {
    /// The entity as this iPad shows it; `nil` if unknown or deleted.
    func entity(_ key: EntityKey) async throws -> LocalEntity?
    /// Every entity of a type this iPad shows, by key.
    func entities(ofType entityType: String) async throws -> [EntityKey: LocalEntity]
    /// Numbers, signs and queues one edit; returns it as it will be sent.
    @discardableResult
    func record(_ draft: ChangeDraft) async throws -> PendingChange
    /// Asks the engine to push and pull soon (never waits for the network).
    func syncSoon() async
}

/// ``Records`` over FynloSync: a store the screens read, and the engine that numbers edits
/// into it and syncs them.
public struct SyncedRecords: Records {
    private let reader: any EntityReader
    private let engine: SyncEngine

    public init(reader: any EntityReader, engine: SyncEngine) {
        self.reader = reader
        self.engine = engine
    }

    public func entity(_ key: EntityKey) async throws -> LocalEntity? {
        try await reader.entity(key)
    }

    public func entities(ofType entityType: String) async throws -> [EntityKey: LocalEntity] {
        var found: [EntityKey: LocalEntity] = [:]
        for key in try await reader.entityKeys(ofType: entityType) {
            if let entity = try await reader.entity(key) { found[key] = entity }
        }
        return found
    }

    @discardableResult
    public func record(_ draft: ChangeDraft) async throws -> PendingChange {
        try await engine.record(draft)
    }

    public func syncSoon() async {
        let engine = engine
        Task { await engine.requestSync() }
    }
}
