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
// - ``Approval/held``: whoever is signed in holds the permission; the change goes as it is.
// - ``Approval/approved(_:)``: a manager said yes; the change is recorded through
//   ``Records/record(_:approvedBy:)``, which signs the approval into it (`approval` on the
//   push: approver, permission and proof over the change exactly as it is sent).
// - `nil`: nobody approved (cancelled, a wrong PIN, not a manager): the change is not made.

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

/// A manager's approval of one change for one permission, before it is signed.
///
/// The proof covers the change's `seq` and `hlc`, known only when the change is numbered, so
/// the grant carries a signer instead of a signature: the write path calls it with the
/// statement of the change as it will be sent (`approval:<permission>` purpose, the
/// approver's key for this iPad). The key never leaves the staff side.
public struct ApprovalGrant: Sendable {
    public var permission: Permission
    public var approverID: String
    /// HMAC-SHA256 in hex of `"approval:<permission>\n" + statement` with the approver's key.
    public var sign: @Sendable (_ statement: String) -> String

    public init(permission: Permission, approverID: String, sign: @escaping @Sendable (String) -> String) {
        self.permission = permission
        self.approverID = approverID
        self.sign = sign
    }
}
