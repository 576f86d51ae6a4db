import FynloSyncCore

/// How a bill is shared out. Every way sums to the bill exactly, to the penny: the amounts
/// come from FynloSyncCore's `Pricing` (server/orders/pricing.py's port), which shares with
/// the largest-remainder rule (`Money.allocateLargestRemainder`).
public enum BillSplit: Sendable, Hashable {
    /// One part: the whole bill.
    case whole
    /// `n` equal parts; leftover pence go round the table.
    case equally(Int)
    /// One part per seat (lines with no seat make a "Table" part); service charge and tip
    /// shared in proportion to each part's goods.
    case bySeat
    /// One part per group of line ids; every live line in exactly one group.
    case byItems([[String]])

    /// The split a part id was made under, where the id alone says it (``BillPart/id``):
    /// whole, equally, by seat. Not by item: one group does not give the others.
    public init?(partID: String) {
        let pieces = partID.split(separator: "/")
        if partID == "whole" {
            self = .whole
        } else if pieces.first == "equally", pieces.count == 3, let count = Int(pieces[1]), count >= 1 {
            self = .equally(count)
        } else if pieces.first == "seat" {
            self = .bySeat
        } else {
            return nil
        }
    }
}

/// One guest's (or seat's) share of the bill.
public struct BillPart: Sendable, Hashable, Identifiable {
    /// Which part this is, the same every time the bill is split the same way (`whole`,
    /// `equally/3/1`, `seat/2`, `seat/table`, `items/` and its line ids): a payment taken for
    /// the part carries it (``PaymentDue/partID``, kept in the journal's ``PaymentReceipt``),
    /// so the part shows paid after a reload, a re-split back, or an app kill.
    public var id: String
    public var label: String
    public var lineIDs: [String]
    /// Goods after discounts.
    public var goods: Int
    public var serviceCharge: Int
    public var tip: Int
    /// Its share of the whole bill.
    public var total: Int
    /// Paid towards it by the payments taken for it.
    public var paid = 0
    /// What it still owes (``Bill/settle(_:of:payments:)``); the parts' dues sum to what the
    /// bill has left.
    public var due: Int
    public var isPaid: Bool { due == 0 }
}

public enum BillRefusal: Error, Hashable, Sendable {
    case noParts
    /// Live lines in no group: their price would be lost.
    case linesLeftOut([String])
    /// A line in two groups: its price would be taken twice.
    case lineTwice(String)
    case unknownLine(String)
    /// This part (its label) is paid already.
    case partPaid(String)
}

/// The arithmetic of a bill, pure: totals from the order, parts of a split, what is due.
public enum Bill {
    public static func parts(of order: Order, _ split: BillSplit) throws(BillRefusal) -> [BillPart] {
        let totals = order.totals
        switch split {
        case .whole:
            return [
                BillPart(
                    id: "whole", label: "Bill", lineIDs: order.liveLines.map(\.id), goods: totals.totalAfterDiscounts,
                    serviceCharge: totals.serviceCharge, tip: totals.tip, total: totals.totalDue, due: totals.totalDue)
            ]
        case .equally(let count):
            guard count >= 1 else { throw .noParts }
            return Pricing.splitEqually(totals, parts: count).enumerated().map { index, part in
                BillPart(id: "equally/\(count)/\(index + 1)", label: "Guest \(index + 1)", part)
            }
        case .bySeat:
            let seats = Set(order.liveLines.map(\.seat)).sorted { ($0 ?? .max) < ($1 ?? .max) }
            guard !seats.isEmpty else { return try parts(of: order, .whole) }
            let groups = seats.map { seat in order.liveLines.filter { $0.seat == seat }.map(\.id) }
            return zip(seats, Pricing.splitByItems(totals, groups: groups)).map { seat, part in
                BillPart(id: "seat/\(seat.map(String.init) ?? "table")", label: seat.map { "Seat \($0)" } ?? "Table", part)
            }
        case .byItems(let groups):
            guard !groups.isEmpty else { throw .noParts }
            let live = Set(order.liveLines.map(\.id))
            let known = Set(order.lines.map(\.id))
            var seen: Set<String> = []
            for id in groups.flatMap({ $0 }) {
                guard known.contains(id) else { throw .unknownLine(id) }
                guard seen.insert(id).inserted else { throw .lineTwice(id) }
            }
            let left = live.subtracting(seen)
            guard left.isEmpty else { throw .linesLeftOut(left.sorted()) }
            return Pricing.splitByItems(totals, groups: groups).enumerated().map { index, part in
                BillPart(id: "items/" + part.lineIDs.sorted().joined(separator: ","), label: "Guest \(index + 1)", part)
            }
        }
    }

    /// What is still to pay: the total due less what payments cover (never below zero); a
    /// paid order owes nothing whatever this iPad has seen of its payments.
    public static func due(of order: Order, payments: [RecordedPayment]) -> Int {
        guard order.status != .paid, order.status != .voided else { return 0 }
        return max(0, order.totals.totalDue - payments.reduce(0) { $0 + $1.amount })
    }

    /// The parts with what each has paid and still owes, exact to the penny.
    ///
    /// A payment taken for a part (its ``RecordedPayment/partID`` is the part's id) is that
    /// part's. Any other (taken under another split, for the whole bill, or on another iPad)
    /// is shared across the parts as the bill is: each part's share of what the parts must
    /// cover between them (the total less those payments) by its own weight, largest
    /// remainder. A part owes its share less what it paid. Should that overshoot what the bill
    /// has left (a part paid more than its share, or the order is marked paid), what is left
    /// is shared again among the parts that owe, in proportion to what they owe. Either way
    /// the parts' dues sum to ``due(of:payments:)``.
    public static func settle(_ parts: [BillPart], of order: Order, payments: [RecordedPayment]) -> [BillPart] {
        guard !parts.isEmpty else { return parts }
        let ids = Set(parts.map(\.id))
        let elsewhere = payments.filter { !ids.contains($0.partID ?? "") }.reduce(0) { $0 + $1.amount }
        let shares = Money.allocateLargestRemainder(
            max(0, order.totals.totalDue - elsewhere), weights: parts.map { max(0, $0.total) })
        var settled = parts
        for index in settled.indices {
            let paid = payments.filter { $0.partID == parts[index].id }.reduce(0) { $0 + $1.amount }
            settled[index].paid = paid
            settled[index].due = max(0, shares[index] - paid)
        }
        let left = due(of: order, payments: payments)
        let owed = settled.map(\.due)
        if owed.reduce(0, +) != left {
            for (index, due) in Money.allocateLargestRemainder(left, weights: owed).enumerated() {
                settled[index].due = due
            }
        }
        return settled
    }

    /// `count` equal shares of `amount` that sum to it exactly (what is left, among whoever
    /// has not paid yet).
    public static func shares(of amount: Int, count: Int) -> [Int] {
        guard count >= 1, amount >= 0 else { return [] }
        return Money.allocateLargestRemainder(amount, weights: Array(repeating: 1, count: count))
    }
}

extension BillPart {
    init(id: String, label: String, _ part: Pricing.SplitPart) {
        self.init(
            id: id, label: label, lineIDs: part.lineIDs, goods: part.goods, serviceCharge: part.serviceCharge,
            tip: part.tip, total: part.total, due: part.total)
    }
}
