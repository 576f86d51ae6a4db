/// What an order costs, as server/orders/pricing.py works it out: line totals, discounts,
/// VAT per rate, service charge, tip and split bills, in integer pence and basis points.
/// The iPad's totals are for display; `shared/schema/vectors/pricing.json` keeps them equal
/// to the server's.
public enum Pricing {
    public static let basisPoints = 10_000

    public struct Discount: Sendable, Hashable {
        public enum Kind: String, Sendable { case percent, fixed }
        public var kind: Kind
        /// Basis points for `percent`, pence for `fixed`.
        public var value: Int
        public init(kind: Kind, value: Int) {
            self.kind = kind
            self.value = value
        }
    }

    public struct Line: Sendable, Hashable {
        public var lineID: String
        public var unitPrice: Int
        public var quantity: Int
        public var vatRateBp: Int
        public var modifierDeltas: [Int] = []
        public var discount: Discount?
        public var voided = false

        public init(lineID: String, unitPrice: Int, quantity: Int, vatRateBp: Int) {
            self.lineID = lineID
            self.unitPrice = unitPrice
            self.quantity = quantity
            self.vatRateBp = vatRateBp
        }
    }

    public struct LineTotal: Sendable, Hashable {
        public var lineID: String
        public var vatRateBp: Int
        public var quantity: Int
        public var unitPrice: Int
        public var gross: Int
        public var lineDiscount: Int
        public var orderDiscount: Int
        public var total: Int
        public var voided: Bool
    }

    public struct VatBucket: Sendable, Hashable {
        public var rateBp: Int
        public var gross: Int
        public var vat: Int
        public var net: Int
    }

    public struct OrderTotals: Sendable, Hashable {
        public var lines: [LineTotal]
        public var subtotal: Int
        public var discountTotal: Int
        public var totalAfterDiscounts: Int
        public var vat: [VatBucket]
        public var vatTotal: Int
        public var serviceCharge: Int
        public var tip: Int
        public var totalDue: Int
    }

    public struct SplitPart: Sendable, Hashable {
        public var lineIDs: [String]
        public var goods: Int
        public var serviceCharge: Int
        public var tip: Int
        public var total: Int
    }

    public static func price(
        _ lines: [Line], orderDiscount: Discount? = nil, serviceChargeBp: Int = 0, tip: Int = 0
    ) -> OrderTotals {
        let unitPrices = lines.map { $0.unitPrice + $0.modifierDeltas.reduce(0, +) }
        let gross = zip(lines, unitPrices).map { line, unit in line.voided ? 0 : unit * line.quantity }
        let lineDiscounts = zip(lines, gross).map { line, gross in discountAmount(line.discount, gross) }
        let afterLineDiscounts = zip(gross, lineDiscounts).map { $0 - $1 }
        let orderDiscountAmount = discountAmount(orderDiscount, afterLineDiscounts.reduce(0, +))
        // A share never exceeds its weight, and a voided line (weight 0) gets none of it.
        let shares = lines.isEmpty
            ? [] : Money.allocateLargestRemainder(orderDiscountAmount, weights: afterLineDiscounts)
        let totals = lines.indices.map { index in
            LineTotal(
                lineID: lines[index].lineID, vatRateBp: lines[index].vatRateBp,
                quantity: lines[index].quantity, unitPrice: unitPrices[index], gross: gross[index],
                lineDiscount: lineDiscounts[index], orderDiscount: shares[index],
                total: gross[index] - lineDiscounts[index] - shares[index], voided: lines[index].voided)
        }
        let totalAfterDiscounts = totals.reduce(0) { $0 + $1.total }
        let vat = vatBuckets(totals)
        let serviceCharge = Money.roundHalfUp(totalAfterDiscounts * serviceChargeBp, basisPoints)
        return OrderTotals(
            lines: totals, subtotal: gross.reduce(0, +),
            discountTotal: lineDiscounts.reduce(0, +) + orderDiscountAmount,
            totalAfterDiscounts: totalAfterDiscounts, vat: vat,
            vatTotal: vat.reduce(0) { $0 + $1.vat }, serviceCharge: serviceCharge, tip: tip,
            totalDue: totalAfterDiscounts + serviceCharge + tip)
    }

    /// `parts` equal shares; leftover pence go round the table (goods, then service, then tip).
    public static func splitEqually(_ totals: OrderTotals, parts: Int) -> [SplitPart] {
        precondition(parts >= 1, "a bill splits into at least 1 part")
        let (goods, afterGoods) = shareRoundTheTable(totals.totalAfterDiscounts, parts, from: 0)
        let (service, afterService) = shareRoundTheTable(totals.serviceCharge, parts, from: afterGoods)
        let (tips, _) = shareRoundTheTable(totals.tip, parts, from: afterService)
        return (0..<parts).map { part in
            SplitPart(
                lineIDs: [], goods: goods[part], serviceCharge: service[part], tip: tips[part],
                total: goods[part] + service[part] + tips[part])
        }
    }

    /// One part per group of line ids; service and tip shared in proportion to goods.
    public static func splitByItems(_ totals: OrderTotals, groups: [[String]]) -> [SplitPart] {
        let byID = Dictionary(totals.lines.map { ($0.lineID, $0.total) }, uniquingKeysWith: { a, _ in a })
        let goods = groups.map { group in group.reduce(0) { $0 + (byID[$1] ?? 0) } }
        let service = Money.allocateLargestRemainder(totals.serviceCharge, weights: goods)
        let tips = Money.allocateLargestRemainder(totals.tip, weights: goods)
        return groups.indices.map { part in
            SplitPart(
                lineIDs: groups[part], goods: goods[part], serviceCharge: service[part], tip: tips[part],
                total: goods[part] + service[part] + tips[part])
        }
    }

    private static func discountAmount(_ discount: Discount?, _ base: Int) -> Int {
        guard let discount else { return 0 }
        switch discount.kind {
        case .percent: return Money.roundHalfUp(base * discount.value, basisPoints)
        case .fixed: return min(discount.value, base)
        }
    }

    /// VAT extracted once per rate from the lines' VAT-inclusive totals, lowest rate first.
    private static func vatBuckets(_ lines: [LineTotal]) -> [VatBucket] {
        var grossByRate: [Int: Int] = [:]
        for line in lines where !line.voided { grossByRate[line.vatRateBp, default: 0] += line.total }
        return grossByRate.keys.sorted().map { rate in
            let gross = grossByRate[rate]!
            let vat = Money.roundHalfUp(gross * rate, basisPoints + rate)
            return VatBucket(rateBp: rate, gross: gross, vat: vat, net: gross - vat)
        }
    }

    private static func shareRoundTheTable(_ amount: Int, _ parts: Int, from first: Int) -> ([Int], Int) {
        let shares = Money.allocateLargestRemainder(amount, weights: Array(repeating: 1, count: parts))
        // Leftover pence land on parts 0, 1, ...; rotate them to start at `first`.
        let rotated = (0..<parts).map { shares[(($0 - first) % parts + parts) % parts] }
        return (rotated, (first + amount % parts) % parts)
    }
}
