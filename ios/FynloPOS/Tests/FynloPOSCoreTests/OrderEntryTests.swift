import FynloPOSCore
import FynloPOSTesting
import FynloSyncCore
import FynloSyncTesting
import Testing

/// A table, a burger with a required cooking and optional extras, and a pint.
struct OrderVenue {
    var venue = VenueFixture()
    let table: String
    let burger: String, rare: String, cheese: String, pint: String

    init() {
        table = venue.table("T1", seats: 4)
        let cooking = venue.group("Cooking", min: 1, max: 1)
        rare = venue.modifier("Rare", in: cooking)
        let extras = venue.group("Extras", min: 0, max: 3)
        cheese = venue.modifier("Cheese", in: extras, delta: 100)
        burger = venue.product("Burger", price: 1250, groups: [cooking, extras])
        pint = venue.product("Pint", price: 575)
    }
}

@Suite("order entry")
@MainActor
struct OrderEntryTests {
    @Test func anOrderIsNumberedByThisIpadAsTheServerExpects() async throws {
        let fixture = OrderVenue()
        let till = await TestTill(fixture.venue, prefix: "B")
        try await till.floor().seat(fixture.table, covers: 2)
        let entry = till.entry()
        try await entry.open(table: fixture.table)

        let order = try #require(entry.order)
        #expect(order.number == "B-0001" && order.status == .open)
        let created = try #require(await till.outbox().first { $0.entityType == "order" })
        #expect(created.fields == [
            "number": "B-0001", "device_prefix": "B", "device_seq": 1, "opened_at": "2026-01-01T00:00:00Z",
            "status": "open", "covers": 2, "table_id": .string(fixture.table),
        ])
        #expect(try await till.records.entity(.init("table_state", fixture.table))?.data["order_id"] == .string(order.id))
        // The same table opens the same bill; the next bill gets the next number.
        try await till.entry().open(table: fixture.table)
        #expect(try await till.orders.open(tableID: nil, covers: 0) != order.id)
        let numbers = await till.outbox().filter { $0.entityType == "order" }.compactMap { $0.fields["number"]?.stringValue }
        #expect(numbers == ["B-0001", "B-0002"])
    }

    @Test func numberingCarriesOnFromTheOrdersTheIpadAlreadyHolds() async throws {
        var fixture = OrderVenue()
        // Orders this iPad took before a reinstall, pulled back; and another iPad's.
        fixture.venue.entity("order", ["number": "A-0041", "device_prefix": "A", "device_seq": 41, "status": "paid"])
        fixture.venue.entity("order", ["number": "C-0090", "device_prefix": "C", "device_seq": 90, "status": "open"])
        let till = await TestTill(fixture.venue, prefix: "A")
        let numbers = DeviceOrderNumbers(prefix: "A", records: till.records)

        async let first = numbers.next()
        async let second = numbers.next()
        let issued = try await [first, second].map(\.text).sorted()
        #expect(issued == ["A-0042", "A-0043"])
        #expect(OrderNumber(prefix: "XY", sequence: 12345).text == "XY-12345")
    }

    @Test func linesCarryModifiersNotesQuantitiesSeatsAndCourses() async throws {
        let fixture = OrderVenue()
        let till = await TestTill(fixture.venue)
        let menu = till.menu()
        try await menu.reload()
        let entry = till.entry()
        try await entry.openCounterSale()

        menu.choose(try #require(menu.menu.products[fixture.burger]))
        var burger = try #require(menu.choice)
        for modifier in burger.groups.flatMap(\.modifiers) { burger.toggle(modifier) }
        burger.quantity = 2
        entry.seat = 2
        entry.course = 2
        try await entry.add(burger, extras: ["no onions"], notes: "sauce on the side")
        menu.choose(try #require(menu.menu.products[fixture.pint]))
        entry.seat = 1
        entry.course = nil
        try await entry.add(try #require(menu.choice))

        let lines = await till.outbox().filter { $0.entityType == "order_line" }
        #expect(lines.count == 2)
        #expect(lines[0].fields == [
            "order_id": .string(try #require(entry.order?.id)), "product_id": .string(fixture.burger),
            "name": "Burger", "unit_price": 1250, "quantity": 2, "vat_rate_bp": 2000,
            "modifiers": [
                ["modifier_id": .string(fixture.rare), "name": "Rare", "price_delta": 0],
                ["modifier_id": .string(fixture.cheese), "name": "Cheese", "price_delta": 100],
                ["modifier_id": nil, "name": "no onions", "price_delta": 0],
            ],
            "position": 1, "notes": "sauce on the side", "seat": 2, "course": 2,
        ])
        #expect(lines[1].fields["seat"] == 1 && lines[1].fields["course"] == nil && lines[1].fields["position"] == 2)
        #expect(entry.totals?.totalDue == 2 * 1350 + 575)
        #expect(entry.linesByCourse.map(\.course) == [2, nil])

        let pint = try #require(entry.order?.lines.last?.id)
        try await entry.setQuantity(pint, to: 3)
        try await entry.setDetails(pint, notes: "one shandy", seat: .some(nil), course: 1)
        let line = try #require(entry.order?.line(pint))
        #expect(line.quantity == 3 && line.notes == "one shandy" && line.seat == nil && line.course == 1)
        #expect(await till.outbox().last?.fields == ["notes": "one shandy", "seat": nil, "course": 1])
        await #expect(throws: OrderRefusal.invalidQuantity(0)) { try await entry.setQuantity(pint, to: 0) }
        await #expect(throws: OrderRefusal.invalidSeat(0)) { try await entry.setDetails(pint, seat: 0) }
    }

    @Test func sendingPutsTheOrderInTheKitchenOnce() async throws {
        let fixture = OrderVenue()
        let till = await TestTill(fixture.venue)
        try await till.floor().seat(fixture.table, covers: 2)
        let entry = till.entry()
        try await entry.open(table: fixture.table)

        await #expect(throws: OrderRefusal.nothingToSend) { try await entry.send() }
        try await till.orders.addLine(to: try #require(entry.order?.id), productID: fixture.pint)
        try await entry.send()
        try await entry.send()
        #expect(entry.order?.status == .sent)
        let statuses = await till.outbox().filter { $0.entityType == "order" }.compactMap { $0.fields["status"] }
        #expect(statuses == ["open", "sent"])
    }

    @Test func smallDiscountsNeedNobodyAndLargerOnesAManager() async throws {
        let fixture = OrderVenue()
        let till = await TestTill(fixture.venue)
        let entry = till.entry()
        try await entry.openCounterSale()
        let orderID = try #require(entry.order?.id)
        let line = try await till.orders.addLine(to: orderID, productID: fixture.pint, quantity: 2)  // 11.50

        // Exactly 10 % off is a courtesy: nobody asked.
        try await entry.discountOrder(.init(kind: .percent, value: 1000), reason: "regular")
        try await entry.discountLine(line, .init(kind: .fixed, value: 115))
        #expect(await till.gate.questions.isEmpty)
        #expect(entry.order?.discount == .init(kind: .percent, value: 1000))

        // More is a comp: refused without a manager, and nothing is recorded.
        let before = await till.outbox().count
        await #expect(throws: OrderRefusal.notApproved(.ordersDiscountOverThreshold)) {
            try await entry.discountLine(line, .init(kind: .fixed, value: 116))
        }
        await #expect(throws: OrderRefusal.notApproved(.ordersDiscountOverThreshold)) {
            try await entry.discountOrder(.init(kind: .percent, value: 1500))
        }
        #expect(await till.outbox().count == before)
        #expect(await till.gate.questions.map(\.reason) == [
            "Discount 1.16 on Pint, order A-0001", "Discount 15% on order A-0001",
        ])

        // A manager approves: the change carries the approval.
        await till.gate.answer(.approve(approverID: "manager-1"))
        try await entry.discountOrder(.init(kind: .percent, value: 1500), reason: "birthday")
        let approved = try #require(await till.gate.approved.last)
        #expect(approved.permission == .ordersDiscountOverThreshold && approved.approverID == "manager-1")
        #expect(approved.fields == ["discount_kind": "percent", "discount_value": 1500, "discount_reason": "birthday"])
        #expect(entry.order?.discount == .init(kind: .percent, value: 1500))

        // A manager signed in holds the permission: no separate approval travels.
        await till.gate.answer(.held)
        try await entry.discountLine(line, .init(kind: .percent, value: 5000))
        #expect(await till.gate.approved.count == 1)
        // Taking a discount off needs nobody.
        try await entry.discountOrder(nil)
        #expect(entry.order?.discount == nil)
        await #expect(throws: OrderRefusal.invalidDiscount(.init(kind: .percent, value: 10_001))) {
            try await entry.discountOrder(.init(kind: .percent, value: 10_001))
        }
    }

    @Test func aLineIsFixedFreelyBeforeSendingAndVoidedWithApprovalAfter() async throws {
        let fixture = OrderVenue()
        let till = await TestTill(fixture.venue)
        let entry = till.entry()
        try await entry.openCounterSale()
        let orderID = try #require(entry.order?.id)
        let mistake = try await till.orders.addLine(to: orderID, productID: fixture.pint)
        let sent = try await till.orders.addLine(to: orderID, productID: fixture.pint, quantity: 2)

        try await entry.voidLine(mistake)
        #expect(await till.gate.questions.isEmpty)
        try await entry.send()
        await #expect(throws: OrderRefusal.notApproved(.ordersVoid)) { try await entry.voidLine(sent) }
        #expect(entry.order?.line(sent)?.voided == false)

        await till.gate.answer(.approve(approverID: "manager-1"))
        try await entry.voidLine(sent)
        #expect(entry.order?.line(sent)?.voided == true)
        #expect(entry.totals?.totalDue == 0)
        #expect(await till.gate.approved.map(\.fields) == [["voided": true]])
        #expect(await till.gate.questions.map(\.reason) == ["Void 2 × Pint, order A-0001", "Void 2 × Pint, order A-0001"])
    }

    @Test func anOrderIsVoidedOnlyWithApprovalAndNotWhileItHoldsMoney() async throws {
        let fixture = OrderVenue()
        let till = await TestTill(fixture.venue)
        try await till.floor().seat(fixture.table, covers: 2)
        let entry = till.entry()
        try await entry.open(table: fixture.table)
        let orderID = try #require(entry.order?.id)
        try await till.orders.addLine(to: orderID, productID: fixture.pint)

        await #expect(throws: OrderRefusal.notApproved(.ordersVoid)) { try await entry.voidOrder(reason: "walked out") }
        await till.gate.answer(.approve(approverID: "manager-1"))
        try await entry.voidOrder(reason: "walked out")

        #expect(entry.order?.status == .voided)
        let void = try #require(await till.gate.approved.last)
        #expect(void.fields["status"] == "voided" && void.fields["notes"] == "Void: walked out")
        #expect(void.fields["closed_at"] == "2026-01-01T00:00:00Z")
        // The party is still there, without a bill; the closed bill takes nothing more.
        let state = try await till.records.entity(.init("table_state", fixture.table))?.data
        #expect(state?["status"] == "seated" && state?["order_id"] == .some(.null))
        await #expect(throws: OrderRefusal.orderClosed(.voided)) {
            try await till.orders.addLine(to: orderID, productID: fixture.pint)
        }

        // Cash taken against a bill: refund it before voiding.
        let paidFor = try await till.orders.open(tableID: nil, covers: 1)
        try await till.orders.addLine(to: paidFor, productID: fixture.pint)
        try await till.records.record(
            ChangeDraft(
                entityType: "cash_payment", entityID: "0c2f1a4e-9d3b-4c51-8e7f-6a5b4c3d2e1f",
                fields: [
                    "order_id": .string(paidFor), "amount": 300, "tendered": 500, "currency": "GBP",
                    "taken_at": "2026-01-01T00:00:00Z",
                ]))
        await #expect(throws: OrderRefusal.holdsMoney(300)) { try await till.orders.voidOrder(paidFor, reason: "oops") }
    }
}

@Suite("order entry: open items and presenting the bill")
@MainActor
struct OrderOpenItemTests {
    @Test func anItemOffTheMenuNeedsAManagersPrice() async throws {
        let fixture = OrderVenue()
        let till = await TestTill(fixture.venue)
        let entry = till.entry()
        try await entry.openCounterSale()

        await #expect(throws: OrderRefusal.notApproved(.ordersPriceOverride)) {
            try await entry.addOpenItem(name: "Corkage", unitPrice: 1000, vatRateBp: 2000)
        }
        await #expect(throws: OrderRefusal.invalidOpenItem) {
            try await entry.addOpenItem(name: "", unitPrice: 1000, vatRateBp: 2000)
        }
        await till.gate.answer(.approve(approverID: "manager-1"))
        entry.seat = 3
        try await entry.addOpenItem(name: "Corkage", unitPrice: 1000, vatRateBp: 2000, quantity: 2)

        let approved = try #require(await till.gate.approved.first)
        #expect(approved.permission == .ordersPriceOverride && approved.key.entityType == "order_line")
        #expect(approved.fields["product_id"] == .some(.null) && approved.fields["seat"] == 3)
        #expect(entry.totals?.totalDue == 2000)
        #expect(await till.gate.questions.last?.reason == "2 × Corkage at 10.00, order A-0001")
    }

    @Test func presentingTheBillShowsEveryTableOfTheGroupPaying() async throws {
        var fixture = OrderVenue()
        let other = fixture.venue.table("T2")
        let till = await TestTill(fixture.venue)
        let floor = till.floor()
        try await floor.seat(fixture.table, covers: 2)
        try await floor.seat(other, covers: 2)
        try await floor.merge(main: fixture.table, with: [other])
        let orderID = try #require(floor.table(fixture.table)?.orderID)
        try await till.orders.addLine(to: orderID, productID: fixture.pint)
        try await till.orders.send(orderID)

        let bill = till.bill()
        try await bill.load(orderID)
        try await bill.present()
        try await floor.reload()
        #expect(floor.table(fixture.table)?.status == .paying)
        #expect(floor.table(other)?.status == .paying)
    }
}
