/// The sync wire format of docs/sync-protocol.md (JSON Schemas in shared/schema/sync/),
/// read and written through ``JSONValue`` so integers, booleans and unknown fields keep
/// their meaning. Readers ignore members they do not know, as the protocol asks.
public let syncSchemaVersion = 1

/// One change the device made: the `ChangeIn` of the push request, kept in the outbox.
public struct PendingChange: Sendable, Hashable {
    public var seq: Int
    public var entityType: String
    public var entityID: String
    public var op: ChangeOp
    /// Only the fields this change set; counters carry the amount to add.
    public var fields: [String: JSONValue]
    /// The entity's clock on the device after this change.
    public var clock: VectorClock
    public var hlc: String
    /// Who made it, proved with their key (absent: nobody was signed in, the iPad's own).
    public var actor: ActorProof?
    /// A manager's approval of it for one permission.
    public var approval: ApprovalProof?

    public init(
        seq: Int, entityType: String, entityID: String, op: ChangeOp,
        fields: [String: JSONValue], clock: VectorClock, hlc: String,
        actor: ActorProof? = nil, approval: ApprovalProof? = nil
    ) {
        self.seq = seq
        self.entityType = entityType
        self.entityID = entityID
        self.op = op
        self.fields = fields
        self.clock = clock
        self.hlc = hlc
        self.actor = actor
        self.approval = approval
    }

    public var key: EntityKey { EntityKey(entityType, entityID) }

    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "seq": .int(seq), "entity_type": .string(entityType), "entity_id": .string(entityID),
            "op": .string(op.rawValue), "fields": .object(fields), "clock": clock.json,
            "hlc": .string(hlc),
        ]
        if let actor { members["actor"] = actor.json }
        if let approval { members["approval"] = approval.json }
        return .object(members)
    }

    public init(json: JSONValue) throws {
        guard let op = ChangeOp(rawValue: try json.string("op")) else { throw JSONShapeError("bad op") }
        self.init(
            seq: try json.int("seq"), entityType: try json.string("entity_type"),
            entityID: try json.string("entity_id"), op: op,
            fields: json["fields"].objectValue ?? [:], clock: try VectorClock(json: json.required("clock")),
            hlc: try json.string("hlc"),
            actor: json["actor"].isNull ? nil : try ActorProof(json: json["actor"]),
            approval: json["approval"].isNull ? nil : try ApprovalProof(json: json["approval"]))
    }

    /// This change under a new number, after the server lost acknowledged changes (a 409
    /// `sequence_gap` asking for a lower `seq`: ``Replica/GapPlan/renumber(from:)``).
    ///
    /// Its proofs signed the old number, and the keys that made them are gone (held only
    /// while their employee was signed in), so they cannot be remade: the change goes out
    /// unsigned, as the iPad's own. The server then applies what a bare iPad may do (orders,
    /// lines, tables) and quarantines the rest for a manager (`not_permitted`), content
    /// intact; sending the stale proofs would have every one refused `actor_unproven`, and
    /// dead-lettering here would lose the service's orders. Only a server restore renumbers.
    public func renumbered(to newSeq: Int) -> PendingChange {
        var moved = self
        moved.seq = newSeq
        moved.actor = nil
        moved.approval = nil
        return moved
    }
}

public struct PushRequest: Sendable, Hashable {
    public var batchID: String
    public var deviceID: String
    public var appVersion: String
    public var changes: [PendingChange]
    public var schemaVersion = syncSchemaVersion

    public init(batch: Batch, deviceID: String, appVersion: String) {
        batchID = batch.id
        self.deviceID = deviceID
        self.appVersion = appVersion
        changes = batch.changes
    }

    public var json: JSONValue {
        [
            "batch_id": .string(batchID), "device_id": .string(deviceID),
            "schema_version": .int(schemaVersion), "app_version": .string(appVersion),
            "changes": .array(changes.map(\.json)),
        ]
    }
}

/// An entity as the server holds it.
public struct EntityState: Sendable, Hashable {
    public var entityType: String
    public var entityID: String
    public var locationID: String?
    public var data: [String: JSONValue]
    public var clock: VectorClock
    public var deleted: Bool
    /// The newest HLC among the writes that made this state: the device `receive`s it.
    public var hlc: String?

    public var key: EntityKey { EntityKey(entityType, entityID) }

    public init(json: JSONValue) throws {
        entityType = try json.string("entity_type")
        entityID = try json.string("entity_id").lowercased()
        locationID = json.optionalString("location_id")
        data = json["data"].objectValue ?? [:]
        clock = try VectorClock(json: json.required("clock"))
        deleted = try json.bool("deleted")
        hlc = json.optionalString("hlc")
    }

    public init(
        entityType: String, entityID: String, locationID: String? = nil, data: [String: JSONValue],
        clock: VectorClock, deleted: Bool = false, hlc: String? = nil
    ) {
        self.entityType = entityType
        self.entityID = entityID
        self.locationID = locationID
        self.data = data
        self.clock = clock
        self.deleted = deleted
        self.hlc = hlc
    }

    public var json: JSONValue {
        [
            "entity_type": .string(entityType), "entity_id": .string(entityID),
            "location_id": locationID.map(JSONValue.string) ?? .null, "data": .object(data),
            "clock": clock.json, "deleted": .bool(deleted), "hlc": hlc.map(JSONValue.string) ?? .null,
        ]
    }
}

public struct ChangeResult: Sendable, Hashable {
    public var seq: Int
    public var entityType: String
    public var entityID: String
    /// Kept as text: a future outcome this build does not know is not an error.
    public var outcome: String
    public var state: EntityState?
    public var reason: String?
    public var detail: String?

    public init(json: JSONValue) throws {
        seq = try json.int("seq")
        entityType = try json.string("entity_type")
        entityID = try json.string("entity_id").lowercased()
        outcome = try json.string("outcome")
        state = json["state"].isNull ? nil : try EntityState(json: json["state"])
        reason = json.optionalString("reason")
        detail = json.optionalString("detail")
    }

    public init(
        seq: Int, entityType: String, entityID: String, outcome: Outcome, state: EntityState?,
        reason: String? = nil, detail: String? = nil
    ) {
        self.seq = seq
        self.entityType = entityType
        self.entityID = entityID
        self.outcome = outcome.rawValue
        self.state = state
        self.reason = reason
        self.detail = detail
    }

    public var json: JSONValue {
        [
            "seq": .int(seq), "entity_type": .string(entityType), "entity_id": .string(entityID),
            "outcome": .string(outcome), "state": state?.json ?? .null,
            "reason": reason.map(JSONValue.string) ?? .null, "detail": detail.map(JSONValue.string) ?? .null,
        ]
    }
}

public struct PushResponse: Sendable, Hashable {
    public var batchID: String
    public var lastAppliedSeq: Int
    public var results: [ChangeResult]

    public init(json: JSONValue) throws {
        batchID = try json.string("batch_id").lowercased()
        lastAppliedSeq = try json.int("last_applied_seq")
        results = try json.array("results").map(ChangeResult.init(json:))
    }

    public init(batchID: String, lastAppliedSeq: Int, results: [ChangeResult]) {
        self.batchID = batchID
        self.lastAppliedSeq = lastAppliedSeq
        self.results = results
    }

    public var json: JSONValue {
        [
            "batch_id": .string(batchID), "last_applied_seq": .int(lastAppliedSeq),
            "results": .array(results.map(\.json)),
        ]
    }
}

public struct PullResponse: Sendable, Hashable {
    public var changes: [EntityState]
    public var cursor: String
    public var hasMore: Bool
    /// `snapshot` while bootstrapping, then `feed`.
    public var phase: String
    public var lastAppliedSeq: Int

    public init(json: JSONValue) throws {
        changes = try json.array("changes").map(EntityState.init(json:))
        cursor = try json.string("cursor")
        hasMore = try json.bool("has_more")
        phase = try json.string("phase")
        lastAppliedSeq = try json.int("last_applied_seq")
    }

    public init(changes: [EntityState], cursor: String, hasMore: Bool, phase: String = "feed", lastAppliedSeq: Int) {
        self.changes = changes
        self.cursor = cursor
        self.hasMore = hasMore
        self.phase = phase
        self.lastAppliedSeq = lastAppliedSeq
    }

    public var json: JSONValue {
        [
            "changes": .array(changes.map(\.json)), "cursor": .string(cursor), "has_more": .bool(hasMore),
            "phase": .string(phase), "last_applied_seq": .int(lastAppliedSeq), "schema_version": 1,
        ]
    }
}

/// An RFC 9457 problem answer (`application/problem+json`) with the server's stable code.
public struct Problem: Sendable, Hashable {
    public var status: Int
    public var code: String?
    public var detail: String?
    /// For 409 `sequence_gap`: the seq the server expects next.
    public var expectedSeq: Int?

    public init(status: Int, body: JSONValue?) {
        self.status = status
        code = body?["code"].stringValue
        detail = body?["detail"].stringValue
        expectedSeq = body?["expected_seq"].intValue
    }
}
