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

    public init(id: String, method: Method, amount: Int, tip: Int = 0) {
        self.id = id
        self.method = method
        self.amount = amount
        self.tip = tip
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
