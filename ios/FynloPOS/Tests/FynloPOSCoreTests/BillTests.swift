import FynloPOSCore
import FynloPOSTesting
import FynloSyncCore
import FynloSyncTesting
import Testing

/// Four dishes at a table of three, on seats 1, 2, 2 and none (a sharing plate).
@MainActor
struct BillTable {
    let till: TestTill
    let orderID: String
    let steak: String, wine: String, salad: String, bread: String

    init(serviceChargeBp: Int = 1250, tip: Int = 0) async throws {
        var venue = VenueFixture()
        let steakDish = venue.product("Steak", price: 2450)
        let wineDish = venue.product("Wine", price: 795)
        let saladDish = venue.product("Salad", price: 995, vatRateBp: 500)
        let breadDish = venue.product("Bread", price: 450, vatRateBp: 0)
        let table = venue.table("T5", seats: 4)
        till = await TestTill(venue)
        try await till.floor().seat(table, covers: 3)
        let orders = till.orders
        orderID = try await orders.open(tableID: table, covers: 3)
        steak = try await orders.addLine(to: orderID, productID: steakDish, seat: 1, course: 2)
        wine = try await orders.addLine(to: orderID, productID: wineDish, quantity: 2, seat: 2)
        salad = try await orders.addLine(to: orderID, productID: saladDish, seat: 2, course: 1)
        bread = try await orders.addLine(to: orderID, productID: breadDish)
        try await orders.setServiceCharge(orderID, basisPoints: serviceChargeBp)
        try await orders.setTip(orderID, pence: tip)
    }

    func bill() async throws -> BillModel {
        let bill = till.bill()
        try await bill.load(orderID)
        return bill
    }
}

@Suite("bill")
@MainActor
struct BillTests {
    @Test func theTotalsAreTheServersWithVatPerRateServiceAndTip() async throws {
        let table = try await BillTable(tip: 300)
        let bill = try await table.bill()
        let totals = try #require(bill.totals)

        // 2450 + 2 × 795 + 995 + 450 = 5485; service 12.5 % = 685.625 → 686; tip 300.
        #expect(totals.subtotal == 5485)
        #expect(totals.serviceCharge == 686 && totals.tip == 300 && totals.totalDue == 6471)
        #expect(totals.vat.map(\.rateBp) == [0, 500, 2000])
        #expect(totals.vat.map(\.vat) == [0, 47, 673])  // 995 × 5/105 = 47.38; 4040 / 6 = 673.33
        #expect(bill.parts.map(\.total) == [6471])
        #expect(bill.due == 6471 && bill.paid == 0)
    }

    @Test func splitEquallyLeavesNoPennyOut() async throws {
        let table = try await BillTable(tip: 100)
        let bill = try await table.bill()
        try bill.split(.equally(3))

        #expect(bill.parts.map(\.label) == ["Guest 1", "Guest 2", "Guest 3"])
        #expect(bill.parts.map(\.total).reduce(0, +) == bill.totals?.totalDue)
        let totals = bill.parts.map(\.total)
        #expect(totals.max()! - totals.min()! <= 2)  // goods, service and tip pence go round
        #expect(throws: BillRefusal.noParts) { try bill.split(.equally(0)) }
    }

    @Test func splitBySeatGivesTheSharedPlateItsOwnPart() async throws {
        let table = try await BillTable()
        let bill = try await table.bill()
        try bill.split(.bySeat)

        #expect(bill.parts.map(\.label) == ["Seat 1", "Seat 2", "Table"])
        #expect(bill.parts.map(\.lineIDs) == [[table.steak], [table.wine, table.salad], [table.bread]])
        #expect(bill.parts.map(\.goods) == [2450, 2585, 450])
        #expect(bill.parts.map(\.serviceCharge).reduce(0, +) == 686)
        #expect(bill.parts.map(\.total).reduce(0, +) == bill.totals?.totalDue)
    }

    @Test func splitByItemsTakesEveryLiveLineExactlyOnce() async throws {
        let table = try await BillTable(tip: 250)
        try await table.till.orders.voidLine(table.bread, in: table.orderID)
        let bill = try await table.bill()

        #expect(throws: BillRefusal.linesLeftOut([table.salad].sorted())) {
            try bill.split(.byItems([[table.steak], [table.wine]]))
        }
        #expect(throws: BillRefusal.lineTwice(table.steak)) {
            try bill.split(.byItems([[table.steak], [table.steak, table.wine, table.salad]]))
        }
        #expect(throws: BillRefusal.unknownLine("nope")) { try bill.split(.byItems([["nope"]])) }
        // The voided bread may be left out.
        try bill.split(.byItems([[table.steak, table.salad], [table.wine]]))
        #expect(bill.parts.map(\.goods) == [3445, 1590])
        #expect(bill.parts.map(\.total).reduce(0, +) == bill.totals?.totalDue)
        #expect(bill.split == .byItems([[table.steak, table.salad], [table.wine]]))
    }

    @Test func aSplitThatNoLongerFitsFallsBackToTheWholeBill() async throws {
        let table = try await BillTable()
        let bill = try await table.bill()
        try bill.split(.byItems([[table.steak, table.bread], [table.wine, table.salad]]))
        let extra = try await table.till.orders.addLine(
            to: table.orderID, productID: try #require(table.till.records.entity(.init("order_line", table.wine))?.data["product_id"]?.stringValue))
        try await bill.reload()

        #expect(bill.split == .whole)
        #expect(bill.parts.first?.lineIDs.contains(extra) == true)
    }

    @Test(arguments: 0..<40)
    func everySplitOfARandomBillSumsToItToThePenny(_ seed: Int) throws {
        var random = SeededGenerator(seed: UInt64(seed) + 1)
        let lines = (0..<Int.random(in: 1...9, using: &random)).map { index in
            var line = Pricing.Line(
                lineID: "l\(index)", unitPrice: Int.random(in: 1...5000, using: &random),
                quantity: Int.random(in: 1...4, using: &random),
                vatRateBp: [0, 500, 2000].randomElement(using: &random)!)
            if Bool.random(using: &random) { line.discount = .init(kind: .percent, value: Int.random(in: 0...3000, using: &random)) }
            line.voided = Int.random(in: 0..<8, using: &random) == 0
            return line
        }
        let seats = lines.map { _ in [nil, 1, 2, 3].randomElement(using: &random)! }
        let order = TestOrders.order(
            lines, seats: seats, discount: .init(kind: .fixed, value: Int.random(in: 0...2000, using: &random)),
            serviceChargeBp: Int.random(in: 0...2000, using: &random), tip: Int.random(in: 0...999, using: &random))
        let due = order.totals.totalDue

        for count in 1...7 {
            #expect(try Bill.parts(of: order, .equally(count)).reduce(0) { $0 + $1.total } == due)
            #expect(Bill.shares(of: due, count: count).reduce(0, +) == due)
        }
        #expect(try Bill.parts(of: order, .bySeat).reduce(0) { $0 + $1.total } == due)
        let live = order.liveLines.map(\.id)
        let halves = [Array(live.prefix(live.count / 2)), Array(live.dropFirst(live.count / 2))]
        #expect(try Bill.parts(of: order, .byItems(halves)).reduce(0) { $0 + $1.total } == due)
    }

    @Test func partsHaveIdsThatSayHowTheBillWasSplit() async throws {
        let table = try await BillTable()
        let bill = try await table.bill()
        #expect(bill.parts.map(\.id) == ["whole"])
        try bill.split(.equally(3))
        #expect(bill.parts.map(\.id) == ["equally/3/1", "equally/3/2", "equally/3/3"])
        try bill.split(.bySeat)
        #expect(bill.parts.map(\.id) == ["seat/1", "seat/2", "seat/table"])
        try bill.split(.byItems([[table.wine, table.steak], [table.salad, table.bread]]))
        #expect(bill.parts.map(\.id) == [
            "items/" + [table.wine, table.steak].sorted().joined(separator: ","),
            "items/" + [table.salad, table.bread].sorted().joined(separator: ","),
        ])
        for part in ["whole", "equally/3/2", "seat/table"] { #expect(BillSplit(partID: part) != nil) }
        #expect(BillSplit(partID: "equally/3/2") == .equally(3))
        #expect(BillSplit(partID: "items/a,b") == nil && BillSplit(partID: "Guest 1") == nil)
    }

    @Test func aPaidPartIsPaidAndTheRestShareWhatIsLeft() throws {
        // 1000 in three: 334, 333, 333.
        let order = TestOrders.order(
            [Pricing.Line(lineID: "a", unitPrice: 600, quantity: 1, vatRateBp: 2000),
             Pricing.Line(lineID: "b", unitPrice: 400, quantity: 1, vatRateBp: 2000)],
            seats: [1, 2], discount: nil, serviceChargeBp: 0, tip: 0)
        let thirds = try Bill.parts(of: order, .equally(3))
        #expect(thirds.map(\.total) == [334, 333, 333])
        let second = RecordedPayment(id: "p1", method: .cash, amount: 333, partID: "equally/3/2")

        let settled = Bill.settle(thirds, of: order, payments: [second])
        #expect(settled.map(\.paid) == [0, 333, 0] && settled.map(\.due) == [334, 0, 333])
        #expect(settled.map(\.isPaid) == [false, true, false])

        // Split again two ways: that payment is no part of these; the two share the 667 left.
        let halves = Bill.settle(try Bill.parts(of: order, .equally(2)), of: order, payments: [second])
        #expect(halves.map(\.due) == [334, 333] && halves.map(\.paid) == [0, 0])
        // By seat: seat 1 (600) and seat 2 (400) share it by weight: 400.2 and 266.8.
        let seats = Bill.settle(try Bill.parts(of: order, .bySeat), of: order, payments: [second])
        #expect(seats.map(\.due) == [400, 267])

        // A guest who paid short owes the rest; one who paid over lightens the others.
        let short = RecordedPayment(id: "p2", method: .online, amount: 300, partID: "equally/3/1")
        #expect(Bill.settle(thirds, of: order, payments: [short]).map(\.due) == [34, 333, 333])
        let over = RecordedPayment(id: "p3", method: .cash, amount: 400, partID: "equally/3/1")
        let lighter = Bill.settle(thirds, of: order, payments: [over])
        #expect(lighter.map(\.due) == [0, 300, 300])
    }

    @Test(arguments: 0..<40)
    func aBillSplitAfterPaymentsStillSumsToWhatIsLeft(_ seed: Int) throws {
        var random = SeededGenerator(seed: UInt64(seed) + 100)
        let lines = (0..<Int.random(in: 1...8, using: &random)).map { index in
            Pricing.Line(
                lineID: "l\(index)", unitPrice: Int.random(in: 1...5000, using: &random),
                quantity: Int.random(in: 1...3, using: &random), vatRateBp: 2000)
        }
        let seats = lines.map { _ in [nil, 1, 2, 3].randomElement(using: &random)! }
        let order = TestOrders.order(
            lines, seats: seats, discount: nil, serviceChargeBp: Int.random(in: 0...1500, using: &random),
            tip: Int.random(in: 0...500, using: &random))
        let total = order.totals.totalDue
        let splits: [BillSplit] = [.whole, .equally(2), .equally(3), .equally(5), .bySeat]
        // Payments taken for parts of one split, some of another, some from another iPad.
        let partIDs: [String?] = try splits.flatMap { try Bill.parts(of: order, $0).map(\.id) } + [nil]
        var payments: [RecordedPayment] = []
        var left = total
        while left > 0, payments.count < Int.random(in: 0...4, using: &random) {
            let amount = Int.random(in: 1...max(1, left), using: &random)
            payments.append(
                RecordedPayment(id: "p\(payments.count)", method: .cash, amount: amount, partID: partIDs.randomElement(using: &random)!))
            left -= amount
        }
        for split in splits {
            let parts = Bill.settle(try Bill.parts(of: order, split), of: order, payments: payments)
            #expect(parts.reduce(0) { $0 + $1.due } == Bill.due(of: order, payments: payments), "\(split)")
            #expect(parts.allSatisfy { $0.due >= 0 && $0.due <= max($0.total, Bill.due(of: order, payments: payments)) })
            for part in parts {
                #expect(part.paid == payments.filter { $0.partID == part.id }.reduce(0) { $0 + $1.amount })
            }
        }
    }

    @Test func whatIsStillDueFollowsThePaymentsTheIpadCanSee() async throws {
        let table = try await BillTable()
        let bill = try await table.bill()
        let due = bill.due  // 6171
        #expect(due == 6171)
        let records = table.till.records
        try await records.record(
            ChangeDraft(
                entityType: "cash_payment", entityID: "6d1c7e2a-5b4f-4a3e-9c8d-1e2f3a4b5c6d",
                fields: [
                    "order_id": .string(table.orderID), "amount": 2000, "tip": 200, "tendered": 2500,
                    "currency": "GBP", "taken_at": "2026-01-01T00:00:00Z",
                ]))
        try await records.record(
            ChangeDraft(
                entityType: "offline_card_payment", entityID: "7e2d8f3b-6c5a-4b4f-8d9e-2f3a4b5c6d7e",
                fields: [
                    "order_id": .string(table.orderID), "amount": 1500, "currency": "GBP",
                    "stored_at": "2026-01-01T00:00:00Z",
                ]))
        try await bill.reload()

        #expect(bill.payments.map(\.method) == [.cash, .offlineCard])
        #expect(bill.paid == 3500)  // a payment's own tip is not towards the bill
        #expect(bill.tipsOnPayments == 200)
        #expect(bill.due == due - 3500)
        #expect(Bill.shares(of: bill.due, count: 2) == [1336, 1335])

        // The server marks it paid once the rest is in (a card online, say).
        await table.till.pushed()
        var paid = VenueFixture(seed: 8)
        paid.entity("order", ["number": "A-0001", "device_prefix": "A", "device_seq": 1, "status": "paid"], id: table.orderID)
        await paid.seed(table.till.store)
        try await bill.reload()
        #expect(bill.due == 0)
    }

    @Test func serviceChargeAndTipAreSetOnTheBill() async throws {
        let table = try await BillTable(serviceChargeBp: 0)
        let bill = try await table.bill()
        try await bill.setServiceCharge(basisPoints: 1000)
        try await bill.setTip(pence: 500)

        #expect(bill.totals?.serviceCharge == 549)  // 5485 × 10 % = 548.5 → 549
        #expect(bill.totals?.totalDue == 5485 + 549 + 500)
        await #expect(throws: OrderRefusal.invalidServiceCharge(10_001)) { try await bill.setServiceCharge(basisPoints: 10_001) }
    }
}

/// Orders built straight from pricing lines, for arithmetic tests with no store.
enum TestOrders {
    static func order(
        _ lines: [Pricing.Line], seats: [Int?], discount: Pricing.Discount?, serviceChargeBp: Int, tip: Int
    ) -> Order {
        Order(
            id: "o", number: "A-0001", status: .open, tableID: nil, covers: 0, notes: "", discount: discount,
            discountReason: "", serviceChargeBp: serviceChargeBp, tip: tip,
            lines: zip(lines, seats).enumerated().map { index, pair in
                OrderLine(
                    id: pair.0.lineID, orderID: "o", productID: nil, name: pair.0.lineID, unitPrice: pair.0.unitPrice,
                    quantity: pair.0.quantity, vatRateBp: pair.0.vatRateBp, modifiers: [], discount: pair.0.discount,
                    voided: pair.0.voided, notes: "", position: index, seat: pair.1, course: nil)
            })
    }
}
