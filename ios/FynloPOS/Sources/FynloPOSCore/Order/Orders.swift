import FynloSyncCore

/// Why an order change was refused (nothing was recorded).
public enum OrderRefusal: Error, Hashable, Sendable {
    case unknownOrder(String)
    case unknownLine(String)
    /// A paid or voided order's bill is final (the server would refuse `order_closed`).
    case orderClosed(OrderStatus)
    case menu(MenuRefusal)
    case invalidQuantity(Int)
    case invalidSeat(Int)
    case invalidCourse(Int)
    case invalidCovers(Int)
    case invalidServiceCharge(Int)
    case invalidTip(Int)
    case invalidDiscount(Pricing.Discount)
    /// An open item needs a name, a price up to 100,000.00 and a VAT rate up to 100 %.
    case invalidOpenItem
    /// Nothing on the order to send to the kitchen.
    case nothingToSend
    /// Money was taken against it: refund or cancel that first (the server refuses
    /// `order_holds_money`).
    case holdsMoney(Int)
    /// The change needed a permission and nobody approved it.
    case notApproved(Permission)
}

/// Every write to an order and its lines, one function per action, each as the server's
/// rules take it (server/orders/sync.py): which fields, which never change, which need a
/// manager. The screens call these; FloorModel calls ``open(tableID:covers:)`` to merge
/// tables under a new bill.
public struct Orders: Sendable {
    let records: any Records
    let numbers: any OrderNumbering
    let approvals: any ApprovalGate
    let payments: any OrderPayments
    let ids: any IDSource
    let clock: any WallClock

    public init(
        records: any Records, numbers: any OrderNumbering, approvals: any ApprovalGate,
        payments: (any OrderPayments)? = nil, ids: any IDSource = RandomIDs(), clock: any WallClock = SystemWallClock()
    ) {
        self.records = records
        self.numbers = numbers
        self.approvals = approvals
        self.payments = payments ?? SyncedPayments(records: records)
        self.ids = ids
        self.clock = clock
    }

    // MARK: Opening

    /// Opens a new order, numbered `A-0042` by this iPad, for a table (seating it if needed)
    /// or for none (a counter sale). Returns its id.
    @discardableResult
    public func open(tableID: String?, covers: Int) async throws -> String {
        guard (0...500).contains(covers) else { throw OrderRefusal.invalidCovers(covers) }
        let number = try await numbers.next()
        let orderID = ids.next().lowercased()
        var fields: [String: JSONValue] = [
            "number": .string(number.text), "device_prefix": .string(number.prefix),
            "device_seq": .int(number.sequence), "opened_at": .string(WireTime.string(ms: clock.nowMs())),
            "status": "open", "covers": .int(covers),
        ]
        if let tableID { fields["table_id"] = .string(tableID.lowercased()) }
        try await records.record(ChangeDraft(entityType: "order", entityID: orderID, fields: fields))
        if let tableID {
            try await Tables(records: records).attach(order: orderID, to: tableID.lowercased(), covers: covers)
        }
        return orderID
    }

    /// Plain last-writer-wins order fields nobody needs approving (`table_id`, `covers`, `notes`).
    func update(_ orderID: String, _ fields: [String: JSONValue]) async throws {
        try await records.record(ChangeDraft(entityType: "order", entityID: orderID, fields: fields))
    }

    // MARK: Lines

    /// Adds a dish as chosen on the menu. Checked against the menu as the iPad holds it now:
    /// an 86'd dish, too few portions left, or a modifier choice outside its groups' min/max
    /// is refused. A dish whose portions are counted counts down by `quantity`.
    @discardableResult
    public func addLine(
        to orderID: String, productID: String, modifiers chosen: Set<String> = [], extras: [String] = [],
        quantity: Int = 1, notes: String = "", seat: Int? = nil, course: Int? = nil
    ) async throws -> String {
        let order = try await openOrder(orderID)
        try check(quantity: quantity, seat: seat, course: course)
        let menu = try await Menu.load(from: records)
        let productID = productID.lowercased()
        guard let product = menu.products[productID] else { throw OrderRefusal.menu(.unknownProduct) }
        let modifiers: [LineModifier]
        do {
            modifiers = try menu.validate(productID: productID, chosen: chosen, quantity: quantity)
        } catch {
            throw OrderRefusal.menu(error)
        }
        // A free-text extra ("no onions") is free; a priced one would be an open price.
        let free = extras.filter { !$0.isEmpty }.map { LineModifier(modifierID: nil, name: $0, priceDelta: 0) }
        let lineID = ids.next().lowercased()
        let fields = newLine(
            on: order, productID: product.id, name: product.name, unitPrice: product.price,
            vatRateBp: product.vatRateBp, modifiers: modifiers + free, quantity: quantity, notes: notes, seat: seat,
            course: course)
        try await records.record(ChangeDraft(entityType: "order_line", entityID: lineID, fields: fields))
        if let availabilityID = menu.portionCounters[product.id] {
            try await countPortions(availabilityID, by: -quantity)
        }
        return lineID
    }

    /// An item not on the menu, priced by hand ("Corkage", "Birthday cake"): with no product
    /// the server holds it to no catalog price, so it needs `orders.price_override`.
    @discardableResult
    public func addOpenItem(
        to orderID: String, name: String, unitPrice: Int, vatRateBp: Int, quantity: Int = 1, notes: String = "",
        seat: Int? = nil, course: Int? = nil
    ) async throws -> String {
        let order = try await openOrder(orderID)
        try check(quantity: quantity, seat: seat, course: course)
        guard !name.isEmpty, (0...10_000_000).contains(unitPrice), (0...Pricing.basisPoints).contains(vatRateBp) else {
            throw OrderRefusal.invalidOpenItem
        }
        let lineID = ids.next().lowercased()
        let fields = newLine(
            on: order, productID: nil, name: name, unitPrice: unitPrice, vatRateBp: vatRateBp, modifiers: [],
            quantity: quantity, notes: notes, seat: seat, course: course)
        try await record(
            ChangeDraft(entityType: "order_line", entityID: lineID, fields: fields), needing: .ordersPriceOverride,
            reason: "\(quantity) × \(name) at \(unitPrice.penceText), order \(order.number)")
        return lineID
    }

    /// The server lets a quantity change freely; taking back a dish the kitchen has is a void
    /// (``voidLine(_:in:)``).
    public func setQuantity(_ lineID: String, in orderID: String, to quantity: Int) async throws {
        let (_, line) = try await openLine(lineID, in: orderID)
        try check(quantity: quantity, seat: nil, course: nil)
        guard quantity != line.quantity else { return }
        try await recordLine(line.id, ["quantity": .int(quantity)])
    }

    /// Notes, seat and course: where and when the dish goes; none changes a price.
    public func setDetails(
        _ lineID: String, in orderID: String, notes: String? = nil, seat: Int?? = nil, course: Int?? = nil
    ) async throws {
        let (_, line) = try await openLine(lineID, in: orderID)
        try check(quantity: 1, seat: seat ?? nil, course: course ?? nil)
        var fields: [String: JSONValue] = [:]
        if let notes, notes != line.notes { fields["notes"] = .string(notes) }
        if let seat, seat != line.seat { fields["seat"] = .optional(seat) }
        if let course, course != line.course { fields["course"] = .optional(course) }
        guard !fields.isEmpty else { return }
        try await recordLine(line.id, fields)
    }

    // MARK: The kitchen

    /// Sends the order to the kitchen: `open` → `sent`, and its tables show `ordered`. Lines
    /// added later join the sent order (the server counts them as sent: voiding one then
    /// needs a manager).
    public func send(_ orderID: String) async throws {
        let order = try await openOrder(orderID)
        guard !order.liveLines.isEmpty else { throw OrderRefusal.nothingToSend }
        if order.status == .open {
            try await update(order.id, ["status": "sent"])
        }
        try await Tables(records: records).markOrdered(order: order.id)
    }

    // MARK: Discounts, service, tip

    /// A discount on the whole order (`nil` takes it off). More than 10 % off the order's
    /// price before discounts needs `orders.discount_over_threshold`.
    public func discountOrder(_ orderID: String, _ discount: Pricing.Discount?, reason: String = "") async throws {
        let order = try await openOrder(orderID)
        var fields: [String: JSONValue] = [
            "discount_kind": .optional(discount?.kind.rawValue), "discount_value": .optional(discount?.value),
        ]
        if !reason.isEmpty || discount == nil { fields["discount_reason"] = .string(reason) }
        let draft = ChangeDraft(entityType: "order", entityID: order.id, fields: fields)
        guard let discount else { return try await records.record(draft).ignore() }
        guard discount.isValid else { throw OrderRefusal.invalidDiscount(discount) }
        let needs = discount.needsApproval(base: order.totals.subtotal) ? Permission.ordersDiscountOverThreshold : nil
        try await record(draft, needing: needs, reason: "Discount \(discount.text) on order \(order.number)")
    }

    /// A discount on one line (`nil` takes it off); over 10 % of the line's price before
    /// discounts needs `orders.discount_over_threshold`.
    public func discountLine(_ lineID: String, in orderID: String, _ discount: Pricing.Discount?) async throws {
        let (order, line) = try await openLine(lineID, in: orderID)
        let draft = ChangeDraft(
            entityType: "order_line", entityID: line.id,
            fields: ["discount_kind": .optional(discount?.kind.rawValue), "discount_value": .optional(discount?.value)])
        guard let discount else { return try await records.record(draft).ignore() }
        guard discount.isValid else { throw OrderRefusal.invalidDiscount(discount) }
        // The server measures a line discount against the line's price times its quantity.
        let base = line.unitPriceWithModifiers * line.quantity
        let needs = discount.needsApproval(base: base) ? Permission.ordersDiscountOverThreshold : nil
        try await record(
            draft, needing: needs, reason: "Discount \(discount.text) on \(line.name), order \(order.number)")
    }

    /// The service charge in basis points (1250 = 12.5 %), priced on the discounted goods.
    public func setServiceCharge(_ orderID: String, basisPoints: Int) async throws {
        let order = try await openOrder(orderID)
        guard (0...Pricing.basisPoints).contains(basisPoints) else {
            throw OrderRefusal.invalidServiceCharge(basisPoints)
        }
        try await update(order.id, ["service_charge_bp": .int(basisPoints)])
    }

    /// A tip on the bill, in pence (outside VAT and the service charge).
    public func setTip(_ orderID: String, pence: Int) async throws {
        let order = try await openOrder(orderID)
        guard (0...10_000_000).contains(pence) else { throw OrderRefusal.invalidTip(pence) }
        try await update(order.id, ["tip": .int(pence)])
    }

    public func setCovers(_ orderID: String, _ covers: Int) async throws {
        let order = try await openOrder(orderID)
        guard (0...500).contains(covers) else { throw OrderRefusal.invalidCovers(covers) }
        try await update(order.id, ["covers": .int(covers)])
    }

    // MARK: Voids

    /// Voids a line (it stays on the order, struck through, priced at zero). Before the
    /// order is sent it is a correction; after, the kitchen was asked for it, and voiding
    /// needs `orders.void`. Counted portions not yet sent go back.
    public func voidLine(_ lineID: String, in orderID: String) async throws {
        let (order, line) = try await openLine(lineID, in: orderID)
        guard !line.voided else { return }
        let needs = order.status == .sent ? Permission.ordersVoid : nil
        try await record(
            ChangeDraft(entityType: "order_line", entityID: line.id, fields: ["voided": true]), needing: needs,
            reason: "Void \(line.quantity) × \(line.name), order \(order.number)")
        if order.status == .open, let productID = line.productID {
            let menu = try await Menu.load(from: records)
            if let id = menu.portionCounters[productID] {
                try await countPortions(id, by: line.quantity)
            }
        }
    }

    /// Voids the whole order: `orders.void`, always. Not while payments hold money against
    /// it; its tables keep their party, without a bill.
    public func voidOrder(_ orderID: String, reason: String) async throws {
        let order = try await openOrder(orderID)
        let held = try await payments.payments(for: order.id).reduce(0) { $0 + $1.amount }
        guard held == 0 else { throw OrderRefusal.holdsMoney(held) }
        let note = order.notes.isEmpty ? "Void: \(reason)" : "\(order.notes)\nVoid: \(reason)"
        try await record(
            ChangeDraft(
                entityType: "order", entityID: order.id,
                fields: [
                    "status": "voided", "closed_at": .string(WireTime.string(ms: clock.nowMs())),
                    "notes": .string(note),
                ]),
            needing: .ordersVoid, reason: "Void order \(order.number), \(order.totals.totalDue.penceText): \(reason)")
        try await Tables(records: records).release(order: order.id)
    }

    // MARK: Helpers

    /// Records `draft`, first asking for `permission` when it needs one.
    private func record(_ draft: ChangeDraft, needing permission: Permission?, reason: String) async throws {
        guard let permission else { return try await records.record(draft).ignore() }
        switch try await approvals.approval(for: permission, reason: reason) {
        case nil: throw OrderRefusal.notApproved(permission)
        case .held: try await records.record(draft)
        case .approved(let grant): _ = try await grant.record(draft)
        }
    }

    /// A new line's fields: everything `order_line` requires, its price snapshotted now, and
    /// the next position (the server prices lines in position order).
    private func newLine(
        on order: Order, productID: String?, name: String, unitPrice: Int, vatRateBp: Int, modifiers: [LineModifier],
        quantity: Int, notes: String, seat: Int?, course: Int?
    ) -> [String: JSONValue] {
        var fields: [String: JSONValue] = [
            "order_id": .string(order.id), "product_id": .optional(productID), "name": .string(name),
            "unit_price": .int(unitPrice), "quantity": .int(quantity), "vat_rate_bp": .int(vatRateBp),
            "modifiers": .array(modifiers.map(\.json)), "position": .int((order.lines.map(\.position).max() ?? 0) + 1),
        ]
        if !notes.isEmpty { fields["notes"] = .string(notes) }
        if let seat { fields["seat"] = .int(seat) }
        if let course { fields["course"] = .int(course) }
        return fields
    }

    private func recordLine(_ lineID: String, _ fields: [String: JSONValue]) async throws {
        try await records.record(ChangeDraft(entityType: "order_line", entityID: lineID, fields: fields))
    }

    /// `remaining` is a counter: the change carries the amount to add.
    private func countPortions(_ availabilityID: String, by delta: Int) async throws {
        try await records.record(
            ChangeDraft(entityType: "availability", entityID: availabilityID, fields: ["remaining": .int(delta)]))
    }

    func openOrder(_ orderID: String) async throws -> Order {
        guard let order = try await Order.load(orderID, from: records) else { throw OrderRefusal.unknownOrder(orderID) }
        if order.status.isClosed { throw OrderRefusal.orderClosed(order.status) }
        return order
    }

    private func openLine(_ lineID: String, in orderID: String) async throws -> (Order, OrderLine) {
        let order = try await openOrder(orderID)
        guard let line = order.line(lineID.lowercased()) else { throw OrderRefusal.unknownLine(lineID) }
        return (order, line)
    }

    private func check(quantity: Int, seat: Int?, course: Int?) throws {
        guard (1...10_000).contains(quantity) else { throw OrderRefusal.invalidQuantity(quantity) }
        if let seat, !(1...500).contains(seat) { throw OrderRefusal.invalidSeat(seat) }
        if let course, !(1...20).contains(course) { throw OrderRefusal.invalidCourse(course) }
    }
}

extension PendingChange {
    fileprivate func ignore() {}
}

extension Pricing.Discount {
    /// "15%" or "£2.50", for the manager asked to approve it.
    public var text: String {
        switch kind {
        case .percent:
            let whole = value / 100, hundredths = value % 100
            return hundredths == 0 ? "\(whole)%" : "\(whole).\(hundredths < 10 ? "0" : "")\(hundredths)%"
        case .fixed: return value.penceText
        }
    }
}

extension Int {
    /// Pence as the restaurant's currency reads them, without its symbol: "12.50" (for the
    /// approval prompts; the screens format money their own way).
    var penceText: String {
        let (pounds, pence) = abs(self).quotientAndRemainder(dividingBy: 100)
        return "\(self < 0 ? "-" : "")\(pounds).\(pence < 10 ? "0" : "")\(pence)"
    }
}
