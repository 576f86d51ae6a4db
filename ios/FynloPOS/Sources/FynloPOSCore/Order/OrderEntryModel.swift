import FynloSyncCore
import Observation

/// The order screen: one table's bill as it is taken, sent, corrected and discounted.
///
/// A service: ``open(table:)`` from the floor (the table's bill, or a new one numbered by this
/// iPad); pick the seat and course the next dishes are for (``seat``, ``course``); add dishes
/// as chosen on the menu (``add(_:extras:notes:)``); ``send()`` to the kitchen; fix a line
/// (``setQuantity(_:to:)``, ``setDetails(_:notes:seat:course:)``), take one back
/// (``voidLine(_:)``: a manager's approval once sent) or the whole order (``voidOrder(reason:)``,
/// always approved); discount the order or a line (``discountOrder(_:reason:)``,
/// ``discountLine(_:_:)``: approved above 10 %); set the service charge and tip; then the
/// bill (``BillModel``). Every change goes through ``Orders`` (the rules) into ``Records``
/// (the one write path) and this screen shows the result read back from the store.
@MainActor
@Observable
public final class OrderEntryModel {
    public private(set) var order: Order?
    /// The seat the next dishes are for (`nil`: the table's).
    public var seat: Int?
    /// The course the next dishes are served in (`nil`: whenever).
    public var course: Int?

    private let records: any Records
    private let orders: Orders

    public init(records: any Records, orders: Orders) {
        self.records = records
        self.orders = orders
    }

    /// The bill so far, priced as the server prices it.
    public var totals: Pricing.OrderTotals? { order?.totals }

    /// The lines by course (unset last), each in the order taken.
    public var linesByCourse: [(course: Int?, lines: [OrderLine])] {
        let lines = order?.lines ?? []
        let courses = Set(lines.map(\.course)).sorted { ($0 ?? .max) < ($1 ?? .max) }
        return courses.map { course in (course, lines.filter { $0.course == course }) }
    }

    // MARK: Opening

    /// The table's open bill, or a new one for the party seated there.
    public func open(table tableID: String) async throws {
        let state = try await Tables(records: records).state(tableID)
        if let existing = state?.orderID, let order = try await Order.load(existing, from: records),
            !order.status.isClosed
        {
            self.order = order
            return
        }
        let id = try await orders.open(tableID: tableID, covers: state?.covers ?? 0)
        try await load(id)
    }

    /// A sale with no table (the counter).
    public func openCounterSale() async throws {
        try await load(try await orders.open(tableID: nil, covers: 0))
    }

    public func load(_ orderID: String) async throws {
        order = try await Order.load(orderID, from: records)
        if order == nil { throw OrderRefusal.unknownOrder(orderID) }
    }

    // MARK: Taking the order

    /// Adds the dish as configured on the menu, for ``seat`` and ``course``.
    public func add(_ choice: ProductChoice, extras: [String] = [], notes: String = "") async throws {
        let id = try current()
        try await orders.addLine(
            to: id, productID: choice.product.id, modifiers: choice.chosen, extras: extras,
            quantity: choice.quantity, notes: notes, seat: seat, course: course)
        try await settle(id)
    }

    /// A dish not on the menu at a price typed in: a manager's approval (`orders.price_override`).
    public func addOpenItem(name: String, unitPrice: Int, vatRateBp: Int, quantity: Int = 1, notes: String = "")
        async throws
    {
        let id = try current()
        try await orders.addOpenItem(
            to: id, name: name, unitPrice: unitPrice, vatRateBp: vatRateBp, quantity: quantity, notes: notes,
            seat: seat, course: course)
        try await settle(id)
    }

    public func setQuantity(_ lineID: String, to quantity: Int) async throws {
        let id = try current()
        try await orders.setQuantity(lineID, in: id, to: quantity)
        try await settle(id)
    }

    /// `seat`/`course`: `.some(nil)` clears, `nil` leaves as is.
    public func setDetails(
        _ lineID: String, notes: String? = nil, seat: Int?? = nil, course: Int?? = nil
    ) async throws {
        let id = try current()
        try await orders.setDetails(lineID, in: id, notes: notes, seat: seat, course: course)
        try await settle(id)
    }

    public func send() async throws {
        let id = try current()
        try await orders.send(id)
        try await settle(id)
    }

    // MARK: Corrections

    public func voidLine(_ lineID: String) async throws {
        let id = try current()
        try await orders.voidLine(lineID, in: id)
        try await settle(id)
    }

    public func voidOrder(reason: String) async throws {
        let id = try current()
        try await orders.voidOrder(id, reason: reason)
        try await settle(id)
    }

    public func discountOrder(_ discount: Pricing.Discount?, reason: String = "") async throws {
        let id = try current()
        try await orders.discountOrder(id, discount, reason: reason)
        try await settle(id)
    }

    public func discountLine(_ lineID: String, _ discount: Pricing.Discount?) async throws {
        let id = try current()
        try await orders.discountLine(lineID, in: id, discount)
        try await settle(id)
    }

    public func setServiceCharge(basisPoints: Int) async throws {
        let id = try current()
        try await orders.setServiceCharge(id, basisPoints: basisPoints)
        try await settle(id)
    }

    public func setTip(pence: Int) async throws {
        let id = try current()
        try await orders.setTip(id, pence: pence)
        try await settle(id)
    }

    public func setCovers(_ covers: Int) async throws {
        let id = try current()
        try await orders.setCovers(id, covers)
        try await settle(id)
    }

    // MARK: Helpers

    private func current() throws -> String {
        guard let order else { throw OrderRefusal.unknownOrder("none open") }
        return order.id
    }

    /// Shows the order as the store now holds it and lets the engine push soon.
    private func settle(_ orderID: String) async throws {
        await records.syncSoon()
        try await load(orderID)
    }
}
