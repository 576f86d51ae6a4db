import Foundation
import FynloSyncCore

/// One payment step the till began and has not seen to its end, kept durably **before** it
/// is sent, so a till killed mid-payment carries on with the same Idempotency-Key (or the
/// same entity id) and never pays twice.
///
/// - API steps (``Kind/create``, ``Kind/capture``, ``Kind/cancel``, ``Kind/collect``): `id`
///   is the Idempotency-Key; a retry sends the same request with it and the server answers
///   what it answered the first time.
/// - Offline steps (``Kind/cash``, ``Kind/offlineCard``): `id` is the synced entity's id; a
///   retry finds the entity already recorded, or records the same one.
public struct PaymentAttempt: Sendable, Hashable, Identifiable {
    public enum Kind: String, Sendable, Hashable {
        case create, capture, cancel, collect, cash, offlineCard = "offline_card"
        /// A refund (``RefundModel``): `fields` hold the amount, reason and approval token.
        case refund
    }

    public var id: String
    public var kind: Kind
    public var orderID: String
    /// Which part of a split bill (the bill's own id for it); `whole` for the whole order.
    public var partID: String
    /// ``Kind/create``: the request, sent byte for byte the same on every retry.
    public var request: PaymentRequest?
    /// The server's payment, once known (the answer to the create; the target of the others).
    public var paymentID: String?
    public var readerID: String?
    /// ``Kind/cash`` and ``Kind/offlineCard``: the entity's fields, recorded as they are.
    public var fields: [String: JSONValue]
    public var startedAtMs: Int
    /// A create whose answer was lost when the till moved on to another way of paying: if
    /// it made a payment, that payment is cancelled when the answer comes, not shown.
    public var abandoned: Bool

    public init(
        id: String, kind: Kind, orderID: String, partID: String, request: PaymentRequest? = nil,
        paymentID: String? = nil, readerID: String? = nil, fields: [String: JSONValue] = [:], startedAtMs: Int,
        abandoned: Bool = false
    ) {
        self.id = id
        self.kind = kind
        self.orderID = orderID.lowercased()
        self.partID = partID
        self.request = request
        self.paymentID = paymentID
        self.readerID = readerID
        self.fields = fields
        self.startedAtMs = startedAtMs
        self.abandoned = abandoned
    }

    public var json: JSONValue {
        [
            "id": .string(id), "kind": .string(kind.rawValue), "order_id": .string(orderID),
            "part_id": .string(partID), "request": request?.json ?? .null,
            "payment_id": paymentID.map(JSONValue.string) ?? .null,
            "reader_id": readerID.map(JSONValue.string) ?? .null, "fields": .object(fields),
            "started_at_ms": .int(startedAtMs), "abandoned": .bool(abandoned),
        ]
    }

    public init(json: JSONValue) throws {
        let wire = PaymentWireReader(json)
        guard let kind = Kind(rawValue: try wire.string("kind")) else { throw JSONShapeError("unknown kind") }
        self.init(
            id: try wire.string("id"), kind: kind, orderID: try wire.string("order_id"),
            partID: wire.optionalString("part_id") ?? "whole",
            request: json["request"].isNull ? nil : try PaymentRequest(json: json["request"]),
            paymentID: wire.optionalString("payment_id"), readerID: wire.optionalString("reader_id"),
            fields: json["fields"].objectValue ?? [:], startedAtMs: wire.optionalInt("started_at_ms") ?? 0,
            abandoned: json["abandoned"].boolValue ?? false)
    }
}

/// Where payment steps in flight are kept across an app kill. ``save(_:)`` must be durable
/// when it returns: the step is sent only after it.
public protocol PaymentJournal: Sendable {
    /// Adds or replaces the attempt with this id.
    func save(_ attempt: PaymentAttempt) async throws
    /// The step reached its end (an answer that ends it, or nothing left to do): forget it.
    func finish(_ id: String) async throws
    /// Every attempt not finished, oldest first.
    func unfinished() async throws -> [PaymentAttempt]
}

/// A ``PaymentJournal`` in one JSON file, rewritten atomically on every change (a handful
/// of attempts at most). On the iPad put it in Application Support with complete file
/// protection: an Apple Pay attempt holds its wallet token until it ends.
public actor FilePaymentJournal: PaymentJournal {
    private let url: URL
    private var attempts: [PaymentAttempt]

    /// Opens the journal at `url`, reading what a previous run left.
    public init(url: URL) throws {
        self.url = url
        if let data = try? Data(contentsOf: url), !data.isEmpty {
            let json = try JSONReader.parse(data)
            attempts = try (json["attempts"].arrayValue ?? []).map(PaymentAttempt.init(json:))
        } else {
            attempts = []
        }
    }

    public func save(_ attempt: PaymentAttempt) throws {
        var next = attempts
        if let index = next.firstIndex(where: { $0.id == attempt.id }) {
            next[index] = attempt
        } else {
            next.append(attempt)
        }
        try write(next)
        attempts = next
    }

    public func finish(_ id: String) throws {
        let next = attempts.filter { $0.id != id }
        guard next.count != attempts.count else { return }
        try write(next)
        attempts = next
    }

    public func unfinished() -> [PaymentAttempt] { attempts }

    private func write(_ attempts: [PaymentAttempt]) throws {
        let data = JSONWriter.data(["attempts": .array(attempts.map(\.json))])
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        #if os(iOS)
        // An Apple Pay attempt holds its wallet token until it ends: readable only unlocked.
        try data.write(to: url, options: [.atomic, .completeFileProtection])
        #else
        try data.write(to: url, options: .atomic)
        #endif
    }
}
