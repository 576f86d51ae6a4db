/// How an iPad numbers its orders offline (server/orders/numbers.py): its own prefix from
/// enrolment, a dash, and its own sequence, at least four digits: `A-0042`. Two iPads never
/// clash (distinct prefixes) and no server round trip is needed.
public protocol OrderNumbering: Sendable {
    func next() async throws -> OrderNumber
}

public struct OrderNumber: Sendable, Hashable {
    public var prefix: String
    public var sequence: Int

    public init(prefix: String, sequence: Int) {
        self.prefix = prefix
        self.sequence = sequence
    }

    public var text: String {
        let digits = String(sequence)
        return "\(prefix)-\(String(repeating: "0", count: max(0, 4 - digits.count)))\(digits)"
    }
}

/// Numbers from the store itself: one past the highest `device_seq` among this prefix's
/// orders the iPad holds (its own pending ones included), and never one it issued before.
/// Nothing else to persist: every number issued becomes an order in the store at once, and
/// a reinstall under the same enrolment pulls its orders back before taking new ones.
public actor DeviceOrderNumbers: OrderNumbering {
    public let prefix: String
    private let records: any Records
    private var lastIssued = 0

    public init(prefix: String, records: any Records) {
        self.prefix = prefix
        self.records = records
    }

    public func next() async throws -> OrderNumber {
        let held = try await records.entities(ofType: "order").values
            .filter { $0.data.string("device_prefix") == prefix }
            .compactMap { $0.data.int("device_seq") }
            .max() ?? 0
        // No await between reading `lastIssued` and raising it: two taps get two numbers.
        lastIssued = max(lastIssued, held) + 1
        return OrderNumber(prefix: prefix, sequence: lastIssued)
    }
}
