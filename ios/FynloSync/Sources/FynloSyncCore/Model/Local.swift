/// What the device keeps about entities, changes and batches (see reference_client.py).

/// An entity's identity: its type and (lowercased UUID) id.
public struct EntityKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var entityType: String
    public var entityID: String

    public init(_ entityType: String, _ entityID: String) {
        self.entityType = entityType
        self.entityID = entityID.lowercased()
    }

    public var description: String { "\(entityType)/\(entityID)" }

    public static func < (lhs: EntityKey, rhs: EntityKey) -> Bool {
        (lhs.entityType, lhs.entityID) < (rhs.entityType, rhs.entityID)
    }
}

/// An entity as the device holds (or shows) it.
public struct LocalEntity: Sendable, Hashable {
    public var data: [String: JSONValue]
    public var clock: VectorClock
    public var deleted: Bool

    public init(data: [String: JSONValue], clock: VectorClock, deleted: Bool = false) {
        self.data = data
        self.clock = clock
        self.deleted = deleted
    }

    public init(_ state: EntityState) {
        self.init(data: state.data, clock: state.clock, deleted: state.deleted)
    }
}

/// A local edit before the store numbers it, clocks it and puts it in the outbox.
public struct ChangeDraft: Sendable, Hashable {
    public var entityType: String
    public var entityID: String
    public var op: ChangeOp
    public var fields: [String: JSONValue]
    /// Who signs it: the store makes the proofs when it numbers the change (they cover its
    /// `seq` and HLC) and keeps them with it in the outbox; the keys are not stored.
    public var signers: ChangeSigners

    public init(
        entityType: String, entityID: String, op: ChangeOp = .upsert, fields: [String: JSONValue] = [:],
        signers: ChangeSigners = .none
    ) {
        self.entityType = entityType
        self.entityID = entityID.lowercased()
        self.op = op
        self.fields = fields
        self.signers = signers
    }

    public var key: EntityKey { EntityKey(entityType, entityID) }
}

/// A frozen batch: its id and changes never change until the server acknowledges it.
public struct Batch: Sendable, Hashable {
    /// A lowercased UUID; also the push's `Idempotency-Key`.
    public var id: String
    public var changes: [PendingChange]

    public init(id: String, changes: [PendingChange]) {
        self.id = id.lowercased()
        self.changes = changes
    }

    public var lastSeq: Int { changes.last?.seq ?? 0 }
}

/// A change the server will never apply, kept for the app to show (never resent).
public struct DeadLetter: Sendable, Hashable {
    public var change: PendingChange
    public var reason: String
    public var detail: String?
    public var atMs: Int

    public init(change: PendingChange, reason: String, detail: String?, atMs: Int) {
        self.change = change
        self.reason = reason
        self.detail = detail
        self.atMs = atMs
    }
}

/// Where the next pull continues, and whether a first full sync is still being read.
public struct PullPosition: Sendable, Hashable {
    public var cursor: String?
    /// Between an empty-cursor pull and its end: entities not mentioned get dropped then.
    public var bootstrapping: Bool

    public init(cursor: String?, bootstrapping: Bool) {
        self.cursor = cursor
        self.bootstrapping = bootstrapping
    }
}

/// Which fields of which entity types are counters (a change carries a delta to add).
public struct CounterFields: Sendable, Hashable {
    public var byType: [String: Set<String>]

    public init(_ byType: [String: Set<String>]) { self.byType = byType }

    /// The server's counters today (docs/sync-protocol.md): availability's `remaining`.
    public static let standard = CounterFields(["availability": ["remaining"]])

    public func contains(_ entityType: String, _ field: String) -> Bool {
        byType[entityType]?.contains(field) ?? false
    }
}
