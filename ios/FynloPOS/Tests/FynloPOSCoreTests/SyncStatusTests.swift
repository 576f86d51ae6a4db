import Foundation
import FynloPOSCore
import FynloPOSTesting
import FynloSyncCore
import FynloSyncTesting
import Testing

/// A server that answers each pushed change as `outcomes` says (with the state it gives),
/// and pulls with nothing new but the `dismissed` list.
actor ScriptedSyncServer {
    var outcomes: [String: (outcome: Outcome, data: [String: JSONValue], reason: String?)] = [:]
    var dismissed: [JSONValue] = []
    private var lastSeq = 0
    private(set) var pushes = 0

    func on(_ entityID: String, _ outcome: Outcome, data: [String: JSONValue] = [:], reason: String? = nil) {
        outcomes[entityID] = (outcome, data, reason)
    }

    func dismiss(seq: Int, reason: String) {
        dismissed.append(["seq": .int(seq), "reason": .string(reason), "at": "2026-12-08T11:02:13.512Z"])
    }

    func handle(_ request: FakeTransport.Request) -> TransportReply {
        switch request {
        case .push(let push):
            pushes += 1
            let results = push.changes.map { change in
                let scripted = outcomes[change.entityID] ?? (.applied, change.fields, nil)
                let state = scripted.outcome == .rejected ? nil : EntityState(
                    entityType: change.entityType, entityID: change.entityID, data: scripted.data,
                    clock: change.clock.incremented(for: "server"))
                return ChangeResult(
                    seq: change.seq, entityType: change.entityType, entityID: change.entityID,
                    outcome: scripted.outcome, state: state, reason: scripted.reason)
            }
            lastSeq = max(lastSeq, push.changes.last?.seq ?? 0)
            return TransportReply(
                status: 200, body: PushResponse(batchID: push.batchID, lastAppliedSeq: lastSeq, results: results).json)
        case .pull:
            var page = PullResponse(changes: [], cursor: "c1", hasMore: false, lastAppliedSeq: lastSeq).json
            if case .object(var object) = page {
                object["dismissed"] = .array(dismissed)
                page = .object(object)
            }
            return TransportReply(status: 200, body: page)
        }
    }
}

@MainActor
final class SyncRig {
    static let device = "8f1d4c2a-2b4e-4f5b-9d1e-3c6a7b8c9d0e"
    static let table = "0b1c2d3e-4f50-4c5e-8f9a-c3a1e6f03b2d"
    static let order = "c3a1e6f0-3b2d-4c5e-8f9a-0b1c2d3e4f50"
    let clock = ManualClock()
    let server = ScriptedSyncServer()
    let log = SyncNoticeLog()
    let store: InMemorySyncStore
    let engine: SyncEngine
    let records: SyncedRecords
    let model: SyncStatusModel

    init() async {
        store = InMemorySyncStore(deviceID: Self.device, clock: clock)
        let server = server
        let transport = NoticingTransport(FakeTransport(fallback: { await server.handle($0) }), log: log)
        engine = SyncEngine(
            configuration: .init(deviceID: Self.device, appVersion: "test"), store: store, transport: transport,
            clock: clock, sleeper: ManualSleeper(clock: clock, limit: 3))
        records = SyncedRecords(reader: store, engine: engine)
        model = SyncStatusModel(monitor: engine, records: records, clock: clock)
        // What the first pull brought: table 4 and its order.
        await store.applyPulled(PullResponse(
            changes: [
                EntityState(entityType: "floor_table", entityID: Self.table, data: ["name": "4"], clock: VectorClock(["server": 1])),
                EntityState(
                    entityType: "order", entityID: Self.order,
                    data: ["number": "B-0017", "status": "sent", "table_id": .string(Self.table), "notes": ""],
                    clock: VectorClock(["server": 1])),
            ], cursor: "c0", hasMore: false, lastAppliedSeq: 0))
    }

    func syncAndShow() async {
        _ = await engine.requestSync()
        await model.show(await engine.currentStatus())
        for notice in await log.notices { await model.show(notice) }
    }
}

@Suite("sync status")
@MainActor
struct SyncStatusTests {
    @Test func theStripSaysOnlineWaitingAndWhenInWords() async {
        let rig = await SyncRig()
        #expect(rig.model.headline == "Online · all changes sent · not synced yet")
        let now = rig.clock.nowMs()
        await rig.model.show(SyncStatus(activity: .waiting(retryAtMs: now + 4_200, attempt: 2), pendingChanges: 3, lastSyncedAtMs: now - 125_000))
        #expect(!rig.model.isOnline)
        #expect(rig.model.pendingChanges == 3)
        #expect(rig.model.headline == "Offline (trying again in 5 s) · 3 changes waiting · synced 2 min ago")

        await rig.model.show(SyncStatus(activity: .idle, pendingChanges: 0, lastSyncedAtMs: now))
        #expect(rig.model.isOnline)
        #expect(rig.model.headline == "Online · all changes sent · synced just now")
        rig.clock.advance(by: .seconds(45))
        rig.model.tick()
        #expect(rig.model.headline == "Online · all changes sent · synced 45 s ago")

        await rig.model.show(SyncStatus(activity: .blocked(.upgradeRequired), pendingChanges: 1))
        #expect(rig.model.headline.hasPrefix("This app needs updating"))
    }

    @Test func aNoteAnotherIPadWroteLaterIsExplained() async throws {
        let rig = await SyncRig()
        try await rig.records.record(ChangeDraft(entityType: "order", entityID: SyncRig.order, fields: ["notes": "No nuts"]))
        await rig.server.on(SyncRig.order, .merged, data: ["notes": "Birthday", "status": "sent", "table_id": .string(SyncRig.table)])
        await rig.syncAndShow()
        #expect(rig.model.notices.map(\.text) == ["Table 4's order: the other iPad's note was kept (newer)."])
        #expect(rig.model.notices.first?.kind == .conflict)
        #expect(rig.model.headline.hasPrefix("Online · all changes sent · synced just now"))
    }

    @Test func ourNoteKeptAndAPaidOrderStayingPaidAreExplained() async throws {
        let rig = await SyncRig()
        try await rig.records.record(ChangeDraft(entityType: "order", entityID: SyncRig.order, fields: ["notes": "Window seat"]))
        await rig.server.on(SyncRig.order, .merged, data: ["notes": "Window seat", "table_id": .string(SyncRig.table)])
        await rig.syncAndShow()
        try await rig.records.record(ChangeDraft(entityType: "order", entityID: SyncRig.order, fields: ["status": "voided"]))
        await rig.server.on(SyncRig.order, .merged, data: ["status": "paid", "table_id": .string(SyncRig.table)])
        await rig.syncAndShow()
        #expect(rig.model.notices.map(\.text) == [
            "Table 4's order: your note was kept (newer).",
            "Table 4's order: it stays paid (the further status wins: a paid order stays paid).",
        ])
        rig.model.acknowledge(rig.model.notices[0])
        #expect(rig.model.notices.count == 1)
    }

    @Test func aRefusedPaymentIsListedAndADismissalClearsIt() async throws {
        let rig = await SyncRig()
        let cash = "5b7e0c4e-0000-4000-8000-000000000001"
        try await rig.records.record(ChangeDraft(
            entityType: "cash_payment", entityID: cash,
            fields: ["order_id": .string(SyncRig.order), "amount": 2_500, "tendered": 2_500, "currency": "GBP"]))
        await rig.server.on(cash, .rejected, reason: "order_voided")
        await rig.syncAndShow()
        #expect(rig.model.refused.map(\.text) == [
            "Cash for Table 4's order: the payment of £25.00 was refused: the order was voided elsewhere; a manager will sort out the money."
        ])
        #expect(rig.model.headline.hasSuffix("1 change refused"))

        await rig.server.dismiss(seq: 1, reason: "Refunded by hand")
        await rig.syncAndShow()
        #expect(rig.model.notices.map(\.text) == [
            "Cash for Table 4's order: the payment of £25.00 was dismissed by a manager (Refunded by hand). It will not apply."
        ])
        #expect(rig.model.refused.isEmpty)
        #expect(try await rig.engine.deadLetters().isEmpty)
    }

    @Test func aResentBatchOrARepeatedDismissalIsToldOnce() async throws {
        let log = SyncNoticeLog()
        let change = PendingChange(
            seq: 4, entityType: "order", entityID: SyncRig.order, op: .upsert, fields: ["notes": "x"], clock: VectorClock(), hlc: "h")
        let updates = await log.updates()
        let transport = NoticingTransport(FakeTransport([
            .reply(TransportReply(status: 200, body: PushResponse(batchID: "b", lastAppliedSeq: 4, results: [
                ChangeResult(seq: 4, entityType: "order", entityID: SyncRig.order, outcome: .merged, state: nil)
            ]).json)),
            .reply(TransportReply(status: 200, body: PushResponse(batchID: "b", lastAppliedSeq: 4, results: [
                ChangeResult(seq: 4, entityType: "order", entityID: SyncRig.order, outcome: .merged, state: nil)
            ]).json)),
        ]), log: log)
        let request = PushRequest(batch: Batch(id: "b", changes: [change]), deviceID: SyncRig.device, appVersion: "t")
        _ = try await transport.push(request)
        _ = try await transport.push(request)
        #expect(await log.notices.count == 1)
        var iterator = updates.makeAsyncIterator()
        let first = await iterator.next()
        #expect(first == .merged(sent: change, result: nil))
    }

    @Test func aLineAndATableAreNamedFromTheStore() async throws {
        let rig = await SyncRig()
        let line = "9e1d4c2a-2b4e-4f5b-9d1e-3c6a7b8c9d01"
        await rig.store.applyPulled(PullResponse(
            changes: [EntityState(entityType: "order_line", entityID: line, data: ["name": "Flat white", "order_id": .string(SyncRig.order)], clock: VectorClock(["server": 1]))],
            cursor: "c0", hasMore: false, lastAppliedSeq: 0))
        #expect(await SyncWords.name(of: EntityKey("order_line", line), in: rig.records) == "A line (Flat white) on Table 4's order")
        #expect(await SyncWords.name(of: EntityKey("table_state", SyncRig.table), in: rig.records) == "Table 4")
        #expect(await SyncWords.name(of: EntityKey("order", "00000000-0000-4000-8000-000000000000"), in: rig.records) == "An order")
    }
}
