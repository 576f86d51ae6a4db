import FynloPOSCore
import FynloSyncCore
import FynloSyncTesting

/// A restaurant as the server would send it in a first pull: the menu, the floor plan and
/// availability, built in a few lines and applied to a store as pulled entities (confirmed,
/// with the server's clock), so the screens read it exactly as on a real iPad.
public struct VenueFixture: Sendable {
    public static let deviceID = "8f1d4c2a-2b4e-4f5b-9d1e-3c6a7b8c9d0e"
    public static let locationID = "5a0c6a52-7e0a-4f35-9a51-0e3f1c2b4d6e"

    public private(set) var entities: [EntityState] = []
    private let ids: SeededIDs

    public init(seed: UInt64 = 17) {
        ids = SeededIDs(seed: seed)
    }

    @discardableResult
    public mutating func category(_ name: String, position: Int = 0) -> String {
        add("category", ["name": .string(name), "position": .int(position), "archived": false])
    }

    @discardableResult
    public mutating func product(
        _ name: String, price: Int, vatRateBp: Int = 2000, category: String? = nil, groups: [String] = [],
        position: Int = 0, archived: Bool = false
    ) -> String {
        add(
            "product",
            [
                "name": .string(name), "price": .int(price), "vat_rate_bp": .int(vatRateBp),
                "category_id": category.map(JSONValue.string) ?? .null, "description": "", "sku": "",
                "currency": "GBP", "position": .int(position), "archived": .bool(archived),
                "modifier_group_ids": .array(groups.map(JSONValue.string)),
            ])
    }

    @discardableResult
    public mutating func group(_ name: String, min: Int, max: Int) -> String {
        add(
            "modifier_group",
            ["name": .string(name), "min_choices": .int(min), "max_choices": .int(max), "archived": false])
    }

    @discardableResult
    public mutating func modifier(_ name: String, in group: String, delta: Int = 0, position: Int = 0) -> String {
        add(
            "modifier",
            [
                "group_id": .string(group), "name": .string(name), "price_delta": .int(delta),
                "position": .int(position), "archived": false,
            ])
    }

    @discardableResult
    public mutating func table(_ name: String, seats: Int = 4, area: String = "") -> String {
        add(
            "floor_table",
            [
                "name": .string(name), "seats": .int(seats), "area": .string(area), "archived": false,
                "location_id": .string(Self.locationID),
            ], location: Self.locationID)
    }

    /// 86s a product, or counts its portions (`remaining`).
    @discardableResult
    public mutating func availability(of product: String, soldOut: Bool = false, remaining: Int? = nil) -> String {
        var data: [String: JSONValue] = ["product_id": .string(product), "sold_out": .bool(soldOut)]
        if let remaining { data["remaining"] = .int(remaining) }
        return add("availability", data, location: Self.locationID)
    }

    /// Any other entity as the server holds it (a table's state, a payment from another iPad).
    @discardableResult
    public mutating func entity(_ type: String, _ data: [String: JSONValue], id: String? = nil) -> String {
        add(type, data, location: Self.locationID, id: id)
    }

    /// Applies the fixture to `store` as one pulled page.
    public func seed(_ store: InMemorySyncStore) async {
        await store.applyPulled(
            PullResponse(changes: entities, cursor: "fixture", hasMore: false, phase: "feed", lastAppliedSeq: 0))
    }

    private mutating func add(
        _ type: String, _ data: [String: JSONValue], location: String? = nil, id: String? = nil
    ) -> String {
        let id = id ?? ids.next()
        entities.append(
            EntityState(
                entityType: type, entityID: id, locationID: location, data: data, clock: VectorClock(["server": 1]),
                hlc: "1767225600000:00000:server"))
        return id
    }
}

/// An iPad over an in-memory store, with its menu and floor seeded, and every screen's
/// model wired as the app wires them: for tests and previews.
@MainActor
public struct TestTill {
    public let store: InMemorySyncStore
    public let records: any Records
    public let gate: ScriptedApprovalGate
    public let orders: Orders
    public let clock: ManualClock

    public init(_ fixture: VenueFixture, prefix: String = "A", approvals: ScriptedApprovalGate.Answer = .refuse)
        async
    {
        let clock = ManualClock()
        let store = InMemorySyncStore(deviceID: VenueFixture.deviceID, clock: clock)
        await fixture.seed(store)
        let engine = SyncEngine(
            configuration: .init(deviceID: VenueFixture.deviceID, appVersion: "test"), store: store,
            transport: FakeTransport())
        let records = SyncedRecords(reader: store, engine: engine)
        let gate = ScriptedApprovalGate(approvals, records: records)
        self.store = store
        self.records = records
        self.gate = gate
        self.clock = clock
        self.orders = Orders(
            records: records, numbers: DeviceOrderNumbers(prefix: prefix, records: records), approvals: gate,
            ids: SeededIDs(seed: 99), clock: clock)
    }

    public func floor() -> FloorModel { FloorModel(records: records, orders: orders) }
    public func menu() -> MenuModel { MenuModel(records: records, locationID: VenueFixture.locationID) }
    public func entry() -> OrderEntryModel { OrderEntryModel(records: records, orders: orders) }
    public func bill() -> BillModel { BillModel(records: records, orders: orders) }

    /// What the iPad will push, in order.
    public func outbox() async -> [PendingChange] { await store.pendingChanges() }

    /// As if the server applied every pending change just as the iPad shows it, and answered:
    /// the store confirms them and empties its outbox.
    public func pushed() async {
        let pending = await store.pendingChanges()
        var results: [ChangeResult] = []
        for change in pending {
            let shown = await store.entity(change.key)
            results.append(
                ChangeResult(
                    seq: change.seq, entityType: change.entityType, entityID: change.entityID, outcome: .applied,
                    state: shown.map {
                        EntityState(
                            entityType: change.entityType, entityID: change.entityID, data: $0.data, clock: $0.clock,
                            deleted: $0.deleted, hlc: change.hlc)
                    }))
        }
        await store.applyPushed(results)
        await store.acknowledge(through: pending.last?.seq ?? 0, rejected: [])
    }
}
