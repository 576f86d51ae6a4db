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
}

/// One guest's (or seat's) share of the bill.
public struct BillPart: Sendable, Hashable, Identifiable {
    public var label: String
    public var lineIDs: [String]
    /// Goods after discounts.
    public var goods: Int
    public var serviceCharge: Int
    public var tip: Int
    public var total: Int
    public var id: String { label }
}

public enum BillRefusal: Error, Hashable, Sendable {
    case noParts
    /// Live lines in no group: their price would be lost.
    case linesLeftOut([String])
    /// A line in two groups: its price would be taken twice.
    case lineTwice(String)
    case unknownLine(String)
}

/// The arithmetic of a bill, pure: totals from the order, parts of a split, what is due.
public enum Bill {
    public static func parts(of order: Order, _ split: BillSplit) throws(BillRefusal) -> [BillPart] {
        let totals = order.totals
        switch split {
        case .whole:
            return [
                BillPart(
                    label: "Bill", lineIDs: order.liveLines.map(\.id), goods: totals.totalAfterDiscounts,
                    serviceCharge: totals.serviceCharge, tip: totals.tip, total: totals.totalDue)
            ]
        case .equally(let count):
            guard count >= 1 else { throw .noParts }
            return Pricing.splitEqually(totals, parts: count).enumerated().map { index, part in
                BillPart(label: "Guest \(index + 1)", part)
            }
        case .bySeat:
            let seats = Set(order.liveLines.map(\.seat)).sorted { ($0 ?? .max) < ($1 ?? .max) }
            guard !seats.isEmpty else { return try parts(of: order, .whole) }
            let groups = seats.map { seat in order.liveLines.filter { $0.seat == seat }.map(\.id) }
            return zip(seats, Pricing.splitByItems(totals, groups: groups)).map { seat, part in
                BillPart(label: seat.map { "Seat \($0)" } ?? "Table", part)
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
                BillPart(label: "Guest \(index + 1)", part)
            }
        }
    }

    /// What is still to pay: the total due less what payments cover (never below zero); a
    /// paid order owes nothing whatever this iPad has seen of its payments.
    public static func due(of order: Order, payments: [RecordedPayment]) -> Int {
        guard order.status != .paid, order.status != .voided else { return 0 }
        return max(0, order.totals.totalDue - payments.reduce(0) { $0 + $1.amount })
    }

    /// `count` equal shares of `amount` that sum to it exactly (what is left, among whoever
    /// has not paid yet).
    public static func shares(of amount: Int, count: Int) -> [Int] {
        guard count >= 1, amount >= 0 else { return [] }
        return Money.allocateLargestRemainder(amount, weights: Array(repeating: 1, count: count))
    }
}

extension BillPart {
    init(label: String, _ part: Pricing.SplitPart) {
        self.init(
            label: label, lineIDs: part.lineIDs, goods: part.goods, serviceCharge: part.serviceCharge, tip: part.tip,
            total: part.total)
    }
}
