import Foundation
import FynloPOSCore
import FynloPOSTesting
import FynloSyncCore
import FynloSyncHTTP
import FynloSyncTesting
import Testing

/// Order entry against the real server: what the iPad shows is what the server stores and
/// charges, to the penny, for an order taken with modifiers, seats, courses, a discount, a
/// line taken back before sending (in the same batch as the send) and a merged table.
///
/// It spends enrolment code 4 of `FYNLO_SYNC_ENROLMENT_CODES` (the index list is in
/// `tests/swift_harness.py`, beside `ENROLMENT_CODES`).
@Suite("live: order entry", .enabled(if: LiveServer.isConfigured), .serialized)
@MainActor
struct OrderLiveTests {
    @Test func anOrderTakenOnTheIpadIsTheServersToThePenny() async throws {
        let url = try #require(LiveServer.url)
        let codes = (LiveServer.environment["FYNLO_SYNC_ENROLMENT_CODES"] ?? "").split(separator: ",").map(String.init)
        let index = 4
        try #require(codes.indices.contains(index), "FYNLO_SYNC_ENROLMENT_CODES has no code \(index)")
        let client = JSONHTTPClient(baseURL: url, timeout: 20)
        let enrolment = try await client.enrol(code: codes[index], name: "Order till")
        let store = InMemorySyncStore(deviceID: enrolment.deviceID)
        let token = enrolment.accessToken
        let engine = SyncEngine(
            configuration: .init(deviceID: enrolment.deviceID, appVersion: "order-live"), store: store,
            transport: URLSessionTransport(client: client, token: { token }))
        let records = SyncedRecords(reader: store, engine: engine)
        #expect(await engine.requestSync() == .synced)

        let gate = ScriptedApprovalGate(.refuse, records: records)
        let orders = Orders(records: records, numbers: DeviceOrderNumbers(prefix: enrolment.prefix, records: records), approvals: gate)
        let floor = FloorModel(records: records, orders: orders)
        let menu = MenuModel(records: records, locationID: enrolment.locationID)
        let entry = OrderEntryModel(records: records, orders: orders)
        try await floor.reload()
        try await menu.reload()
        let free = floor.allTables.filter { $0.status == .free }
        #expect(free.count >= 2)
        let (main, other) = (free[0].id, free[1].id)

        try await floor.seat(main, covers: 3)
        try await floor.seat(other, covers: 1)
        try await floor.merge(main: main, with: [other])
        try await entry.open(table: main)
        let steak = try #require(menu.menu.products.values.first { $0.name == "Ribeye steak" })
        menu.choose(steak)
        var choice = try #require(menu.choice)
        for group in choice.groups {
            for modifier in group.modifiers.prefix(max(group.minChoices, min(1, group.maxChoices))) { choice.toggle(modifier) }
        }
        #expect(choice.isReady)
        entry.seat = 1
        entry.course = 2
        try await entry.add(choice, extras: ["no salt"], notes: "sauce on the side")
        let others = menu.menu.products.values.filter { $0.modifierGroupIDs.isEmpty && !$0.availability.isSoldOut }
            .sorted { $0.name < $1.name }
        entry.seat = 2
        entry.course = 1
        for product in others.prefix(3) {
            menu.choose(product)
            var plain = try #require(menu.choice)
            plain.quantity = 2
            try await entry.add(plain)
        }
        let mistake = try #require(entry.order?.lines.last?.id)
        try await entry.voidLine(mistake)
        try await entry.discountOrder(.init(kind: .percent, value: 1000), reason: "regular")
        try await entry.setServiceCharge(basisPoints: 1250)
        try await entry.setTip(pence: 150)
        try await entry.send()
        let order = try #require(entry.order)

        #expect(await engine.requestSync() == .synced)
        let refused = await store.deadLetters().map { "\($0.change.entityType) \($0.reason) \($0.detail ?? "")" }
        #expect(refused.isEmpty, "\(refused)")
        let manager = try await LiveServer.managerToken()
        let reply = try await client.send("GET", "/api/v1/orders/\(order.id)", bearer: manager)
        let server = try #require(reply.body)
        let totals = order.totals
        #expect(server["number"].stringValue == order.number)
        #expect(server["status"] == "sent")
        #expect(server["total_due"].intValue == totals.totalDue)
        #expect(server["subtotal"].intValue == totals.subtotal)
        #expect(server["vat_total"].intValue == totals.vatTotal)
        #expect(server["service_charge"].intValue == totals.serviceCharge)
        #expect(server["discount_total"].intValue == totals.discountTotal)
        let lines = server["lines"].arrayValue ?? []
        #expect(lines.count == order.lines.count)
        for line in lines {
            let mine = try #require(order.line(line["id"].stringValue ?? ""))
            #expect(line["seat"].intValue == mine.seat)
            #expect(line["course"].intValue == mine.course)
            #expect(line["voided"].boolValue == mine.voided)
            #expect(line["total"].intValue == totals.lines.first { $0.lineID == mine.id }?.total)
        }
        try await floor.reload()
        #expect(floor.table(main)?.status == .ordered && floor.table(other)?.orderID == order.id)
        print("live order \(order.number): total due \(totals.totalDue), lines \(order.lines.count)")
    }
}
