/// How one entity type syncs and merges; the Swift twin of `EntitySpec` in
/// server/sync/rules.py, so the iPad can predict (and the vectors check) what the server
/// decides. The server stays the judge: its answer always replaces the local guess.
public struct EntitySpec: Sendable, Hashable {
    public var entityType: String
    public var scope = EntityScope.location
    /// False for what only the server writes (the menu, time clock corrections).
    public var pushable = true
    public var deletable = false
    public var immutable = false
    public var requiredOnCreate: Set<String> = []
    public var createOnly: Set<String> = []
    public var counters: Set<String> = []
    public var state: StateMachine?
    public var stickyTrue: Set<String> = []

    public init(entityType: String) { self.entityType = entityType }

    /// Reads a spec as the shared vectors (and the server's registry) write it.
    public init(json: JSONValue) throws {
        entityType = try json.string("entity_type")
        // When absent, what most types are: pushed by iPads, kept per location.
        let scopeName = json["scope"].stringValue ?? "location"
        guard let scope = EntityScope(rawValue: scopeName) else { throw JSONShapeError("unknown scope \(scopeName)") }
        self.scope = scope
        pushable = json["pushable"].boolValue ?? true
        deletable = json["deletable"].boolValue ?? false
        immutable = json["immutable"].boolValue ?? false
        requiredOnCreate = Self.names(json["required_on_create"])
        createOnly = Self.names(json["create_only"])
        counters = Self.names(json["counters"])
        stickyTrue = Self.names(json["sticky_true"])
        state = json["state"].isNull ? nil : try StateMachine(json: json["state"])
    }

    private static func names(_ json: JSONValue) -> Set<String> {
        Set((json.arrayValue ?? []).compactMap(\.stringValue))
    }
}

/// Which iPads receive an entity: those of its location, or every one of the restaurant.
public enum EntityScope: String, Sendable, Hashable {
    case location, restaurant
}

/// A field whose value only moves forward through named states (an order's status).
public struct StateMachine: Sendable, Hashable {
    public var field: String
    public var ranks: [String: Int]
    public var allowed: [String: Set<String>]

    public init(field: String, ranks: [String: Int], allowed: [String: Set<String>]) {
        self.field = field
        self.ranks = ranks
        self.allowed = allowed
    }

    public init(json: JSONValue) throws {
        field = try json.string("field")
        ranks = try json.object("ranks").compactMapValues(\.intValue)
        allowed = (json["allowed"].objectValue ?? [:]).mapValues {
            Set(($0.arrayValue ?? []).compactMap(\.stringValue))
        }
    }
}

/// An entity as the server stores it: its data, clock and per-field HLCs.
public struct Version: Sendable, Hashable {
    public var data: [String: JSONValue]
    public var clock: VectorClock
    public var fieldHlcs: [String: String]
    public var deleted: Bool

    public init(
        data: [String: JSONValue], clock: VectorClock, fieldHlcs: [String: String],
        deleted: Bool = false
    ) {
        self.data = data
        self.clock = clock
        self.fieldHlcs = fieldHlcs
        self.deleted = deleted
    }

    static func tombstone(_ clock: VectorClock) -> Version {
        Version(data: [:], clock: clock, fieldHlcs: [:], deleted: true)
    }
}

/// One pushed write to one entity, as the resolver sees it.
public struct Change: Sendable, Hashable {
    public var op: ChangeOp
    public var fields: [String: JSONValue]
    /// Raw, so a malformed clock is a `bad_clock` decision rather than a decoding error.
    public var clock: JSONValue
    public var hlc: String
    public var device: String

    public init(op: ChangeOp, fields: [String: JSONValue], clock: JSONValue, hlc: String, device: String) {
        self.op = op
        self.fields = fields
        self.clock = clock
        self.hlc = hlc
        self.device = device
    }
}

public enum ChangeOp: String, Sendable, Hashable {
    case upsert, delete
}

public enum Outcome: String, Sendable, Hashable {
    case applied, merged, stale, duplicate, rejected
}

/// What the resolver decided, and the entity after it.
public struct Decision: Sendable, Hashable {
    public var outcome: Outcome
    /// `nil` only when rejected with no stored row.
    public var version: Version?
    /// For `merged`: the rules that settled a disagreement, e.g. `"lww,counter"`.
    public var rule: String?
    /// For `rejected`: a stable code such as `state_backwards`.
    public var reason: String?
    public var detail: String?
}
