import FynloSyncCore
import FynloSyncTesting
import Testing

let device = "0b6f6a86-5c2e-4d63-9f0a-6e3f4b1c2d10"
let orderSpec: EntitySpec = {
    var spec = EntitySpec(entityType: "order")
    spec.requiredOnCreate = ["number", "status"]
    spec.createOnly = ["number"]
    spec.state = StateMachine(
        field: "status", ranks: ["open": 0, "sent": 1, "voided": 2, "paid": 3],
        allowed: ["open": ["sent", "voided", "paid"], "sent": ["voided", "paid"]])
    return spec
}()

/// One device against a ``FakeSyncServer``, with a scripted transport in front of it and
/// time that only moves when the engine sleeps.
struct Rig {
    let clock = ManualClock()
    let sleeper: ManualSleeper
    let store: InMemorySyncStore
    let server = FakeSyncServer(specs: [orderSpec])
    let transport: FakeTransport
    let engine: SyncEngine

    init(script: [FakeTransport.Scripted] = [], seed: UInt64 = 7, sleeps: Int = 50, batchSize: Int = 100) {
        sleeper = ManualSleeper(clock: clock, limit: sleeps)
        store = InMemorySyncStore(deviceID: device, clock: clock)
        let server = server
        transport = FakeTransport(script, fallback: { await server.handle($0, device: device) })
        var configuration = SyncEngine.Configuration(deviceID: device, appVersion: "test-1")
        configuration.batchSize = batchSize
        engine = SyncEngine(
            configuration: configuration, store: store, transport: transport, clock: clock, sleeper: sleeper,
            ids: SeededIDs(seed: seed), jitter: SeededGenerator(seed: seed))
    }

    @discardableResult
    func openOrder(_ number: Int) async throws -> String {
        let id = SeededIDs(seed: UInt64(1_000 + number)).next()
        try await engine.record(
            ChangeDraft(entityType: "order", entityID: id, fields: ["number": .int(number), "status": "open"]))
        return id
    }
}

@Suite("SyncEngine")
struct EngineTests {
    @Test func pushesThenPullsAndEverythingIsAppliedOnce() async throws {
        let rig = Rig()
        let ids = [try await rig.openOrder(1), try await rig.openOrder(2)]
        #expect(await rig.engine.requestSync() == .synced)
        #expect(await rig.server.lastApplied(device: device) == 2)
        #expect(await rig.server.appliedChanges == 2)
        #expect(await rig.store.pendingChanges().isEmpty)
        for id in ids {
            let shown = try #require(await rig.store.entity(EntityKey("order", id)))
            #expect(shown.clock == VectorClock([device: 1]))
        }
        #expect(await rig.transport.pushes.count == 1)
        #expect(await rig.sleeper.sleeps.isEmpty)
    }

    @Test func aTapAndATimerNeverPushTwice() async throws {
        let gate = Gate()
        let rig = Rig(script: [.after(gate)])
        try await rig.openOrder(1)
        let tap = Task { await rig.engine.requestSync() }
        // Bounded wait until the tap's push is on the wire.
        for _ in 0..<1_000 where await rig.transport.requests.isEmpty { await Task.yield() }
        #expect(await rig.transport.pushes.count == 1)
        let timer = Task { await rig.engine.requestSync() }
        await Task.yield()
        await gate.open()
        #expect(await tap.value == .synced)
        #expect(await timer.value == .synced)
        #expect(await rig.transport.pushes.count == 1)
        #expect(await rig.server.appliedChanges == 1)
    }

    @Test func aLostAnswerResendsTheSameFrozenBatch() async throws {
        let rig = Rig(script: [.fail(.unreachable("connection reset")), .fail(.unreachable("timed out"))])
        try await rig.openOrder(1)
        try await rig.openOrder(2)
        #expect(await rig.engine.requestSync() == .synced)
        let pushes = await rig.transport.pushes
        #expect(pushes.count == 3)
        #expect(Set(pushes.map(\.json)).count == 1, "every retry is byte-for-byte the same batch")
        #expect(await rig.server.appliedChanges == 2)
        #expect(await rig.sleeper.sleeps.count == 2)
    }

    @Test func backoffGrowsIsCappedHonoursRetryAfterAndNeverGivesUp() async throws {
        var script: [FakeTransport.Scripted] = Array(repeating: .reply(.problem(503, "unavailable")), count: 9)
        script.append(.reply(.problem(429, "rate_limited", retryAfter: .seconds(90))))
        script.append(.fail(.unreachable("offline")))
        let rig = Rig(script: script)
        try await rig.openOrder(1)
        #expect(await rig.engine.requestSync() == .synced)
        let sleeps = await rig.sleeper.sleeps
        #expect(sleeps.count == 11)
        let policy = RetryPolicy()
        for (index, sleep) in sleeps.enumerated() where index != 9 {
            let ceiling = min(policy.maximum, policy.initial * (1 << min(index, 30)))
            #expect(sleep >= ceiling / 2 && sleep <= ceiling, "attempt \(index + 1) waited \(sleep)")
        }
        #expect(sleeps[9] >= .seconds(90), "Retry-After is a floor")
        #expect(sleeps.allSatisfy { $0 <= .seconds(90) })

        // The same seed gives the same waits: jitter is injected, so runs replay.
        let replay = Rig(script: script)
        try await replay.openOrder(1)
        await replay.engine.requestSync()
        #expect(await replay.sleeper.sleeps == sleeps)
    }

    @Test func rejectedChangesGoToTheDeadLetterListAndAreNotResent() async throws {
        let rig = Rig()
        await rig.server.setReadOnly(["product"])
        try await rig.openOrder(1)
        try await rig.engine.record(ChangeDraft(entityType: "product", entityID: SeededIDs(seed: 9).next(), fields: ["price": 1]))
        #expect(await rig.engine.requestSync() == .synced)
        let letters = try await rig.engine.deadLetters()
        #expect(letters.map(\.change.seq) == [2])
        #expect(letters.first?.reason == "read_only")
        #expect(await rig.engine.currentStatus().deadLetters == 1)
        #expect(await rig.engine.requestSync() == .synced)
        #expect(await rig.transport.pushes.count == 1)
        try await rig.engine.dismissDeadLetter(seq: 2)
        #expect(try await rig.engine.deadLetters().isEmpty)
    }

    @Test func aBatchRefusedWholeIsSplitToFindTheBadChangeAndTheRestRenumbered() async throws {
        let rig = Rig(script: [
            .reply(.problem(400, "validation_failed")),  // the batch of three
            .reply(.problem(400, "validation_failed")),  // seq 1 alone: the bad one
        ])
        for number in 1...3 { try await rig.openOrder(number) }
        #expect(await rig.engine.requestSync() == .synced)
        #expect(try await rig.engine.deadLetters().map(\.change.seq) == [1])
        // Seq 1 never reached the server: it answered 409 sequence_gap, and 2, 3 became 1, 2.
        #expect(await rig.server.lastApplied(device: device) == 2)
        #expect(await rig.server.appliedChanges == 2)
        #expect(await rig.store.pendingChanges().isEmpty)
        let next = try await rig.engine.record(ChangeDraft(entityType: "order", entityID: SeededIDs(seed: 5).next(), fields: ["number": 4, "status": "open"]))
        #expect(next.seq == 3, "numbering goes on without a gap")
    }

    @Test func aTooLargeBatchIsHalved() async throws {
        let rig = Rig(script: [.reply(.problem(413, "payload_too_large"))])
        for number in 1...4 { try await rig.openOrder(number) }
        #expect(await rig.engine.requestSync() == .synced)
        #expect(await rig.transport.pushes.map(\.changes.count) == [4, 2, 2])
        #expect(await rig.server.appliedChanges == 4)
    }

    @Test func sequenceGapForgetsWhatTheServerHasOrRenumbersWhatItLost() async throws {
        let ahead = Rig(script: [.reply(.problem(409, "sequence_gap", ["expected_seq": 3])), .reply(.problem(409, "sequence_gap", ["expected_seq": 1]))])
        for number in 1...3 { try await ahead.openOrder(number) }
        #expect(await ahead.engine.requestSync() == .synced)
        // First: the server had 1 and 2, so only 3 was sent again. Then it "lost" them all
        // (a restore): 3 was renumbered 1.
        #expect(await ahead.transport.pushes.map { $0.changes.map(\.seq) } == [[1, 2, 3], [3], [1]])
    }

    @Test func aBlockedDeviceKeepsItsOutbox() async throws {
        let rig = Rig(script: [.reply(.problem(401, "not_authenticated"))])
        try await rig.openOrder(1)
        #expect(await rig.engine.requestSync() == .blocked(.notAuthenticated))
        #expect(await rig.engine.currentStatus().activity == .blocked(.notAuthenticated))
        #expect(await rig.store.pendingChanges().count == 1)
        #expect(await rig.engine.requestSync() == .synced)
        #expect(await rig.server.appliedChanges == 1)
    }

    @Test func stoppingMidPushLeavesTheBatchFrozenForTheNextEngine() async throws {
        let rig = Rig(script: [.hang])
        try await rig.openOrder(1)
        let sync = Task { await rig.engine.requestSync() }
        for _ in 0..<1_000 where await rig.transport.requests.isEmpty { await Task.yield() }
        await rig.engine.stop()
        #expect(await sync.value == .stopped)
        let frozen = try #require(await rig.transport.pushes.first)
        let server = rig.server
        let transport = FakeTransport(fallback: { await server.handle($0, device: device) })
        let reopened = SyncEngine(
            configuration: .init(deviceID: device, appVersion: "test-1"), store: rig.store, transport: transport,
            clock: rig.clock, sleeper: rig.sleeper, ids: SeededIDs(seed: 99))
        #expect(await reopened.requestSync() == .synced)
        #expect(await transport.pushes.first?.json == frozen.json, "same id, same changes")
    }

    @Test func pullsPageByPageAndLaterWritesOrderAfterWhatWasSeen() async throws {
        let rig = Rig(batchSize: 1)
        for number in 1...3 { try await rig.openOrder(number) }
        #expect(await rig.engine.requestSync() == .synced)
        // Another device's state, written "in the future" by a fast wall clock.
        let future = "\(rig.clock.nowMs() + 50_000):00007:other-ipad"
        let id = SeededIDs(seed: 77).next()
        let page = PullResponse(
            changes: [EntityState(entityType: "order", entityID: id, data: ["number": 9, "status": "sent"], clock: VectorClock(["other-ipad": 1]), hlc: future)],
            cursor: "c1", hasMore: false, lastAppliedSeq: 3)
        await rig.transport.add(.reply(.ok(page.json)))
        #expect(await rig.engine.requestSync() == .synced)
        #expect(await rig.store.pullPosition().cursor == "c1")
        let edit = try await rig.engine.record(ChangeDraft(entityType: "order", entityID: id, fields: ["status": "paid"]))
        #expect(try Hlc(parsing: edit.hlc) > Hlc(parsing: future))
        #expect(edit.clock == VectorClock(["other-ipad": 1, device: 1]))
    }

    @Test func aResyncRestartsFromASnapshotAndDropsWhatItDidNotMention() async throws {
        let kept = SeededIDs(seed: 1).next()
        let gone = SeededIDs(seed: 2).next()
        func state(_ id: String) -> EntityState {
            EntityState(entityType: "table_state", entityID: id, data: ["status": "free"], clock: VectorClock(["server": 1]))
        }
        let rig = Rig(script: [
            .reply(.ok(PullResponse(changes: [state(kept), state(gone)], cursor: "old", hasMore: false, lastAppliedSeq: 0).json)),
            .reply(.problem(410, "resync_required")),
            .reply(.ok(PullResponse(changes: [state(kept)], cursor: "s1", hasMore: true, phase: "snapshot", lastAppliedSeq: 0).json)),
            .reply(.ok(PullResponse(changes: [], cursor: "f1", hasMore: false, lastAppliedSeq: 0).json)),
        ])
        #expect(await rig.engine.requestSync() == .synced)
        #expect(await rig.store.entity(EntityKey("table_state", gone)) != nil)
        #expect(await rig.engine.requestSync() == .synced)
        #expect(await rig.store.entity(EntityKey("table_state", kept)) != nil)
        #expect(await rig.store.entity(EntityKey("table_state", gone)) == nil)
        #expect(await rig.store.pullPosition() == PullPosition(cursor: "f1", bootstrapping: false))
        #expect(await rig.transport.requests.last == .pull(cursor: "s1", limit: 500))
    }

    @Test func statusIsPublishedForTheUI() async throws {
        let rig = Rig(script: [.fail(.unreachable("offline"))])
        try await rig.openOrder(1)
        let updates = await rig.engine.statusUpdates()
        #expect(await rig.engine.requestSync() == .synced)
        var seen: [SyncStatus.Activity] = []
        // Bounded: the stream holds at most its buffer; stop at the final idle.
        for await status in updates {
            seen.append(status.activity)
            if status.activity == .idle, status.lastSyncedAtMs != nil { break }
            if seen.count > 32 { break }
        }
        #expect(seen.contains(.pushing))
        #expect(seen.contains(.pulling))
        #expect(seen.contains { if case .waiting(_, 1) = $0 { return true } else { return false } })
        #expect(seen.last == .idle)
    }

    @Test func retryDelaysStayWithinTheirBounds() {
        let policy = RetryPolicy(initial: .milliseconds(500), maximum: .seconds(30))
        #expect(policy.delay(attempt: 1, unit: 0) == .milliseconds(250))
        #expect(policy.delay(attempt: 1, unit: 1) == .milliseconds(500))
        #expect(policy.delay(attempt: 4, unit: 0.5) == .milliseconds(3_000))
        #expect(policy.delay(attempt: 1_000, unit: 1) == .seconds(30))
        #expect(policy.delay(attempt: 1, unit: 0, retryAfter: .seconds(5)) == .seconds(5))
    }
}
