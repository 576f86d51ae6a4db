/// Exact money arithmetic in integer pence, as server/money.py: one rounding rule, one way
/// to share. No floats anywhere.
public enum Money {
    /// `numerator / denominator` to the nearest integer, halves away from zero.
    public static func roundHalfUp(_ numerator: Int, _ denominator: Int) -> Int {
        precondition(denominator > 0, "denominator must be positive")
        let magnitude = (2 * abs(numerator) + denominator) / (2 * denominator)
        return numerator < 0 ? -magnitude : magnitude
    }

    /// Shares `total` in proportion to `weights`, summing exactly (Hamilton's method): whole
    /// shares first, leftover pence to the largest remainders, ties to the lower index. All
    /// weights zero: shared equally.
    public static func allocateLargestRemainder(_ total: Int, weights: [Int]) -> [Int] {
        precondition(total >= 0 && !weights.isEmpty && weights.allSatisfy { $0 >= 0 })
        let weights = weights.allSatisfy { $0 == 0 } ? Array(repeating: 1, count: weights.count) : weights
        let weightSum = weights.reduce(0, +)
        let shares = weights.map { (total * $0).quotientAndRemainder(dividingBy: weightSum) }
        var parts = shares.map(\.quotient)
        let leftover = total - parts.reduce(0, +)
        // A stable order on remainder alone keeps lower indexes first among equals.
        let byRemainder = weights.indices.sorted { lhs, rhs in
            shares[lhs].remainder != shares[rhs].remainder
                ? shares[lhs].remainder > shares[rhs].remainder : lhs < rhs
        }
        for index in byRemainder.prefix(leftover) { parts[index] += 1 }
        return parts
    }
}
