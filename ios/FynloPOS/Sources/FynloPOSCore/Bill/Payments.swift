import FynloSyncCore

/// A payment against an order, as the iPad can see it.
public struct RecordedPayment: Sendable, Hashable, Identifiable {
    public enum Method: String, Sendable, Hashable {
        /// `cash_payment`, synced.
        case cash
        /// `offline_card_payment`: a card taken with no network, synced; it pays its order
        /// until Stripe decides (docs/payments.md, "Cards taken offline").
        case offlineCard
        /// Anything the payment screens saw succeed online (card, Apple Pay, pay by bank).
        case online
    }

    public var id: String
    public var method: Method
    /// Pence towards the order's total due.
    public var amount: Int
    /// Pence on top, for the staff; not part of the order's total due.
    public var tip: Int
    /// The bill part it paid (``BillPart/id``), when this iPad took it; `nil` for a payment
    /// another iPad took (it counts towards the bill, shared across the parts).
    public var partID: String?
    /// How it was paid, where known (an online payment's receipt says; cash is cash, an
    /// offline card a card in person).
    public var paidBy: PaymentMethod?

    public init(
        id: String, method: Method, amount: Int, tip: Int = 0, partID: String? = nil, paidBy: PaymentMethod? = nil
    ) {
        self.id = id
        self.method = method
        self.amount = amount
        self.tip = tip
        self.partID = partID
        self.paidBy = paidBy ?? (method == .cash ? .cash : method == .offlineCard ? .cardPresent : nil)
    }

    init(_ receipt: PaymentReceipt) {
        self.init(
            id: receipt.id, method: receipt.method, amount: receipt.amount, tip: receipt.tip, partID: receipt.partID,
            paidBy: receipt.paidBy)
    }
}

/// What has been paid against an order. The synced payments are read from the store
/// (``SyncedPayments``); the payment screens may add what they saw succeed online, which
/// reaches the iPad otherwise only as the order's `paid` status.
public protocol OrderPayments: Sendable {
    func payments(for orderID: String) async throws -> [RecordedPayment]
}

/// The payments every iPad holds: `cash_payment` and `offline_card_payment` entities.
public struct SyncedPayments: OrderPayments {
    private let records: any Records

    public init(records: any Records) {
        self.records = records
    }

    public func payments(for orderID: String) async throws -> [RecordedPayment] {
        let orderID = orderID.lowercased()
        var found: [RecordedPayment] = []
        for (type, method) in [("cash_payment", RecordedPayment.Method.cash), ("offline_card_payment", .offlineCard)] {
            for (key, entity) in try await records.entities(ofType: type) where entity.data.id("order_id") == orderID {
                found.append(
                    RecordedPayment(
                        id: key.entityID, method: method, amount: entity.data.int("amount") ?? 0,
                        tip: entity.data.int("tip") ?? 0))
            }
        }
        return found.sorted { $0.id < $1.id }
    }
}

/// The payments this iPad holds: synced ones (``SyncedPayments``), and those its payment
/// screens saw succeed online (card, Apple Pay, pay by bank), which are not synced entities,
/// each with the bill part it paid as the journal's receipts say (``PaymentReceipt``). The
/// bill and the voids read this, so a part paid by card is off the bill at once, shows
/// paid, and its order holds its money.
///
/// Read from the journal, not memory: after an app kill, before the next pull brings the
/// order's `paid` status (and for an order partly paid online, for good: the server's online
/// payments never come down with the pull), a bill that forgot a card payment would ask for
/// that money again, and cash, which the server takes offline without checking what is left,
/// would pay the order twice.
public struct SeenPayments: OrderPayments {
    private let base: any OrderPayments
    private let journal: any PaymentJournal

    public init(base: any OrderPayments, journal: any PaymentJournal) {
        self.base = base
        self.journal = journal
    }

    public func payments(for orderID: String) async throws -> [RecordedPayment] {
        let receipts = try await journal.receipts(for: orderID)
        let partOf = Dictionary(receipts.map { ($0.id, $0.partID) }, uniquingKeysWith: { _, last in last })
        var found = try await base.payments(for: orderID).map { payment in
            var payment = payment
            payment.partID = partOf[payment.id]
            return payment
        }
        let synced = Set(found.map(\.id))
        found += receipts.filter { $0.method == .online && !synced.contains($0.id) }.map(RecordedPayment.init)
        return found.sorted { $0.id < $1.id }
    }
}
