import FynloPOSCore
import FynloPOSTesting
import FynloSyncCore
import Testing

/// A floor of five tables in two areas, and a menu of one dish.
struct FloorVenue {
    var venue = VenueFixture()
    let t1: String, t2: String, t3: String, t4: String, patio: String
    let soup: String

    init() {
        t1 = venue.table("T1", seats: 2)
        t2 = venue.table("T2", seats: 4)
        t3 = venue.table("T3", seats: 4)
        t4 = venue.table("T4", seats: 6)
        patio = venue.table("P1", seats: 4, area: "Patio")
        soup = venue.product("Soup", price: 650)
    }
}

@Suite("floor")
@MainActor
struct FloorTests {
    @Test func tablesShowByAreaFreeUntilSeated() async throws {
        let fixture = FloorVenue()
        let floor = await TestTill(fixture.venue).floor()
        try await floor.reload()

        #expect(floor.areas.map(\.name) == ["Floor", "Patio"])
        #expect(floor.areas[0].tables.map(\.table.name) == ["T1", "T2", "T3", "T4"])
        #expect(floor.allTables.allSatisfy { $0.status == .free && $0.covers == 0 && $0.orderID == nil })
    }

    @Test func aTableGoesFreeSeatedOrderedPaidAndIsClearedForTheNextParty() async throws {
        let fixture = FloorVenue()
        let till = await TestTill(fixture.venue)
        let floor = till.floor()
        try await floor.seat(fixture.t2, covers: 3)
        #expect(floor.table(fixture.t2)?.status == .seated)
        #expect(floor.table(fixture.t2)?.covers == 3)
        #expect(try await till.records.entity(.init("table_state", fixture.t2))?.data == [
            "status": "seated", "covers": 3, "order_id": nil,
        ])

        let entry = till.entry()
        try await entry.open(table: fixture.t2)
        let order = try #require(entry.order)
        try await floor.reload()
        #expect(floor.table(fixture.t2)?.status == .seated)  // a bill, nothing sent yet
        #expect(floor.table(fixture.t2)?.orderNumber == "A-0001")
        #expect(order.covers == 3 && order.tableID == fixture.t2)

        try await till.orders.addLine(to: order.id, productID: fixture.soup, quantity: 3)
        try await entry.send()
        try await floor.reload()
        #expect(floor.table(fixture.t2)?.status == .ordered)
        #expect(try await till.records.entity(.init("table_state", fixture.t2))?.data["status"] == "ordered")

        // The iPad's changes are in; then the server marks the order paid once payments cover
        // it, and the floor reads it there.
        await till.pushed()
        var paid = VenueFixture(seed: 3)
        paid.entity("order", ["number": "A-0001", "status": "paid", "device_prefix": "A", "device_seq": 1], id: order.id)
        await paid.seed(till.store)
        try await floor.reload()
        #expect(floor.table(fixture.t2)?.status == .paid)

        try await floor.clear(fixture.t2)
        #expect(floor.table(fixture.t2)?.status == .free)
        #expect(floor.table(fixture.t2)?.orderID == nil)
        // Cleared by a write, never a delete (a concurrent delete would beat another seat).
        #expect(await till.outbox().filter { $0.entityType == "table_state" }.allSatisfy { $0.op == .upsert })
    }

    @Test func paymentUnderWayAndTablesLeftDirtyShowAsTheOtherIpadsSetThem() async throws {
        var fixture = FloorVenue()
        fixture.venue.entity("table_state", ["status": "paying", "covers": 2, "order_id": nil], id: fixture.t1)
        fixture.venue.entity("table_state", ["status": "dirty", "covers": 0, "order_id": nil], id: fixture.t3)
        let till = await TestTill(fixture.venue)
        let floor = till.floor()
        try await floor.reload()

        #expect(floor.table(fixture.t1)?.status == .paying)
        #expect(floor.table(fixture.t3)?.status == .dirty)
        // A dirty table can take the next party; a taken one cannot.
        try await floor.seat(fixture.t3, covers: 2)
        await #expect(throws: FloorRefusal.tableTaken(fixture.t1)) { try await floor.seat(fixture.t1, covers: 2) }
        await #expect(throws: FloorRefusal.invalidCovers(0)) { try await floor.seat(fixture.t2, covers: 0) }
    }

    @Test func aPartyMovesWithItsBillToAFreeTable() async throws {
        let fixture = FloorVenue()
        let till = await TestTill(fixture.venue)
        let floor = till.floor()
        try await floor.seat(fixture.t1, covers: 2)
        let entry = till.entry()
        try await entry.open(table: fixture.t1)
        let orderID = try #require(entry.order?.id)
        try await floor.seat(fixture.t3, covers: 4)

        await #expect(throws: FloorRefusal.tableTaken(fixture.t3)) { try await floor.move(from: fixture.t1, to: fixture.t3) }
        await #expect(throws: FloorRefusal.tableEmpty(fixture.t2)) { try await floor.move(from: fixture.t2, to: fixture.t4) }
        try await floor.move(from: fixture.t1, to: fixture.patio)

        #expect(floor.table(fixture.t1)?.status == .free)
        #expect(floor.table(fixture.patio)?.status == .seated)
        #expect(floor.table(fixture.patio)?.covers == 2)
        #expect(floor.table(fixture.patio)?.orderID == orderID)
        try await entry.load(orderID)
        #expect(entry.order?.tableID == fixture.patio)
    }

    @Test func mergedTablesShareOneBillWithTheCoversOnTheMainTable() async throws {
        let fixture = FloorVenue()
        let till = await TestTill(fixture.venue)
        let floor = till.floor()
        try await floor.seat(fixture.t2, covers: 4)
        let entry = till.entry()
        try await entry.open(table: fixture.t2)
        let orderID = try #require(entry.order?.id)
        try await till.orders.addLine(to: orderID, productID: fixture.soup)
        try await till.orders.send(orderID)
        try await floor.seat(fixture.t3, covers: 3)

        try await floor.merge(main: fixture.t2, with: [fixture.t3, fixture.t4])

        for table in [fixture.t2, fixture.t3, fixture.t4] {
            #expect(floor.table(table)?.orderID == orderID)
            #expect(floor.table(table)?.status == .ordered)
        }
        #expect(floor.table(fixture.t2)?.covers == 7)
        #expect(floor.table(fixture.t3)?.covers == 0)
        #expect(floor.table(fixture.t2)?.mergedWith == ["T3", "T4"])
        #expect(floor.table(fixture.t4)?.mergedWith == ["T2", "T3"])
        try await entry.load(orderID)
        #expect(entry.order?.covers == 7 && entry.order?.tableID == fixture.t2)
        // Any table of the group opens the same bill.
        let other = till.entry()
        try await other.open(table: fixture.t4)
        #expect(other.order?.id == orderID)
    }

    @Test func mergingTablesWithNoBillOpensOneAndTwoBillsCannotMerge() async throws {
        let fixture = FloorVenue()
        let till = await TestTill(fixture.venue)
        let floor = till.floor()
        try await floor.seat(fixture.t1, covers: 2)
        try await floor.seat(fixture.t2, covers: 2)

        try await floor.merge(main: fixture.t1, with: [fixture.t2])
        let orderID = try #require(floor.table(fixture.t1)?.orderID)
        #expect(floor.table(fixture.t2)?.orderID == orderID)
        #expect(floor.table(fixture.t1)?.orderNumber == "A-0001")

        try await floor.seat(fixture.t3, covers: 2)
        try await till.entry().open(table: fixture.t3)
        await #expect(throws: FloorRefusal.twoBills) { try await floor.merge(main: fixture.t1, with: [fixture.t3]) }
        await #expect(throws: FloorRefusal.mergeNeedsTwoTables) { try await floor.merge(main: fixture.t1, with: [fixture.t1]) }
    }
}

@Suite("floor: leaving a merged group")
@MainActor
struct FloorGroupTests {
    @Test func aTableLeavesTheGroupAndClearingOneClearsThemAll() async throws {
        let fixture = FloorVenue()
        let till = await TestTill(fixture.venue)
        let floor = till.floor()
        try await floor.seat(fixture.t1, covers: 6)
        try await floor.merge(main: fixture.t1, with: [fixture.t2, fixture.t3])

        await #expect(throws: FloorRefusal.mainTableOfGroup(fixture.t1)) { try await floor.detach(fixture.t1) }
        await #expect(throws: FloorRefusal.notMerged(fixture.t4)) { try await floor.detach(fixture.t4) }
        try await floor.detach(fixture.t3)
        #expect(floor.table(fixture.t3)?.status == .free)
        #expect(floor.table(fixture.t1)?.mergedWith == ["T2"])

        try await floor.clear(fixture.t2)
        #expect(floor.allTables.allSatisfy { $0.status == .free })
    }
}
