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

/// The payments this iPad holds, synced ones (``SyncedPayments``) and those its payment
/// screens saw succeed online (card, Apple Pay, pay by bank), which are not synced entities:
/// the bill and the voids read this, so a part paid by card is off the bill at once and its
/// order holds its money.
///
/// Kept in memory: after a relaunch an order partly paid online shows its online part again
/// once the server marks the order paid (or the payment screen shows the payment again).
public actor SeenPayments: OrderPayments {
    private let base: any OrderPayments
    private var online: [String: (orderID: String, payment: RecordedPayment)] = [:]

    public init(base: any OrderPayments) {
        self.base = base
    }

    /// What a payment screen was told: a success counts (until its bank transfer is
    /// reversed); anything else does not.
    public func note(_ view: PaymentView) {
        guard let method = view.method, method != .cash else { return }
        if view.state == .succeeded, view.settlement != .reversed {
            online[view.id] = (view.orderID.lowercased(), RecordedPayment(id: view.id, method: .online, amount: view.amount, tip: view.tip))
        } else {
            online[view.id] = nil
        }
    }

    public func payments(for orderID: String) async throws -> [RecordedPayment] {
        let orderID = orderID.lowercased()
        let seen = online.values.filter { $0.orderID == orderID }.map(\.payment)
        return (try await base.payments(for: orderID) + seen).sorted { $0.id < $1.id }
    }
}
