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

/// A payment this till took and saw succeed, kept after its steps have ended: which part of
/// a split bill it paid, and, for a payment the iPad cannot read back from its store (card,
/// Apple Pay, pay by bank: only cash and offline cards are synced entities), that it paid.
///
/// The server has nowhere to keep the part: a payment's create refuses unknown fields, and
/// so do the synced `cash_payment` and `offline_card_payment` (server/payments/schemas.py,
/// sync.py, offline_cards.py). So the till keeps it, keyed by the payment's id (the synced
/// entity's id for cash and offline cards), in the journal: it survives an app kill, and it
/// is written before the steps that took the payment are forgotten.
public struct PaymentReceipt: Sendable, Hashable, Identifiable {
    /// The server's payment id (= the entity id of a cash or offline card payment).
    public var id: String
    public var orderID: String
    /// ``BillPart/id`` of the part it paid (`whole` for the whole order).
    public var partID: String
    public var method: RecordedPayment.Method
    /// The method, for the words (card, Apple Pay, pay by bank).
    public var paidBy: PaymentMethod?
    /// Pence towards the order; the tip is on top.
    public var amount: Int
    public var tip: Int
    public var takenAtMs: Int

    public init(
        id: String, orderID: String, partID: String, method: RecordedPayment.Method, paidBy: PaymentMethod? = nil,
        amount: Int, tip: Int = 0, takenAtMs: Int
    ) {
        self.id = id.lowercased()
        self.orderID = orderID.lowercased()
        self.partID = partID
        self.method = method
        self.paidBy = paidBy
        self.amount = amount
        self.tip = tip
        self.takenAtMs = takenAtMs
    }

    public var json: JSONValue {
        [
            "id": .string(id), "order_id": .string(orderID), "part_id": .string(partID),
            "method": .string(method.rawValue), "paid_by": paidBy.map { .string($0.rawValue) } ?? .null,
            "amount": .int(amount), "tip": .int(tip),
            "taken_at_ms": .int(takenAtMs),
        ]
    }

    public init(json: JSONValue) throws {
        let wire = PaymentWireReader(json)
        guard let method = RecordedPayment.Method(rawValue: try wire.string("method")) else {
            throw JSONShapeError("unknown method")
        }
        self.init(
            id: try wire.string("id"), orderID: try wire.string("order_id"), partID: try wire.string("part_id"),
            method: method, paidBy: wire.optionalString("paid_by").flatMap(PaymentMethod.init(rawValue:)),
            amount: wire.optionalInt("amount") ?? 0, tip: wire.optionalInt("tip") ?? 0,
            takenAtMs: wire.optionalInt("taken_at_ms") ?? 0)
    }

    /// How long receipts are kept: a bill is settled within hours; a week leaves room for a
    /// long tab and a clock put right.
    public static let keptFor = 7 * 24 * 3_600_000
}

/// Where payment steps in flight are kept across an app kill, and the receipts of payments
/// taken. ``save(_:)`` and ``keep(_:)`` must be durable when they return: a step is sent
/// only after it is saved, and its steps are forgotten only after its receipt is kept.
public protocol PaymentJournal: Sendable {
    /// Adds or replaces the attempt with this id.
    func save(_ attempt: PaymentAttempt) async throws
    /// The step reached its end (an answer that ends it, or nothing left to do): forget it.
    func finish(_ id: String) async throws
    /// Every attempt not finished, oldest first.
    func unfinished() async throws -> [PaymentAttempt]
    /// Adds or replaces the receipt for its payment; receipts older than
    /// ``PaymentReceipt/keptFor`` before the newest may be dropped.
    func keep(_ receipt: PaymentReceipt) async throws
    /// The payment no longer pays (its bank transfer was reversed): forget its receipt.
    func dropReceipt(_ paymentID: String) async throws
    /// The receipts for one order, oldest first.
    func receipts(for orderID: String) async throws -> [PaymentReceipt]
}

/// A ``PaymentJournal`` in one JSON file, rewritten atomically on every change (a handful
/// of attempts at most). On the iPad put it in Application Support with complete file
/// protection: an Apple Pay attempt holds its wallet token until it ends.
public actor FilePaymentJournal: PaymentJournal {
    private let url: URL
    private var attempts: [PaymentAttempt]
    private var receipts: [PaymentReceipt]

    /// Opens the journal at `url`, reading what a previous run left (a file from before
    /// receipts were kept has none).
    public init(url: URL) throws {
        self.url = url
        if let data = try? Data(contentsOf: url), !data.isEmpty {
            let json = try JSONReader.parse(data)
            attempts = try (json["attempts"].arrayValue ?? []).map(PaymentAttempt.init(json:))
            receipts = try (json["receipts"].arrayValue ?? []).map(PaymentReceipt.init(json:))
        } else {
            attempts = []
            receipts = []
        }
    }

    public func save(_ attempt: PaymentAttempt) throws {
        var next = attempts
        if let index = next.firstIndex(where: { $0.id == attempt.id }) {
            next[index] = attempt
        } else {
            next.append(attempt)
        }
        try write(next, receipts)
        attempts = next
    }

    public func finish(_ id: String) throws {
        let next = attempts.filter { $0.id != id }
        guard next.count != attempts.count else { return }
        try write(next, receipts)
        attempts = next
    }

    public func unfinished() -> [PaymentAttempt] { attempts }

    public func keep(_ receipt: PaymentReceipt) throws {
        var receipt = receipt
        // Taken when first kept; a screen polling a paid payment keeps the same again: no write.
        if let earlier = receipts.first(where: { $0.id == receipt.id }) { receipt.takenAtMs = earlier.takenAtMs }
        guard !receipts.contains(receipt) else { return }
        var next = receipts.filter { $0.id != receipt.id } + [receipt]
        let newest = next.map(\.takenAtMs).max() ?? 0
        next.removeAll { $0.takenAtMs < newest - PaymentReceipt.keptFor }
        try write(attempts, next)
        receipts = next
    }

    public func dropReceipt(_ paymentID: String) throws {
        let next = receipts.filter { $0.id != paymentID.lowercased() }
        guard next.count != receipts.count else { return }
        try write(attempts, next)
        receipts = next
    }

    public func receipts(for orderID: String) -> [PaymentReceipt] {
        receipts.filter { $0.orderID == orderID.lowercased() }
    }

    private func write(_ attempts: [PaymentAttempt], _ receipts: [PaymentReceipt]) throws {
        let data = JSONWriter.data([
            "attempts": .array(attempts.map(\.json)), "receipts": .array(receipts.map(\.json)),
        ])
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
