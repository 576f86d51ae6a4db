import Foundation
import FynloSyncCore
import FynloSyncSQLite
#if canImport(CoreData)
import CoreData
import FynloSyncCoreData
#endif
import FynloSyncTesting
import Testing

let device = "8f1d4c2a-2b4e-4f5b-9d1e-3c6a7b8c9d0e"

/// The stores the contract runs against; each test gets a fresh one.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case inMemory, sqlite
    #if canImport(CoreData)
    /// Apple platforms only: the same contract for the Core Data adapter.
    case coreData
    #endif

    var testDescription: String { rawValue }

    func make(clock: ManualClock = ManualClock()) throws -> any SyncStore & EntityReader {
        switch self {
        case .inMemory: return InMemorySyncStore(deviceID: device, clock: clock)
        case .sqlite: return try SQLiteSyncStore(path: scratchPath(), deviceID: device, clock: clock)
        #if canImport(CoreData)
        case .coreData: return try coreDataStore(clock: clock)
        #endif
        }
    }
}

#if canImport(CoreData)
/// A store on a scratch SQLite file (uniqueness constraints need the SQLite store type).
func coreDataStore(clock: ManualClock) throws -> CoreDataSyncStore {
    let container = NSPersistentContainer(name: "FynloSyncContract", managedObjectModel: SyncBookkeepingModel.make())
    let description = NSPersistentStoreDescription(url: URL(fileURLWithPath: scratchPath()))
    description.shouldAddStoreAsynchronously = false
    description.setOption(true as NSNumber, forKey: NSPersistentHistoryTrackingKey)
    container.persistentStoreDescriptions = [description]
    var failure: Error?
    container.loadPersistentStores { _, error in failure = error }
    if let failure { throw failure }
    return CoreDataSyncStore(container: container, deviceID: device, projector: NoProjection(), clock: clock)
}

/// The contract is about the bookkeeping; the app's own objects are not part of it.
struct NoProjection: EntityProjector {
    func project(_ shown: LocalEntity?, for key: EntityKey, in context: NSManagedObjectContext) throws {}
}
#endif

func scratchPath() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("fynlo-sync-\(UUID().uuidString).sqlite").path
}

func draft(_ id: String, _ fields: [String: JSONValue], type: String = "order", op: ChangeOp = .upsert) -> ChangeDraft {
    ChangeDraft(entityType: type, entityID: id, op: op, fields: fields)
}

func state(_ id: String, _ data: [String: JSONValue], _ clock: [String: Int], type: String = "order", hlc: String? = nil, deleted: Bool = false)
    -> EntityState
{
    EntityState(entityType: type, entityID: id, data: data, clock: VectorClock(clock), deleted: deleted, hlc: hlc)
}

let orderA = "c3a1e6f0-3b2d-4c5e-8f9a-0b1c2d3e4f50"
let orderB = "d4b2f701-4c3e-4d6f-9a0b-1c2d3e4f5061"

/// One contract, every store: what the engine relies on, checked the same way for each.
@Suite("store contract")
struct StoreContractTests {
    @Test(arguments: StoreKind.allCases)
    func enqueueNumbersWithoutGapsAndClocksEachEdit(_ kind: StoreKind) async throws {
        let clock = ManualClock()
        let store = try kind.make(clock: clock)
        let first = try await store.enqueue(draft(orderA, ["number": "A-0001", "status": "open"]))
        clock.advance(by: .milliseconds(-5))  // a wall clock that steps back
        let second = try await store.enqueue(draft(orderA, ["covers": 2]))
        let third = try await store.enqueue(draft(orderB, ["number": "A-0002", "status": "open"]))
        #expect([first.seq, second.seq, third.seq] == [Int]([1, 2, 3]))
        #expect(first.clock == VectorClock([device: 1]))
        #expect(second.clock == VectorClock([device: 2]))
        #expect(third.clock == VectorClock([device: 1]))
        let hlcs = try [first, second, third].map { try Hlc(parsing: $0.hlc) }
        #expect(hlcs == hlcs.sorted() && Set(hlcs).count == 3, "HLCs only move forward")
        #expect(try await store.pendingChanges().map(\.seq) == [1, 2, 3])
        #expect(try await store.entity(EntityKey("order", orderA))?.data == ["number": "A-0001", "status": "open", "covers": 2])
        #expect(try await store.entityKeys(ofType: "order").count == 2)
    }

    @Test(arguments: StoreKind.allCases)
    func aFrozenBatchKeepsItsIdAndChangesUntilAcknowledged(_ kind: StoreKind) async throws {
        let store = try kind.make()
        for number in 1...3 { _ = try await store.enqueue(draft(orderA, ["covers": .int(number)])) }
        let batch = try #require(try await store.freezeBatch(maxItems: 2, newID: "11111111-1111-4111-8111-111111111111"))
        #expect(batch.changes.map(\.seq) == [1, 2])
        _ = try await store.enqueue(draft(orderB, ["covers": 1]))
        let again = try await store.freezeBatch(maxItems: 50, newID: "22222222-2222-4222-8222-222222222222")
        #expect(again == batch)
        try await store.acknowledge(through: 2, rejected: [])
        let next = try #require(try await store.freezeBatch(maxItems: 50, newID: "33333333-3333-4333-8333-333333333333"))
        #expect(next.id == "33333333-3333-4333-8333-333333333333")
        #expect(next.changes.map(\.seq) == [3, 4])
        try await store.acknowledge(through: 4, rejected: [])
        #expect(try await store.freezeBatch(maxItems: 50, newID: "44444444-4444-4444-8444-444444444444") == nil)
        #expect(try await store.outboxCounts() == OutboxCounts(pending: 0, deadLetters: 0))
    }

    @Test(arguments: StoreKind.allCases)
    func rejectedChangesAndRefusedBatchesBecomeDeadLetters(_ kind: StoreKind) async throws {
        let store = try kind.make()
        for number in 1...4 { _ = try await store.enqueue(draft(orderA, ["covers": .int(number)])) }
        let batch = try #require(try await store.freezeBatch(maxItems: 2, newID: "11111111-1111-4111-8111-111111111111"))
        try await store.acknowledge(
            through: 2, rejected: [DeadLetter(change: batch.changes[1], reason: "invalid_fields", detail: "covers", atMs: 5)])
        let refused = try #require(try await store.freezeBatch(maxItems: 1, newID: "22222222-2222-4222-8222-222222222222"))
        try await store.deadLetterBatch(id: refused.id, reason: "validation_failed", detail: nil, atMs: 6)
        let letters = try await store.deadLetters()
        #expect(letters.map(\.change.seq) == [2, 3])
        #expect(letters.map(\.reason) == ["invalid_fields", "validation_failed"])
        #expect(letters[0].change == batch.changes[1])
        #expect(try await store.pendingChanges().map(\.seq) == [4])
        try await store.dismissDeadLetter(seq: 2)
        #expect(try await store.outboxCounts() == OutboxCounts(pending: 1, deadLetters: 1))
    }

    @Test(arguments: StoreKind.allCases)
    func anUnfrozenBatchIsRefrozenUnderANewId(_ kind: StoreKind) async throws {
        let store = try kind.make()
        for number in 1...4 { _ = try await store.enqueue(draft(orderA, ["covers": .int(number)])) }
        let batch = try #require(try await store.freezeBatch(maxItems: 4, newID: "11111111-1111-4111-8111-111111111111"))
        try await store.unfreezeBatch(id: batch.id)
        let smaller = try #require(try await store.freezeBatch(maxItems: 2, newID: "22222222-2222-4222-8222-222222222222"))
        #expect(smaller.changes.map(\.seq) == [1, 2])
        #expect(smaller.id != batch.id)
    }

    @Test(arguments: StoreKind.allCases)
    func aSequenceGapDropsWhatTheServerHasOrRenumbersWhatItLost(_ kind: StoreKind) async throws {
        let store = try kind.make()
        for number in 1...5 { _ = try await store.enqueue(draft(orderA, ["covers": .int(number)])) }
        _ = try await store.freezeBatch(maxItems: 5, newID: "11111111-1111-4111-8111-111111111111")
        try await store.restartSequence(expected: 3)
        #expect(try await store.pendingChanges().map(\.seq) == [3, 4, 5])
        try await store.acknowledge(through: 3, rejected: [])
        try await store.restartSequence(expected: 2)
        let renumbered = try await store.pendingChanges()
        #expect(renumbered.map(\.seq) == [2, 3])
        #expect(renumbered.map { $0.fields["covers"] } == [4, 5])
        #expect(try await store.enqueue(draft(orderA, ["covers": 6])).seq == 4)
        let batch = try #require(try await store.freezeBatch(maxItems: 10, newID: "22222222-2222-4222-8222-222222222222"))
        #expect(batch.changes.map(\.seq) == [2, 3, 4])
    }

    @Test(arguments: StoreKind.allCases)
    func pulledStatesReplaceConfirmedOnesAndPendingEditsStayOnTop(_ kind: StoreKind) async throws {
        let store = try kind.make()
        let availability = "e5c3a812-5d4f-4e70-8b1c-2d3e4f506172"
        _ = try await store.enqueue(draft(availability, ["remaining": -1], type: "availability"))
        _ = try await store.enqueue(draft(orderA, ["covers": 4]))
        try await store.applyPulled(PullResponse(
            changes: [
                state(availability, ["remaining": 10, "sold_out": false], ["server": 3], type: "availability"),
                state(orderA, ["number": "B-0001", "status": "open", "covers": 2], ["ipad-b": 1], hlc: "1767225600000:00004:ipad-b"),
            ],
            cursor: "cursor-1", hasMore: false, lastAppliedSeq: 0))
        #expect(try await store.pullPosition().cursor == "cursor-1")
        let stock = try #require(try await store.entity(EntityKey("availability", availability)))
        #expect(stock.data["remaining"] == 9, "a counter shows the pulled total plus local deltas")
        let order = try #require(try await store.entity(EntityKey("order", orderA)))
        #expect(order.data == ["number": "B-0001", "status": "open", "covers": 4])
        #expect(try await store.currentHlc()! > Hlc(parsing: "1767225600000:00004:ipad-b"))
        try await store.acknowledge(through: 2, rejected: [])
        #expect(try await store.entity(EntityKey("order", orderA))?.data["covers"] == 2)
    }

    @Test(arguments: StoreKind.allCases)
    func aReplayedPushAnswerNeverStepsBack(_ kind: StoreKind) async throws {
        let store = try kind.make()
        let newer = state(orderA, ["status": "sent"], [device: 2, "server": 1])
        let older = state(orderA, ["status": "open"], [device: 1])
        try await store.applyPushed([ChangeResult(seq: 2, entityType: "order", entityID: orderA, outcome: .merged, state: newer)])
        try await store.applyPushed([ChangeResult(seq: 1, entityType: "order", entityID: orderA, outcome: .applied, state: older)])
        #expect(try await store.entity(EntityKey("order", orderA))?.data["status"] == "sent")
    }

    @Test(arguments: StoreKind.allCases)
    func aFirstFullSyncDropsWhatItDidNotMention(_ kind: StoreKind) async throws {
        let store = try kind.make()
        try await store.applyPulled(PullResponse(changes: [state(orderA, ["status": "open"], ["x": 1]), state(orderB, ["status": "open"], ["x": 1])], cursor: "a", hasMore: false, lastAppliedSeq: 0))
        try await store.beginBootstrap()
        #expect(try await store.pullPosition() == PullPosition(cursor: nil, bootstrapping: true))
        try await store.applyPulled(PullResponse(changes: [state(orderA, ["status": "sent"], ["x": 2])], cursor: "b", hasMore: false, lastAppliedSeq: 0))
        try await store.finishBootstrap()
        #expect(try await store.pullPosition() == PullPosition(cursor: "b", bootstrapping: false))
        #expect(try await store.entity(EntityKey("order", orderA))?.data["status"] == "sent")
        #expect(try await store.entity(EntityKey("order", orderB)) == nil)
        // Deletions arrive as tombstones and hide the entity.
        try await store.applyPulled(PullResponse(changes: [state(orderA, [:], ["x": 3], deleted: true)], cursor: "c", hasMore: false, lastAppliedSeq: 0))
        #expect(try await store.entity(EntityKey("order", orderA)) == nil)
    }
}

@Suite("SQLite store durability")
struct SQLiteDurabilityTests {
    @Test func everythingSurvivesReopeningTheFile() async throws {
        let path = scratchPath()
        var store: SQLiteSyncStore? = try SQLiteSyncStore(path: path, deviceID: device)
        for number in 1...3 { _ = try await store!.enqueue(draft(orderA, ["covers": .int(number)])) }
        let batch = try await store!.freezeBatch(maxItems: 2, newID: "11111111-1111-4111-8111-111111111111")
        try await store!.applyPulled(PullResponse(changes: [state(orderB, ["status": "open"], ["x": 1], hlc: "1767225600000:00000:x")], cursor: "k", hasMore: false, lastAppliedSeq: 0))
        let hlc = try await store!.currentHlc()
        store = nil  // the app is killed: no clean shutdown is needed, commits are durable

        let reopened = try SQLiteSyncStore(path: path, deviceID: device)
        #expect(try await reopened.freezeBatch(maxItems: 9, newID: "22222222-2222-4222-8222-222222222222") == batch)
        #expect(try await reopened.enqueue(draft(orderA, ["covers": 4])).seq == 4)
        #expect(try await reopened.pullPosition().cursor == "k")
        #expect(try await reopened.entity(EntityKey("order", orderB)) != nil)
        #expect(try await reopened.currentHlc()! > hlc!)
    }

    @Test func aFileOfAnotherDeviceIsRefused() throws {
        let path = scratchPath()
        _ = try SQLiteSyncStore(path: path, deviceID: device)
        #expect(throws: SQLiteError.self) { try SQLiteSyncStore(path: path, deviceID: "another-device") }
    }

    @Test func theFileIsInWALModeWithFullSync() async throws {
        let store = try SQLiteSyncStore(path: scratchPath(), deviceID: device)
        #expect(try await store.durabilitySettings() == ["journal_mode": "wal", "synchronous": "FULL"])
    }
}
