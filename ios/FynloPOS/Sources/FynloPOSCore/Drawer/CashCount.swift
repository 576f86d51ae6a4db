import FynloSyncCore

/// Notes and coins counted into or out of a drawer, per GBP denomination in pence (Bank of
/// England notes, Royal Mint coins: server/cashup/drawers_rules.py `DENOMINATIONS`).
///
/// The total is worked out from the pieces, never typed; the server works it out again and
/// refuses a count whose claimed total it does not make.
public struct CashCount: Sendable, Hashable {
    /// Largest first, as a till's tray is laid out.
    public static let denominations = [5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1]
    /// More of one note or coin than any till holds: a typing slip, not a count.
    public static let maxPieces = 100_000

    /// Pieces per denomination; a denomination not counted is 0.
    public private(set) var pieces: [Int: Int] = [:]

    public init() {}

    /// A count from pieces per denomination; refused if one is not a note or coin, or its
    /// pieces are not 0 to 100,000.
    public init(_ pieces: [Int: Int]) throws {
        for (denomination, count) in pieces { try set(denomination, count) }
    }

    public subscript(denomination: Int) -> Int { pieces[denomination] ?? 0 }

    /// Sets how many of one note or coin were counted.
    public mutating func set(_ denomination: Int, _ count: Int) throws {
        guard Self.denominations.contains(denomination) else { throw DrawerRefusal.notADenomination(denomination) }
        guard (0...Self.maxPieces).contains(count) else { throw DrawerRefusal.badPieces(denomination, count) }
        pieces[denomination] = count == 0 ? nil : count
    }

    /// Pence in the drawer by this count.
    public var total: Int { pieces.reduce(0) { $0 + $1.key * $1.value } }

    /// As `float_counts` and `counts` travel: every denomination, keys in pence as text.
    var json: JSONValue {
        .object(Dictionary(uniqueKeysWithValues: Self.denominations.map { ("\($0)", JSONValue.int(self[$0])) }))
    }

    /// A count as the wire gives it back; pieces that are not a count are left out.
    init(json: JSONValue?) {
        guard case .object(let fields)? = json else { return }
        for (key, value) in fields {
            if let denomination = Int(key), let count = value.intValue { try? set(denomination, count) }
        }
    }

    /// A denomination in words: "£50", "£2", "50p", "1p".
    public static func name(_ denomination: Int) -> String {
        denomination >= 100 ? "£\(denomination / 100)" : "\(denomination)p"
    }
}
