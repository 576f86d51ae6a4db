import FynloSyncCore
import Observation

/// The bill screen: what the table owes, how it is split, and what is still due once
/// payments come in.
///
/// A service: ``load(_:)`` the table's order; set the service charge and a tip on the bill
/// (``setServiceCharge(basisPoints:)``, ``setTip(pence:)``); ``present()`` it (the table
/// shows `paying` on every iPad's floor); choose how to split it
/// (``split(_:)``: whole, equally, by seat, by item), each part exact to the penny; the
/// payment screens take each part (``paymentDue(for:currency:)``); ``reload()`` shows
/// ``paid`` and ``due`` as cash and card payments are recorded, each part paid once its
/// payment is in (``BillPart/isPaid``: it cannot be paid again), and ``due`` is zero once the
/// server marks the order paid.
@MainActor
@Observable
public final class BillModel {
    public private(set) var order: Order?
    public private(set) var split: BillSplit = .whole
    public private(set) var parts: [BillPart] = []
    public private(set) var payments: [RecordedPayment] = []

    private let records: any Records
    private let orders: Orders
    private let seenPayments: any OrderPayments

    public init(records: any Records, orders: Orders, payments: (any OrderPayments)? = nil) {
        self.records = records
        self.orders = orders
        self.seenPayments = payments ?? SyncedPayments(records: records)
    }

    /// VAT per rate, discounts, service charge, tip and the total, as the server prices them.
    public var totals: Pricing.OrderTotals? { order?.totals }

    /// Pence the payments recorded so far cover (tips on payments excluded).
    public var paid: Int { payments.reduce(0) { $0 + $1.amount } }

    /// Tips added on payments (cash or card), on top of the bill: the staff's, not the order's.
    public var tipsOnPayments: Int { payments.reduce(0) { $0 + $1.tip } }

    /// Pence still to pay.
    public var due: Int { order.map { Bill.due(of: $0, payments: payments) } ?? 0 }

    public func load(_ orderID: String) async throws {
        guard let order = try await Order.load(orderID, from: records) else { throw OrderRefusal.unknownOrder(orderID) }
        let another = order.id != self.order?.id
        self.order = order
        payments = try await seenPayments.payments(for: order.id)
        // Another order opens as its payments were taken (split equally or by seat: a till
        // killed mid-split shows the paid parts again), else whole.
        if another {
            split = payments.lazy.compactMap { $0.partID.flatMap(BillSplit.init(partID:)) }.first ?? .whole
        }
        // A split chosen before a line changed is worked out again on the new bill; one that
        // no longer fits it (a line added since a split by item) falls back to the whole.
        if let kept = try? Bill.parts(of: order, split) {
            parts = Bill.settle(kept, of: order, payments: payments)
        } else {
            split = .whole
            parts = Bill.settle(try Bill.parts(of: order, .whole), of: order, payments: payments)
        }
    }

    public func reload() async throws {
        guard let order else { return }
        try await load(order.id)
    }

    public func split(_ split: BillSplit) throws {
        guard let order else { throw OrderRefusal.unknownOrder("none open") }
        parts = Bill.settle(try Bill.parts(of: order, split), of: order, payments: payments)
        self.split = split
    }

    /// The label of the part `payment` paid, if it is one of the parts now shown ("Guest 2").
    public func partLabel(of payment: RecordedPayment) -> String? {
        parts.first { $0.id == payment.partID }?.label
    }

    /// What the payment screen takes for `part` (as the bill has it now): what the part still
    /// owes. `nil` once it is paid: a paid part is not paid again.
    public func paymentDue(for part: BillPart, currency: String = "GBP") -> PaymentDue? {
        guard let order, let current = parts.first(where: { $0.id == part.id }), current.due > 0 else { return nil }
        return PaymentDue(
            orderID: order.id, partID: current.id, amount: current.due, currency: currency,
            label: "Order \(order.number) · \(current.label)")
    }

    /// The bill is brought to the table: its tables show `paying`.
    public func present() async throws {
        guard let order else { throw OrderRefusal.unknownOrder("none open") }
        try await Tables(records: records).markPaying(order: order.id)
        await records.syncSoon()
    }

    public func setServiceCharge(basisPoints: Int) async throws {
        guard let order else { throw OrderRefusal.unknownOrder("none open") }
        try await orders.setServiceCharge(order.id, basisPoints: basisPoints)
        await records.syncSoon()
        try await load(order.id)
    }

    public func setTip(pence: Int) async throws {
        guard let order else { throw OrderRefusal.unknownOrder("none open") }
        try await orders.setTip(order.id, pence: pence)
        await records.syncSoon()
        try await load(order.id)
    }
}
