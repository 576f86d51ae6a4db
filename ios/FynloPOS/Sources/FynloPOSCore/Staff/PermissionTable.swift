/// A staff role, as the server names it (`server/auth/tables.py` `Role`).
public enum StaffRole: String, Sendable, Hashable, Codable, CaseIterable {
    case owner, manager, cashier, server, kitchen

    /// Who may approve another's action (`server/auth/permissions.py` `APPROVERS`).
    public var approves: Bool { self == .owner || self == .manager }
}

/// What the iPad must know of the server's permission table (`server/auth/permissions.py`
/// `POLICY`) to ask for a manager's approval before, not after, the server refuses: the
/// permissions the iPad uses, each with who holds it, who may use it with a manager's
/// approval, and whether an iPad with nobody signed in holds it.
///
/// The rules below are checked against the server's table by
/// `tests/unit/auth/test_ipad_permission_table.py`, which reads this file: keep one rule a
/// line, in this shape.
public enum PermissionTable {
    public struct Rule: Sendable, Hashable {
        public var allowed: Set<StaffRole>
        public var withApproval: Set<StaffRole>
        public var ipadAlone: Bool

        public init(allowed: Set<StaffRole>, withApproval: Set<StaffRole> = [], ipadAlone: Bool = false) {
            self.allowed = allowed
            self.withApproval = withApproval
            self.ipadAlone = ipadAlone
        }
    }

    public enum Decision: String, Sendable, Hashable {
        case allow, approval, deny
    }

    public static let availability = "catalog.availability"
    public static let ordersTake = "orders.take"
    public static let ordersVoid = "orders.void"
    public static let ordersDiscountOverThreshold = "orders.discount_over_threshold"
    public static let ordersPriceOverride = "orders.price_override"
    public static let paymentsTake = "payments.take"
    public static let paymentsRefund = "payments.refund"
    public static let paymentsTerminal = "payments.terminal"
    public static let pinSignIn = "auth.pin"
    public static let timeclockPunch = "timeclock.punch"
    public static let timeclockPunchOthers = "timeclock.punch_others"
    public static let drawerUse = "drawer.use"
    public static let drawerCashMovement = "drawer.cash_movement"
    public static let drawerManage = "drawer.manage"
    public static let approve = "auth.approve"

    public static let rules: [String: Rule] = [
        "catalog.availability": Rule(allowed: [.owner, .manager, .cashier, .server, .kitchen]),
        "orders.take": Rule(allowed: [.owner, .manager, .cashier, .server, .kitchen], ipadAlone: true),
        "orders.void": Rule(allowed: [.owner, .manager], withApproval: [.cashier, .server]),
        "orders.discount_over_threshold": Rule(allowed: [.owner, .manager], withApproval: [.cashier, .server]),
        "orders.price_override": Rule(allowed: [.owner, .manager], withApproval: [.cashier, .server]),
        "payments.take": Rule(allowed: [.owner, .manager, .cashier, .server]),
        "payments.refund": Rule(allowed: [.owner, .manager], withApproval: [.cashier]),
        "payments.terminal": Rule(allowed: [.owner, .manager, .cashier, .server, .kitchen], ipadAlone: true),
        "auth.pin": Rule(allowed: [.owner, .manager, .cashier, .server, .kitchen], ipadAlone: true),
        "timeclock.punch": Rule(allowed: [.owner, .manager, .cashier, .server, .kitchen]),
        "timeclock.punch_others": Rule(allowed: [.owner, .manager], withApproval: [.cashier, .server, .kitchen]),
        "drawer.use": Rule(allowed: [.owner, .manager, .cashier, .server]),
        "drawer.cash_movement": Rule(allowed: [.owner, .manager], withApproval: [.cashier, .server]),
        "drawer.manage": Rule(allowed: [.owner, .manager]),
        "auth.approve": Rule(allowed: [.owner, .manager, .cashier, .server, .kitchen]),
    ]

    /// Whether `role` (`nil`: nobody signed in) may act alone, only with a manager's
    /// approval, or not at all. A permission this table does not know is denied.
    public static func decide(_ permission: String, for role: StaffRole?) -> Decision {
        guard let rule = rules[permission] else { return .deny }
        guard let role else { return rule.ipadAlone ? .allow : .deny }
        if rule.allowed.contains(role) { return .allow }
        return rule.withApproval.contains(role) ? .approval : .deny
    }
}
