import FynloPOSCore
import FynloPOSTesting
import FynloSyncCore
import Testing

/// One table's evening, screen by screen, as the models run it: a story to read before the
/// individual flows' tests.
@Suite("a table's evening")
@MainActor
struct OrderServiceTests {
    @Test func seatOrderSendCorrectSplitPayAndClear() async throws {
        // The restaurant: two rooms, a short menu, the soup counted, the fish 86'd.
        var venue = VenueFixture()
        let window = venue.table("W1", seats: 4, area: "Window")
        let booth = venue.table("B1", seats: 6, area: "Booths")
        let starters = venue.category("Starters", position: 1)
        let mains = venue.category("Mains", position: 2)
        let cooking = venue.group("Cooking", min: 1, max: 1)
        let medium = venue.modifier("Medium", in: cooking)
        let soup = venue.product("Soup", price: 650, vatRateBp: 2000, category: starters)
        let steak = venue.product("Steak", price: 2450, category: mains, groups: [cooking])
        let fish = venue.product("Fish", price: 1895, category: mains)
        venue.availability(of: soup, remaining: 5)
        venue.availability(of: fish, soldOut: true)
        let till = await TestTill(venue, prefix: "A", approvals: .refuse)
        let floor = till.floor(), menu = till.menu(), entry = till.entry(), bill = till.bill()

        // 19:00 A party of two sits at the window, then asks for a booth.
        try await floor.seat(window, covers: 2)
        try await floor.move(from: window, to: booth)
        #expect(floor.areas.map(\.name) == ["Booths", "Window"])
        #expect(floor.table(booth)?.status == .seated)

        // The order: soup each to start, a steak for seat 1; the fish is off.
        try await entry.open(table: booth)
        try await menu.reload()
        #expect(menu.menu.products[fish]?.availability == .soldOut)
        entry.course = 1
        for seat in [1, 2] {
            entry.seat = seat
            menu.choose(try #require(menu.menu.products[soup]))
            try await entry.add(try #require(menu.choice))
        }
        entry.seat = 1
        entry.course = 2
        menu.choose(try #require(menu.menu.products[steak]))
        var steakChoice = try #require(menu.choice)
        #expect(!steakChoice.isReady)  // how it is cooked, first
        steakChoice.toggle(try #require(steakChoice.groups.first?.modifiers.first { $0.id == medium }))
        try await entry.add(steakChoice, notes: "no salt")
        menu.choose(try #require(menu.menu.products[fish]))
        #expect(menu.refusal == .soldOut(product: "Fish"))
        try await entry.send()
        try await floor.reload()
        #expect(floor.table(booth)?.status == .ordered)
        #expect(entry.order?.number == "A-0001")
        #expect(entry.linesByCourse.map { $0.lines.count } == [2, 1])

        // Seat 2 changes their mind about the soup: it was sent, so a manager must approve.
        let secondSoup = try #require(entry.order?.lines.first { $0.seat == 2 }?.id)
        await #expect(throws: OrderRefusal.notApproved(.ordersVoid)) { try await entry.voidLine(secondSoup) }
        await till.gate.answer(.approve(approverID: "manager-1"))
        try await entry.voidLine(secondSoup)

        // The bill: 650 + 2450 = 3100, 12.5 % service (387.5 → 388), split by seat.
        try await bill.load(try #require(entry.order?.id))
        try await bill.setServiceCharge(basisPoints: 1250)
        try await bill.present()
        try bill.split(.bySeat)
        #expect(bill.totals?.totalDue == 3488)
        #expect(bill.parts.map(\.label) == ["Seat 1"])  // seat 2 has nothing left to pay for
        try bill.split(.equally(2))
        #expect(bill.parts.map(\.total) == [1744, 1744])

        // Half in cash; the rest comes by card and the server marks the order paid.
        try await till.records.record(
            ChangeDraft(
                entityType: "cash_payment", entityID: "1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9",
                fields: [
                    "order_id": .string(try #require(entry.order?.id)), "amount": 1744, "tendered": 2000,
                    "currency": "GBP", "taken_at": "2026-01-01T20:15:00Z",
                ]))
        try await bill.reload()
        #expect(bill.due == 1744)
        await till.pushed()
        var server = VenueFixture(seed: 2)
        server.entity(
            "order", ["number": "A-0001", "device_prefix": "A", "device_seq": 1, "status": "paid"],
            id: try #require(entry.order?.id))
        await server.seed(till.store)
        try await bill.reload()
        try await floor.reload()
        #expect(bill.due == 0)
        #expect(floor.table(booth)?.status == .paid)

        // They leave; the booth is ready for the next party. Three soups are left.
        try await floor.clear(booth)
        #expect(floor.allTables.allSatisfy { $0.status == .free })
        try await menu.reload()
        #expect(menu.menu.products[soup]?.availability == .remaining(3))
    }
}
