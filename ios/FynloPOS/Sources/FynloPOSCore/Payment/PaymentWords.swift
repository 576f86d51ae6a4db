/// What the payment screen says, in words a waiter can read to a diner.
public enum PaymentWords {
    /// `1234` GBP → "£12.34".
    public static func money(_ minor: Int, _ currency: String) -> String {
        let sign = minor < 0 ? "-" : ""
        let units = abs(minor) / 100
        let pence = abs(minor) % 100
        let amount = "\(units).\(pence < 10 ? "0" : "")\(pence)"
        switch currency {
        case "GBP": return "\(sign)£\(amount)"
        case "EUR": return "\(sign)€\(amount)"
        default: return "\(sign)\(amount) \(currency)"
        }
    }

    /// A payment on the bill: "Cash", "Card taken offline", "Apple Pay"…
    public static func paidBy(_ payment: RecordedPayment) -> String {
        if payment.method == .offlineCard { return "Card taken offline" }
        return payment.paidBy.map(method) ?? "Paid online"
    }

    /// An amount as staff type it ("12.50", "£12.5", "12") in minor units; `nil` if it is not
    /// one (more than two decimals, letters, negative).
    public static func minorUnits(_ text: String) -> Int? {
        var text = text.trimmingCharacters(in: .whitespaces)
        if let first = text.first, "£€$".contains(first) { text.removeFirst() }
        let pieces = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(pieces.count), let units = Int(pieces[0]), units >= 0, pieces[0].allSatisfy(\.isNumber)
        else { return nil }
        guard pieces.count == 2 else { return units * 100 }
        let decimals = pieces[1]
        guard (1...2).contains(decimals.count), decimals.allSatisfy(\.isNumber), let pence = Int(decimals) else { return nil }
        return units * 100 + (decimals.count == 1 ? pence * 10 : pence)
    }

    public static func method(_ method: PaymentMethod) -> String {
        switch method {
        case .openBanking: "Pay by bank"
        case .card: "Card"
        case .cardPresent: "Card"
        case .applePay: "Apple Pay"
        case .cash: "Cash"
        }
    }

    /// Where pay-by-bank money stands once the order is paid (docs/payments.md, "Pay by
    /// bank, as TrueLayer runs it"): the order is paid at `executed`; settling follows.
    public static func settlement(_ settlement: Settlement) -> String {
        switch settlement {
        case .executed:
            "Paid. The customer's bank has sent the money; it reaches the restaurant's account in seconds to minutes."
        case .creditable:
            "Paid. The money is on its way to the restaurant's account."
        case .settled:
            "Paid. The money is in the restaurant's account."
        case .stalled:
            "Paid, but the bank is checking this payment and the money may not arrive. A manager has been told."
        case .reversed:
            "The bank sent this money back to the customer: the order is open again. Take the amount another way."
        }
    }

    /// A late or stuck outcome (`payment.attention`, docs/payments.md "Late and stuck outcomes").
    public static func attention(_ why: String) -> String {
        switch why {
        case "late_success":
            "The bank paid after this payment had ended. If another payment was taken too, the order is paid twice: a manager can refund one."
        case "not_executing":
            "The customer approved at their bank 20 minutes ago but the money has not been sent. A manager can stop waiting and take another method."
        case "settlement_stalled":
            "The bank is checking this payment: the money may not arrive. A manager has been told."
        case "settlement_reversed":
            "The bank sent this money back to the customer: the order is open again."
        case "declined":
            "A card taken offline was declined by the bank after the customer left: the order is open again."
        case "held":
            "A card taken offline was over the restaurant's limits: a manager decides whether to take it."
        case "not_forwarded":
            "A card taken offline has not reached the bank a day later: bring the iPad that took it online."
        case "paid_twice":
            "The order has been paid twice: a manager can refund the difference."
        default:
            "A manager needs to look at this payment (\(why))."
        }
    }

    /// Why a payment ended without the money.
    public static func notPaid(_ state: PaymentState, method: PaymentMethod?, reason: String?) -> String {
        switch (state, method) {
        case (.expired, .openBanking?):
            return "The QR code's 15 minutes are up. Offer card, Apple Pay or cash."
        case (.expired, _):
            return "The payment ran out of time."
        case (.canceled, _):
            return "The payment was cancelled."
        case (.failed, .openBanking?):
            return "The customer declined or cancelled at their bank. Offer card, Apple Pay or cash."
        default:
            return "The payment was declined\(reason.map { " (\($0))" } ?? ""). Offer another method."
        }
    }

    /// Minutes and seconds: 754 → "12:34".
    public static func countdown(_ seconds: Int) -> String {
        let s = max(0, seconds)
        return "\(s / 60):\(s % 60 < 10 ? "0" : "")\(s % 60)"
    }
}
