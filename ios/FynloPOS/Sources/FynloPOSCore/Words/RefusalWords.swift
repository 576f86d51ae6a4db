// What the till says when a model refuses an action: one sentence per refusal, for the
// staff member holding the iPad (the views show `String(describing: error)`).

extension MenuRefusal: CustomStringConvertible {
    public var description: String {
        switch self {
        case .unknownProduct: "That dish is not on the menu any more."
        case .soldOut(let product): "\(product) is 86'd (sold out)."
        case .notEnoughLeft(let product, let remaining):
            "Only \(remaining) \(product) left."
        case .tooFewChoices(let group, let min): "\(group): choose at least \(min)."
        case .tooManyChoices(let group, let max): "\(group): choose at most \(max)."
        case .unknownModifier(let name): "\(name) is not one of this dish's choices."
        case .unknownLocation:
            "This iPad does not know its location yet: sync, then try again."
        }
    }
}

extension FloorRefusal: CustomStringConvertible {
    public var description: String {
        switch self {
        case .unknownTable(let table): "There is no table \(table) on the floor plan."
        case .tableTaken(let table): "Table \(table) already has a party."
        case .tableEmpty(let table): "Table \(table) has nobody seated."
        case .invalidCovers(let covers): "Guests at a table: 1 to 500, not \(covers)."
        case .twoBills: "Two of these tables each have a bill: settle or void one first."
        case .mergeNeedsTwoTables: "Choose at least two tables to join."
        case .notMerged(let table): "Table \(table) is not joined to another."
        case .mainTableOfGroup(let table):
            "Table \(table) holds the joined bill: move the party to another table first."
        }
    }
}

extension OrderRefusal: CustomStringConvertible {
    public var description: String {
        switch self {
        case .unknownOrder: "That order is not on this iPad."
        case .unknownLine: "That item is no longer on the order."
        case .orderClosed(let status): "This order is \(status.rawValue): its bill is final."
        case .menu(let refusal): refusal.description
        case .invalidQuantity(let quantity): "A quantity is 1 to 10,000, not \(quantity)."
        case .invalidSeat(let seat): "Seat \(seat) does not exist (1 to 500)."
        case .invalidCourse(let course): "Course \(course) does not exist (1 to 20)."
        case .invalidCovers(let covers): "Guests on an order: 0 to 500, not \(covers)."
        case .invalidServiceCharge: "A service charge is between 0 % and 100 %."
        case .invalidTip: "A tip is between 0.00 and 100,000.00."
        case .invalidDiscount: "That discount is not possible: up to 100 %, or up to the price."
        case .invalidOpenItem:
            "An open item needs a name, a price up to 100,000.00 and a VAT rate up to 100 %."
        case .nothingToSend: "Nothing new to send to the kitchen."
        case .holdsMoney(let minor):
            "\(minor / 100).\(minor % 100 < 10 ? "0" : "")\(minor % 100) has been taken against this order: refund or cancel it first."
        case .notApproved(let permission): "Not done: a manager did not approve (\(permission))."
        }
    }
}

extension BillRefusal: CustomStringConvertible {
    public var description: String {
        switch self {
        case .noParts: "Split into one part or more."
        case .linesLeftOut(let lines):
            "\(lines.count == 1 ? "One item is" : "\(lines.count) items are") in no part: put every item in a part."
        case .lineTwice: "An item is in two parts: each item goes in one part only."
        case .unknownLine: "That item is no longer on the order."
        case .partPaid(let part): "\(part) has paid already."
        }
    }
}
