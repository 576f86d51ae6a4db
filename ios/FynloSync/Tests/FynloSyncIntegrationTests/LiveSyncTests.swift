import Foundation
import FynloSyncCore
import FynloSyncHTTP
import FynloSyncSQLite
import FynloSyncTesting
import Testing

@Suite("live server", .enabled(if: LiveServer.isConfigured), .serialized)
struct LiveSyncTests {
    @Test func theServerIsUp() async throws {
        let reply = try await LiveServer.client().send("GET", "/ready")
        #expect(reply.status == 200)
    }

    @Test func offlineOrdersSurviveAKilledEngineAndLandExactlyOnce() async throws {
        let enrolment = try await LiveServer.enrol(0, name: "Swift till")
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("fynlo-live-\(UUID().uuidString).sqlite").path
        var ids: [String] = []

        // Offline: orders pile up in the outbox; the engine retries (three waits), then is stopped.
        var store: SQLiteSyncStore? = try SQLiteSyncStore(path: path, deviceID: enrolment.deviceID)
        var device: LiveDevice? = try LiveDevice(enrolment, store: store!, sleeper: ManualSleeper(limit: 3), batchSize: 5)
        await device!.transport.setOnline(false)
        for number in 1...12 { ids.append(try await device!.openOrder(number)) }
        #expect(await device!.engine.requestSync() == .stopped)
        #expect(await device!.engine.currentStatus().pendingChanges == 12)

        // Back online, the first batch reaches the server but its answer is lost; the engine is
        // killed before it can learn anything (its sleeper has no waits left).
        await device!.transport.setOnline(true)
        await device!.transport.loseNextPushAnswers(1)
        #expect(await device!.engine.requestSync() == .stopped)
        let lost = try #require(await device!.transport.pushes.last)
        #expect(lost.changes.map(\.seq) == [1, 2, 3, 4, 5])
        let manager = try await LiveServer.managerToken()
        #expect(try await LiveServer.order(ids[0], token: manager) != nil, "the server applied the lost batch")
        device = nil
        store = nil

        // Reopened from the file: the frozen batch goes again, unchanged, and numbering goes on.
        let reopened = try SQLiteSyncStore(path: path, deviceID: enrolment.deviceID)
        #expect(try await reopened.pendingChanges().count == 12)
        let resumed = try LiveDevice(enrolment, store: reopened, batchSize: 5)
        for number in 13...15 { ids.append(try await resumed.openOrder(number)) }
        #expect(try await reopened.pendingChanges().map(\.seq) == Array(1...15))
        #expect(await resumed.engine.requestSync() == .synced)
        #expect(await resumed.transport.pushes.first?.json == lost.json, "same batch id, same changes")
        #expect(await resumed.transport.pushes.count == 3)
        #expect(try await reopened.outboxCounts() == OutboxCounts(pending: 0, deadLetters: 0))

        // Every order is on the server exactly once.
        let numbers = try await LiveServer.orders(token: manager).compactMap { $0["number"].stringValue }
            .filter { $0.hasPrefix("\(enrolment.prefix)-") }
        #expect(numbers.count == 15)
        #expect(Set(numbers).count == 15)
        for id in ids {
            let order = try #require(try await LiveServer.order(id, token: manager))
            #expect(order["status"] == "open")
            #expect(try await reopened.entity(EntityKey("order", id))?.data["number"] == order["number"])
        }
    }

    @Test func twoDevicesEditingOneOrderConvergeOnTheServersMerge() async throws {
        let barEnrolment = try await LiveServer.enrol(1, name: "Bar till")
        let barPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("fynlo-live-\(UUID().uuidString).sqlite").path
        let bar = try LiveDevice(barEnrolment, store: SQLiteSyncStore(path: barPath, deviceID: barEnrolment.deviceID))
        let floorEnrolment = try await LiveServer.enrol(2, name: "Floor iPad")
        let floor = try LiveDevice(floorEnrolment, store: InMemorySyncStore(deviceID: floorEnrolment.deviceID))

        let id = try await bar.openOrder(1, covers: 2)
        #expect(await bar.engine.requestSync() == .synced)
        #expect(await floor.engine.requestSync() == .synced)
        let key = EntityKey("order", id)
        #expect(try await floor.store.entity(key)?.data["covers"] == 2, "the floor iPad has the bar's order")

        // Both edit the order without seeing each other's edit, then sync at the same time.
        try await bar.engine.record(ChangeDraft(entityType: "order", entityID: id, fields: ["covers": 4, "notes": "window seat"]))
        try await floor.engine.record(ChangeDraft(entityType: "order", entityID: id, fields: ["covers": 6, "status": "sent"]))
        async let barSynced = bar.engine.requestSync()
        async let floorSynced = floor.engine.requestSync()
        #expect(await [barSynced, floorSynced] == [.synced, .synced])
        // One more round each, so both have pulled the other's push and the merge.
        #expect(await bar.engine.requestSync() == .synced)
        #expect(await floor.engine.requestSync() == .synced)

        let onBar = try #require(try await bar.store.entity(key))
        let onFloor = try #require(try await floor.store.entity(key))
        #expect(onBar == onFloor, "both devices hold the same state and clock")
        #expect(onBar.clock["server"] >= 1, "the merge is the server's: it ticked its own entry")
        #expect(onBar.clock[barEnrolment.deviceID] == 2 && onBar.clock[floorEnrolment.deviceID] == 1)
        #expect(onBar.data["status"] == "sent")
        #expect(onBar.data["notes"] == "window seat")
        #expect([JSONValue.int(4), .int(6)].contains(onBar.data["covers"] ?? .null))

        let manager = try await LiveServer.managerToken()
        let order = try #require(try await LiveServer.order(id, token: manager))
        #expect(order["covers"] == onBar.data["covers"])
        #expect(order["status"] == onBar.data["status"])
        #expect(order["notes"] == onBar.data["notes"])
        let logged = try await LiveServer.conflicts(token: manager).filter { $0["entity_id"].stringValue == id }
        #expect(logged.count == 1, "the concurrent edit is in the server's conflict log")
        #expect(logged.first?["rule"].stringValue?.contains("lww") == true)
    }
}
