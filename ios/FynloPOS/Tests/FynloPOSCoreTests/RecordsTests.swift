import FynloPOSCore
import FynloPOSTesting
import FynloSyncCore
import FynloSyncTesting
import Testing

@Suite("records over FynloSync")
struct RecordsTests {
    @Test func anEditIsReadBackAtOnceAndQueuedForTheServer() async throws {
        let device = "8f1d4c2a-2b4e-4f5b-9d1e-3c6a7b8c9d0e"
        let store = InMemorySyncStore(deviceID: device)
        let engine = SyncEngine(
            configuration: .init(deviceID: device, appVersion: "test"),
            store: store, transport: FakeTransport())
        let records = SyncedRecords(reader: store, engine: engine)
        let key = EntityKey("table_state", "0b1c2d3e-4f50-4c5e-8f9a-c3a1e6f03b2d")

        let change = try await records.record(
            ChangeDraft(entityType: key.entityType, entityID: key.entityID, fields: ["status": "seated"]))

        #expect(change.seq == 1)
        #expect(try await records.entity(key)?.data["status"] == "seated")
        #expect(try await records.entities(ofType: "table_state").keys.sorted() == [key])
        #expect(await store.pendingChanges().map(\.seq) == [1])
    }
}
