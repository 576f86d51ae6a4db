import FynloSyncCore

// An order and its lines as the iPad holds them (`order` and `order_line` entities; lines
// are their own entities, found by `order_id`). Every amount is priced by FynloSyncCore's
// `Pricing`, the port of server/orders/pricing.py kept equal to it by
// shared/schema/vectors/pricing.json.

public enum OrderStatus: String, Sendable, Hashable {
    /// Being taken.
    case open
    /// Sent to the kitchen.
    case sent
    /// Covered by payments (the server marks it).
    case paid
    /// Cancelled, with a manager's approval.
    case voided

    /// A paid or voided order's bill is final: no new line, no price change.
    public var isClosed: Bool { self == .paid || self == .voided }
}

public struct OrderLine: Sendable, Hashable, Identifiable {
    public var id: String
    public var orderID: String
    public var productID: String?
    public var name: String
    /// VAT-inclusive pence for one, before modifiers.
    public var unitPrice: Int
    public var quantity: Int
    public var vatRateBp: Int
    public var modifiers: [LineModifier]
    public var discount: Pricing.Discount?
    public var voided: Bool
    public var notes: String
    public var position: Int
    /// Which seat at the table the dish is for (1, 2, …); `nil`: the table's.
    public var seat: Int?
    /// Which course it is served in (1, 2, …); `nil`: whenever.
    public var course: Int?

    /// What one costs with its modifiers.
    public var unitPriceWithModifiers: Int { unitPrice + modifiers.reduce(0) { $0 + $1.priceDelta } }

    /// The price before any discount (zero once voided), as the discount threshold measures it.
    public var gross: Int { voided ? 0 : unitPriceWithModifiers * quantity }

    public var pricingLine: Pricing.Line {
        var line = Pricing.Line(lineID: id, unitPrice: unitPrice, quantity: quantity, vatRateBp: vatRateBp)
        line.modifierDeltas = modifiers.map(\.priceDelta)
        line.discount = discount
        line.voided = voided
        return line
    }

    public init(
        id: String, orderID: String, productID: String?, name: String, unitPrice: Int, quantity: Int, vatRateBp: Int,
        modifiers: [LineModifier] = [], discount: Pricing.Discount? = nil, voided: Bool = false, notes: String = "",
        position: Int = 0, seat: Int? = nil, course: Int? = nil
    ) {
        self.id = id
        self.orderID = orderID
        self.productID = productID
        self.name = name
        self.unitPrice = unitPrice
        self.quantity = quantity
        self.vatRateBp = vatRateBp
        self.modifiers = modifiers
        self.discount = discount
        self.voided = voided
        self.notes = notes
        self.position = position
        self.seat = seat
        self.course = course
    }

    init?(id: String, data: [String: JSONValue]) {
        guard let orderID = data.id("order_id"), let name = data.string("name"),
            let unitPrice = data.int("unit_price"), let quantity = data.int("quantity"),
            let vatRateBp = data.int("vat_rate_bp")
        else { return nil }
        self.id = id
        self.orderID = orderID
        self.productID = data.id("product_id")
        self.name = name
        self.unitPrice = unitPrice
        self.quantity = quantity
        self.vatRateBp = vatRateBp
        self.modifiers = (data["modifiers"]?.arrayValue ?? []).compactMap(LineModifier.init(json:))
        self.discount = Pricing.Discount(kind: data.string("discount_kind"), value: data.int("discount_value"))
        self.voided = data.bool("voided")
        self.notes = data.string("notes") ?? ""
        self.position = data.int("position") ?? 0
        self.seat = data.int("seat")
        self.course = data.int("course")
    }
}

public struct Order: Sendable, Hashable, Identifiable {
    public var id: String
    /// `A-0042`: this iPad's prefix and its own sequence.
    public var number: String
    public var status: OrderStatus
    public var tableID: String?
    public var covers: Int
    public var notes: String
    public var discount: Pricing.Discount?
    public var discountReason: String
    public var serviceChargeBp: Int
    /// Pence added by the guest on the bill (a tip taken with a payment is the payment's).
    public var tip: Int
    /// Every line, voided ones included (shown struck through), in the order they were taken.
    public var lines: [OrderLine]

    public var liveLines: [OrderLine] { lines.filter { !$0.voided } }

    /// The bill, as the server will price it.
    public var totals: Pricing.OrderTotals {
        Pricing.price(
            lines.map(\.pricingLine), orderDiscount: discount, serviceChargeBp: serviceChargeBp, tip: tip)
    }

    public func line(_ id: String) -> OrderLine? { lines.first { $0.id == id } }

    /// The order as this iPad shows it, with its lines; `nil` if unknown.
    public static func load(_ id: String, from records: any Records) async throws -> Order? {
        let id = id.lowercased()
        guard let entity = try await records.entity(EntityKey("order", id)) else { return nil }
        let lines = try await records.entities(ofType: "order_line").compactMap { key, line in
            line.data.id("order_id") == id ? OrderLine(id: key.entityID, data: line.data) : nil
        }
        return Order(id: id, data: entity.data, lines: lines)
    }

    public init(
        id: String, number: String, status: OrderStatus, tableID: String? = nil, covers: Int = 0, notes: String = "",
        discount: Pricing.Discount? = nil, discountReason: String = "", serviceChargeBp: Int = 0, tip: Int = 0,
        lines: [OrderLine]
    ) {
        self.id = id
        self.number = number
        self.status = status
        self.tableID = tableID
        self.covers = covers
        self.notes = notes
        self.discount = discount
        self.discountReason = discountReason
        self.serviceChargeBp = serviceChargeBp
        self.tip = tip
        self.lines = lines.sorted { ($0.position, $0.id) < ($1.position, $1.id) }
    }

    init?(id: String, data: [String: JSONValue], lines: [OrderLine]) {
        guard let number = data.string("number"), let status = data.string("status").flatMap(OrderStatus.init)
        else { return nil }
        self.id = id
        self.number = number
        self.status = status
        self.tableID = data.id("table_id")
        self.covers = data.int("covers") ?? 0
        self.notes = data.string("notes") ?? ""
        self.discount = Pricing.Discount(kind: data.string("discount_kind"), value: data.int("discount_value"))
        self.discountReason = data.string("discount_reason") ?? ""
        self.serviceChargeBp = data.int("service_charge_bp") ?? 0
        self.tip = data.int("tip") ?? 0
        // The server prices lines by position, then when they arrived; ids break ties here.
        self.lines = lines.sorted { ($0.position, $0.id) < ($1.position, $1.id) }
    }
}

extension Pricing.Discount {
    init?(kind: String?, value: Int?) {
        guard let kind = kind.flatMap(Kind.init(rawValue:)), let value else { return nil }
        self.init(kind: kind, value: value)
    }

    /// The server's line between a courtesy and a comp (`DISCOUNT_THRESHOLD_BP`): more than
    /// 10 % off `base` (the order's or line's price before discounts) needs
    /// `orders.discount_over_threshold`.
    public static let approvalThresholdBp = 1_000

    /// Whether this discount takes more than 10 % off `base`, exactly as the server decides.
    public func needsApproval(base: Int) -> Bool {
        switch kind {
        case .percent: value > Self.approvalThresholdBp
        case .fixed: value * Pricing.basisPoints > Self.approvalThresholdBp * max(base, 0)
        }
    }

    /// Whether the server accepts the value at all (percent 0–10000 bp, fixed ≥ 0).
    public var isValid: Bool {
        switch kind {
        case .percent: (0...Pricing.basisPoints).contains(value)
        case .fixed: value >= 0
        }
    }
}
