import FynloSyncCore
import Observation

/// The bill screen: what the table owes, how it is split, and what is still due once
/// payments come in.
///
/// A service: ``load(_:)`` the table's order; set the service charge and a tip on the bill
/// (``setServiceCharge(basisPoints:)``, ``setTip(pence:)``); ``present()`` it (the table
/// shows `paying` on every iPad's floor); choose how to split it
/// (``split(_:)``: whole, equally, by seat, by item), each part exact to the penny; the
/// payment screens take each part; ``reload()`` shows ``paid`` and ``due`` as cash and
/// card payments are recorded, and ``due`` is zero once the server marks the order paid.
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
        self.order = order
        payments = try await seenPayments.payments(for: order.id)
        // A split chosen before a line changed is worked out again on the new bill; one that
        // no longer fits it (a line added since a split by item) falls back to the whole.
        if let kept = try? Bill.parts(of: order, split) {
            parts = kept
        } else {
            split = .whole
            parts = try Bill.parts(of: order, .whole)
        }
    }

    public func reload() async throws {
        guard let order else { return }
        try await load(order.id)
    }

    public func split(_ split: BillSplit) throws {
        guard let order else { throw OrderRefusal.unknownOrder("none open") }
        parts = try Bill.parts(of: order, split)
        self.split = split
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
