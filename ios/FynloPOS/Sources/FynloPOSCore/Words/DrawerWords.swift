// What the drawer screen says: its refusals, one sentence each, and a session in words.
// Money is the till's: "£12.34" (``PaymentWords/money(_:_:)``).

/// Why the drawer screen did not do what was asked.
public enum DrawerRefusal: Error, Sendable, Hashable {
    case nobodySignedIn
    case notAllowed(StaffRole)
    case unknownDrawer
    case alreadyOpen(String)
    case noOpenSession
    case notADenomination(Int)
    case badPieces(Int, Int)
    case badAmount
    case badReason
    case notApproved
}

extension DrawerRefusal: CustomStringConvertible {
    public var description: String {
        switch self {
        case .nobodySignedIn: "Sign in first: the drawer is opened, paid from and counted by someone."
        case .notAllowed(let role): "A \(role.rawValue) does not use the cash drawer: ask a cashier or a manager."
        case .unknownDrawer: "That drawer is not at this location any more: sync, then choose another."
        case .alreadyOpen(let drawer): "\(drawer) is open on this iPad already: count it and close it first."
        case .noOpenSession: "No drawer is open on this iPad: open one with its float first."
        case .notADenomination(let pence): "\(pence)p is not a UK note or coin."
        case .badPieces(let denomination, let pieces):
            "\(pieces) × \(CashCount.name(denomination)) cannot be right: count 0 to 100,000 of each note or coin."
        case .badAmount: "A paid-in or paid-out is between £0.01 and £100,000.00, such as 3.00."
        case .badReason: "Say why the money moves, in 3 to 500 characters."
        case .notApproved: "Not recorded: no manager approved it."
        }
    }
}

enum DrawerWords {
    static func money(_ pence: Int) -> String { PaymentWords.money(pence, "GBP") }

    /// An open session, blind: its float and movements, never its sales or expected cash.
    static func open(_ session: DrawerSession) -> String {
        var words = "\(session.drawerName) is open with a float of \(money(session.openingFloat))"
        if !session.movements.isEmpty {
            words += "; paid in \(money(session.paidIn)), paid out \(money(session.paidOut))"
        }
        words += "."
        if session.mergedInto != nil {
            words += " Another iPad opened this drawer first: its session is this drawer's, and a manager sees both floats."
        }
        return words
    }

    /// A closed session: what was counted, and for a manager the server's figures.
    static func closed(_ session: DrawerSession, showingExpected: Bool) -> String {
        let counted = "\(session.drawerName) closed: counted \(money(session.closedCount?.total ?? 0))."
        guard showingExpected else { return "\(counted) A manager sees how it compares." }
        guard let result = session.result else {
            return "\(counted) The expected cash comes from the server with the next sync."
        }
        return "\(session.drawerName) closed: counted \(money(result.countedCash)), expected \(money(result.expectedCash)): "
            + "\(overShort(result.overShort)). \(flag(result))"
    }

    /// "over by £0.50", "short by £2.00", "exactly right".
    static func overShort(_ pence: Int) -> String {
        pence == 0 ? "exactly right" : "\(pence > 0 ? "over" : "short") by \(money(abs(pence)))"
    }

    static func flag(_ result: DrawerResult) -> String {
        result.flagged
            ? "Flagged: more than the \(money(result.threshold)) allowed either way. Recount, and check the paid-outs."
            : "Within the \(money(result.threshold)) allowed either way."
    }
}
