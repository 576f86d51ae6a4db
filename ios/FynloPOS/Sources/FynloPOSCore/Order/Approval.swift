import FynloSyncCore

// A manager's approval, as order entry asks for it.
//
// Some changes need a permission a server or cashier does not hold (docs/sync-protocol.md,
// "Who may change what"):
//
// | Change                                               | Permission                        |
// |------------------------------------------------------|-----------------------------------|
// | Voiding an order (`status: voided`)                  | `orders.void`                     |
// | Voiding a line of an order already sent              | `orders.void`                     |
// | A discount taking more than 10 % off its order/line  | `orders.discount_over_threshold`  |
// | A line with no product, or a priced free-text extra  | `orders.price_override`           |
//
// Order entry asks an ``ApprovalGate`` before making such a change. The gate (the staff
// screens: a manager's PIN, offline too) answers one of three ways:
//
// - ``Approval/held``: whoever is signed in holds the permission; the change is recorded
//   as it is, through ``Records``.
// - ``Approval/approved(_:)``: a manager said yes; the change is recorded through the
//   grant (``ApprovalGrant/record``), which puts the approval on it: the staff side's
//   signed records, so the push carries `approval` (approver, permission, and a proof over
//   the change exactly as it is sent, made when the store numbers it).
// - `nil`: nobody approved (cancelled, a wrong PIN, not a manager): nothing is recorded.
//
// The staff side adapts its approvals to this in a few lines, e.g.
// `ApprovalGrant(permission: p, approverID: a.approverID) { try await signed.record($0, approvedBy: a) }`.

/// Asks for a permission the change needs. The staff side implements it.
public protocol ApprovalGate: Sendable {
    /// `reason` is what the manager is shown ("Void 2 × Burger, £25.00").
    func approval(for permission: Permission, reason: String) async throws -> Approval?
}

/// A permission as the server names it (`server/auth/permissions.py`).
public struct Permission: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let ordersVoid = Permission(rawValue: "orders.void")
    public static let ordersDiscountOverThreshold = Permission(rawValue: "orders.discount_over_threshold")
    public static let ordersPriceOverride = Permission(rawValue: "orders.price_override")

    public var description: String { rawValue }
}

/// The gate's yes.
public enum Approval: Sendable {
    /// The signed-in employee holds the permission themselves: nothing more travels.
    case held
    /// Another employee (a manager) approved this one change.
    case approved(ApprovalGrant)
}

/// A manager's approval of one change for one permission.
///
/// A proof covers the change's `seq` and HLC, known only once the store numbers it, so the
/// grant carries the way to record the change with the approval on it, not a signature.
/// The approver's key never leaves the staff side.
public struct ApprovalGrant: Sendable {
    public var permission: Permission
    public var approverID: String
    /// Records `draft` (through the app's one write path) with this approval signed into it.
    public var record: @Sendable (_ draft: ChangeDraft) async throws -> PendingChange

    public init(
        permission: Permission, approverID: String,
        record: @escaping @Sendable (_ draft: ChangeDraft) async throws -> PendingChange
    ) {
        self.permission = permission
        self.approverID = approverID
        self.record = record
    }
}
