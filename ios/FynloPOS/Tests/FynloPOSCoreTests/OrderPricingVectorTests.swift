import FynloPOSCore
import FynloPOSTesting
import FynloSyncCore
import FynloSyncTesting
import Testing

/// Every case of shared/schema/vectors/pricing.json taken as a waiter would take it: a menu
/// with the case's dishes and modifiers, an order opened and filled through the order screen
/// (quantities, modifiers ticked, line and order discounts, voids, service charge, tip), then
/// the bill screen's totals and split compared with what the Python pricing module gives.
@Suite("order entry and the bill agree with pricing.json")
@MainActor
struct OrderPricingVectorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let json: JSONValue
        var testDescription: String { name }
    }

    nonisolated static let cases: [Case] = {
        guard let cases = (try? VectorLoader.load("pricing.json"))?["cases"].arrayValue else {
            return [Case(name: "missing pricing.json", json: .null)]
        }
        return cases.map { Case(name: $0["name"].stringValue ?? "?", json: $0) }
    }()

    @Test(arguments: cases)
    func theBillIsWhatTheServerWouldCharge(_ vector: Case) async throws {
        let input = vector.json["input"]
        let lines = try #require(input["lines"].arrayValue)
        // The menu: one dish per line, its modifiers in one optional group.
        var venue = VenueFixture()
        var dishes: [(product: String, modifiers: Set<String>)] = []
        for line in lines {
            let deltas = (line["modifier_deltas"].arrayValue ?? []).compactMap(\.intValue)
            let group = venue.group("Extras", min: 0, max: max(1, deltas.count))
            let modifiers = deltas.enumerated().map { index, delta in
                venue.modifier("extra \(index)", in: group, delta: delta, position: index)
            }
            let product = venue.product(
                line["line_id"].stringValue ?? "dish", price: try #require(line["unit_price"].intValue),
                vatRateBp: try #require(line["vat_rate_bp"].intValue), groups: deltas.isEmpty ? [] : [group])
            dishes.append((product, Set(modifiers)))
        }
        // A manager on the till: discounts of any size go through.
        let till = await TestTill(venue, approvals: .held)
        let menu = till.menu()
        try await menu.reload()
        let entry = till.entry()
        try await entry.openCounterSale()

        var names: [String: String] = [:]
        for (line, dish) in zip(lines, dishes) {
            menu.choose(try #require(menu.menu.products[dish.product]))
            var choice = try #require(menu.choice)
            for modifier in choice.groups.flatMap(\.modifiers) where dish.modifiers.contains(modifier.id) {
                choice.toggle(modifier)
            }
            choice.quantity = try #require(line["quantity"].intValue)
            try await entry.add(choice)
            let added = try #require(entry.order?.lines.last)
            names[added.id] = line["line_id"].stringValue
            if let discount = discount(line["discount"]) { try await entry.discountLine(added.id, discount) }
            if line["voided"].boolValue == true { try await entry.voidLine(added.id) }
        }
        if let discount = discount(input["order_discount"]) { try await entry.discountOrder(discount) }
        let bill = till.bill()
        try await bill.load(try #require(entry.order?.id))
        try await bill.setServiceCharge(basisPoints: input["service_charge_bp"].intValue ?? 0)
        try await bill.setTip(pence: input["tip"].intValue ?? 0)

        let ids = Dictionary(names.map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let split = input["split"]
        var parts: [BillPart]?
        if split["kind"] == "equal" {
            try bill.split(.equally(try #require(split["parts"].intValue)))
            parts = bill.parts
        } else if split["kind"] == "by_items" {
            let groups = (split["groups"].arrayValue ?? []).map { group in
                (group.arrayValue ?? []).compactMap { $0.stringValue.flatMap { ids[$0] } }
            }
            try bill.split(.byItems(groups))
            parts = bill.parts
        }
        let totals = try #require(bill.totals)
        #expect(json(totals, parts, names: names) == vector.json["expected"])
        if let parts { #expect(parts.reduce(0) { $0 + $1.total } == totals.totalDue) }
        #expect(bill.due == totals.totalDue)
    }

    private func discount(_ json: JSONValue) -> Pricing.Discount? {
        guard let kind = json["kind"].stringValue.flatMap(Pricing.Discount.Kind.init(rawValue:)),
            let value = json["value"].intValue
        else { return nil }
        return Pricing.Discount(kind: kind, value: value)
    }

    /// Our totals as the vector writes them, with the vector's line names for our line ids.
    private func json(_ totals: Pricing.OrderTotals, _ parts: [BillPart]?, names: [String: String]) -> JSONValue {
        let name = { (id: String) in JSONValue.string(names[id] ?? id) }
        return [
            "lines": .array(totals.lines.map { line in
                [
                    "line_id": name(line.lineID), "vat_rate_bp": .int(line.vatRateBp), "quantity": .int(line.quantity),
                    "unit_price": .int(line.unitPrice), "gross": .int(line.gross), "line_discount": .int(line.lineDiscount),
                    "order_discount": .int(line.orderDiscount), "total": .int(line.total), "voided": .bool(line.voided),
                ]
            }),
            "subtotal": .int(totals.subtotal), "discount_total": .int(totals.discountTotal),
            "total_after_discounts": .int(totals.totalAfterDiscounts),
            "vat": .array(totals.vat.map { ["rate_bp": .int($0.rateBp), "gross": .int($0.gross), "vat": .int($0.vat), "net": .int($0.net)] }),
            "vat_total": .int(totals.vatTotal), "service_charge": .int(totals.serviceCharge), "tip": .int(totals.tip),
            "total_due": .int(totals.totalDue),
            "split_parts": parts.map { parts in
                .array(parts.map { part in
                    [
                        "line_ids": .array(part.lineIDs.map(name)), "goods": .int(part.goods),
                        "service_charge": .int(part.serviceCharge), "tip": .int(part.tip), "total": .int(part.total),
                    ]
                })
            } ?? .null,
        ]
    }
}
