import Foundation
import FynloSyncCore

// The payments API's bodies (docs/payments.md; server/payments/schemas.py), as the iPad
// reads them. Amounts are integer minor units; unknown members are ignored, unknown states
// and methods are kept as text so a newer server does not break the till.

/// How a customer pays (`method` on the wire).
public enum PaymentMethod: String, Sendable, Hashable, CaseIterable {
    /// Pay by bank: a QR code the customer scans.
    case openBanking = "open_banking"
    /// A card by its details (the iPad's Stripe SDK); the till offers a card in person instead.
    case card
    /// A card tapped or inserted: Tap to Pay on iPad or a Stripe reader.
    case cardPresent = "card_present"
    case applePay = "apple_pay"
    case cash
}

/// One forward-only state machine for every method (docs/payments.md, "States").
public enum PaymentState: String, Sendable, Hashable {
    case created
    case awaitingCustomer = "awaiting_customer"
    case authorizing
    case succeeded
    case failed
    case expired
    case canceled

    /// Ended: nothing more will happen to it, except a late success (see ``PaymentFlowModel``).
    public var isEnded: Bool { [.succeeded, .failed, .expired, .canceled].contains(self) }

    /// Ended without the money: the till offers another method.
    public var isUnpaidEnding: Bool { [.failed, .expired, .canceled].contains(self) }

    var rank: Int {
        switch self {
        case .created: 0
        case .awaitingCustomer: 1
        case .authorizing: 2
        case .succeeded, .failed, .expired, .canceled: 3
        }
    }
}

/// Where pay-by-bank money stands once the bank executed it (`settlement`).
public enum Settlement: String, Sendable, Hashable {
    /// The payer's bank sent it; the order is paid; the account has not received it yet.
    case executed
    case creditable
    case settled
    /// The provider is checking it: the money may never arrive (a manager is told).
    case stalled
    /// It went back to the payer: it no longer pays the order.
    case reversed
}

/// A pay-by-bank QR: the link to the server's payer page (`/pay/{id}?t=…`), the API paths
/// of the server's PNG and SVG renderings of it, and when it stops working.
public struct BankQR: Sendable, Hashable {
    /// What the QR encodes; the iPad may render it itself (CoreImage) instead of fetching it.
    public var link: String
    /// `/api/v1/payments/{id}/qr.png`, fetched with the till's tokens (gone once ended).
    public var pngPath: String
    public var svgPath: String
    public var expiresAtMs: Int

    public init(link: String, pngPath: String, svgPath: String, expiresAtMs: Int) {
        self.link = link
        self.pngPath = pngPath
        self.svgPath = svgPath
        self.expiresAtMs = expiresAtMs
    }
}

/// A payment as the server answers it (`Payment` in the API).
public struct PaymentView: Sendable, Hashable {
    public var id: String
    public var orderID: String
    /// Kept as text too: a method this build does not know is shown, not dropped.
    public var methodName: String
    public var stateName: String
    public var currency: String
    public var amount: Int
    public var tip: Int
    public var surcharge: Int
    /// What the customer pays: amount + tip + surcharge.
    public var charged: Int
    public var tendered: Int?
    public var change: Int?
    public var qr: BankQR?
    /// For the Terminal SDK (card in person), while the payment waits for the card.
    public var clientSecret: String?
    public var failureReason: String?
    /// After a decline or expiry: the methods the server offers instead, best first.
    public var fallback: [PaymentMethod]
    public var settlement: Settlement?
    public var readerID: String?
    public var captureHold: String?
    public var openDrawer: Bool

    public var method: PaymentMethod? { PaymentMethod(rawValue: methodName) }
    public var state: PaymentState? { PaymentState(rawValue: stateName) }

    public init(
        id: String, orderID: String, method: PaymentMethod, state: PaymentState, currency: String = "GBP",
        amount: Int, tip: Int = 0, surcharge: Int = 0, charged: Int? = nil, tendered: Int? = nil,
        change: Int? = nil, qr: BankQR? = nil, clientSecret: String? = nil, failureReason: String? = nil,
        fallback: [PaymentMethod] = [], settlement: Settlement? = nil, readerID: String? = nil,
        captureHold: String? = nil, openDrawer: Bool = false
    ) {
        self.id = id.lowercased()
        self.orderID = orderID.lowercased()
        self.methodName = method.rawValue
        self.stateName = state.rawValue
        self.currency = currency
        self.amount = amount
        self.tip = tip
        self.surcharge = surcharge
        self.charged = charged ?? (amount + tip + surcharge)
        self.tendered = tendered
        self.change = change
        self.qr = qr
        self.clientSecret = clientSecret
        self.failureReason = failureReason
        self.fallback = fallback
        self.settlement = settlement
        self.readerID = readerID
        self.captureHold = captureHold
        self.openDrawer = openDrawer
    }

    public init(json: JSONValue) throws {
        let wire = PaymentWireReader(json)
        id = try wire.string("id").lowercased()
        orderID = try wire.string("order_id").lowercased()
        methodName = try wire.string("method")
        stateName = try wire.string("state")
        currency = wire.optionalString("currency") ?? "GBP"
        amount = try wire.int("amount")
        tip = wire.optionalInt("tip") ?? 0
        surcharge = wire.optionalInt("surcharge") ?? 0
        charged = wire.optionalInt("charged") ?? (amount + tip + surcharge)
        tendered = wire.optionalInt("tendered")
        change = wire.optionalInt("change")
        let q = PaymentWireReader(json["qr"])
        if let link = q.optionalString("link"), let expires = PaymentWireReader.instantMs(q.optionalString("expires_at")) {
            qr = BankQR(
                link: link, pngPath: q.optionalString("png") ?? "", svgPath: q.optionalString("svg") ?? "",
                expiresAtMs: expires)
        } else {
            qr = nil
        }
        clientSecret = wire.optionalString("client_secret")
        failureReason = wire.optionalString("failure_reason")
        fallback = (json["fallback"].arrayValue ?? []).compactMap { $0.stringValue.flatMap(PaymentMethod.init(rawValue:)) }
        settlement = wire.optionalString("settlement").flatMap(Settlement.init(rawValue:))
        readerID = wire.optionalString("reader_id")
        captureHold = wire.optionalString("capture_hold")
        openDrawer = json["open_drawer"].boolValue ?? false
    }

    /// The answer as the server writes it (for fakes and the journal).
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "order_id": .string(orderID), "method": .string(methodName),
            "state": .string(stateName), "currency": .string(currency), "amount": .int(amount), "tip": .int(tip),
            "surcharge": .int(surcharge), "charged": .int(charged), "tendered": tendered.map(JSONValue.int) ?? .null,
            "change": change.map(JSONValue.int) ?? .null, "client_secret": clientSecret.map(JSONValue.string) ?? .null,
            "failure_reason": failureReason.map(JSONValue.string) ?? .null,
            "fallback": .array(fallback.map { .string($0.rawValue) }),
            "settlement": settlement.map { .string($0.rawValue) } ?? .null,
            "reader_id": readerID.map(JSONValue.string) ?? .null,
            "capture_hold": captureHold.map(JSONValue.string) ?? .null, "open_drawer": .bool(openDrawer),
        ]
        object["qr"] = qr.map {
            [
                "link": .string($0.link), "png": .string($0.pngPath), "svg": .string($0.svgPath),
                "expires_at": .string(PaymentWireReader.instantText($0.expiresAtMs)),
            ]
        } ?? .null
        return .object(object)
    }
}

/// What one payment asks for (`POST /api/v1/payments`). Sent byte for byte the same on a
/// retry, so it is kept in the ``PaymentJournal`` with its Idempotency-Key.
public struct PaymentRequest: Sendable, Hashable {
    public var orderID: String
    public var method: PaymentMethod
    public var amount: Int
    public var tip: Int
    public var acceptSurcharge: Bool
    /// Cash only: what the customer handed over.
    public var tendered: Int?
    /// Apple Pay only: the PassKit payment token.
    public var walletToken: String?
    /// Card only: a Stripe PaymentMethod to charge at once.
    public var paymentMethod: String?

    public init(
        orderID: String, method: PaymentMethod, amount: Int, tip: Int = 0, acceptSurcharge: Bool = false,
        tendered: Int? = nil, walletToken: String? = nil, paymentMethod: String? = nil
    ) {
        self.orderID = orderID.lowercased()
        self.method = method
        self.amount = amount
        self.tip = tip
        self.acceptSurcharge = acceptSurcharge
        self.tendered = tendered
        self.walletToken = walletToken
        self.paymentMethod = paymentMethod
    }

    /// The body: only the members the method takes (another method's member is a 400).
    public var json: JSONValue {
        var body: [String: JSONValue] = [
            "order_id": .string(orderID), "method": .string(method.rawValue), "amount": .int(amount),
        ]
        if tip > 0 { body["tip"] = .int(tip) }
        if acceptSurcharge { body["accept_surcharge"] = .bool(true) }
        if let tendered { body["tendered"] = .int(tendered) }
        if let walletToken { body["wallet_token"] = .string(walletToken) }
        if let paymentMethod { body["payment_method"] = .string(paymentMethod) }
        return .object(body)
    }

    public init(json: JSONValue) throws {
        let wire = PaymentWireReader(json)
        guard let method = PaymentMethod(rawValue: try wire.string("method")) else {
            throw JSONShapeError("unknown method")
        }
        self.init(
            orderID: try wire.string("order_id"), method: method, amount: try wire.int("amount"),
            tip: wire.optionalInt("tip") ?? 0, acceptSurcharge: json["accept_surcharge"].boolValue ?? false,
            tendered: wire.optionalInt("tendered"), walletToken: wire.optionalString("wallet_token"),
            paymentMethod: wire.optionalString("payment_method"))
    }
}

/// One method's price for an amount (`GET /api/v1/payments/quote`).
public struct MethodQuote: Sendable, Hashable {
    public var method: PaymentMethod
    /// The restaurant's cost; `nil` when the iPad cannot know it (offline).
    public var totalFee: Int?
    public var providerFee: Int?
    public var platformFee: Int?
    public var savingVsCard: Int?
    /// What the customer would be asked to add under a `pass_on` policy.
    public var surcharge: Int
    public var customerPays: Int

    public init(
        method: PaymentMethod, totalFee: Int?, providerFee: Int? = nil, platformFee: Int? = nil,
        savingVsCard: Int? = nil, surcharge: Int = 0, customerPays: Int
    ) {
        self.method = method
        self.totalFee = totalFee
        self.providerFee = providerFee
        self.platformFee = platformFee
        self.savingVsCard = savingVsCard
        self.surcharge = surcharge
        self.customerPays = customerPays
    }
}

public struct PaymentQuote: Sendable, Hashable {
    public var amount: Int
    public var currency: String
    public var schedule: String
    /// `absorb` or `pass_on`.
    public var surchargePolicy: String
    /// Cheapest first, as the server lists them.
    public var methods: [MethodQuote]

    public init(amount: Int, currency: String, schedule: String, surchargePolicy: String, methods: [MethodQuote]) {
        self.amount = amount
        self.currency = currency
        self.schedule = schedule
        self.surchargePolicy = surchargePolicy
        self.methods = methods
    }

    public init(json: JSONValue) throws {
        let wire = PaymentWireReader(json)
        amount = try wire.int("amount")
        currency = wire.optionalString("currency") ?? "GBP"
        schedule = wire.optionalString("schedule") ?? ""
        surchargePolicy = wire.optionalString("surcharge_policy") ?? "absorb"
        methods = (json["methods"].arrayValue ?? []).compactMap { item in
            let m = PaymentWireReader(item)
            guard let method = m.optionalString("method").flatMap(PaymentMethod.init(rawValue:)) else { return nil }
            return MethodQuote(
                method: method, totalFee: m.optionalInt("total_fee"), providerFee: m.optionalInt("provider_fee"),
                platformFee: m.optionalInt("platform_fee"), savingVsCard: m.optionalInt("saving_vs_card"),
                surcharge: m.optionalInt("surcharge") ?? 0, customerPays: m.optionalInt("customer_pays") ?? 0)
        }
    }
}

/// How much may be taken by card with no network (`GET /api/v1/payments/offline-card-limits`).
public struct OfflineCardLimits: Sendable, Hashable {
    /// Minor units one card taken offline may charge.
    public var perPayment: Int
    /// Minor units one iPad may hold offline, not yet at Stripe.
    public var total: Int

    public init(perPayment: Int, total: Int) {
        self.perPayment = perPayment
        self.total = total
    }

    public init(json: JSONValue) throws {
        let wire = PaymentWireReader(json)
        self.init(perPayment: try wire.int("per_payment"), total: try wire.int("total"))
    }
}

/// For the Terminal SDK's `ConnectionTokenProvider`.
public struct TerminalConnectionToken: Sendable, Hashable {
    public var secret: String
    public var stripeLocation: String

    public init(secret: String, stripeLocation: String) {
        self.secret = secret
        self.stripeLocation = stripeLocation
    }
}

/// A refund as the server answers it.
public struct RefundView: Sendable, Hashable {
    public var id: String
    public var paymentID: String
    public var amount: Int
    /// `pending`, `succeeded` or `failed`.
    public var state: String
    public var failureReason: String?

    public init(id: String, paymentID: String, amount: Int, state: String, failureReason: String? = nil) {
        self.id = id
        self.paymentID = paymentID
        self.amount = amount
        self.state = state
        self.failureReason = failureReason
    }

    public init(json: JSONValue) throws {
        let wire = PaymentWireReader(json)
        self.init(
            id: try wire.string("id"), paymentID: try wire.string("payment_id"), amount: try wire.int("amount"),
            state: try wire.string("state"), failureReason: wire.optionalString("failure_reason"))
    }
}

/// Reads members of a payment body (FynloSyncCore keeps its own readers internal).
struct PaymentWireReader {
    let json: JSONValue

    init(_ json: JSONValue) { self.json = json }

    func string(_ key: String) throws -> String {
        guard let value = json[key].stringValue else { throw JSONShapeError("\(key) must be a string") }
        return value
    }

    func int(_ key: String) throws -> Int {
        guard let value = json[key].intValue else { throw JSONShapeError("\(key) must be an integer") }
        return value
    }

    func optionalString(_ key: String) -> String? { json[key].stringValue }
    func optionalInt(_ key: String) -> Int? { json[key].intValue }

    /// An RFC 3339 instant (with or without fractions, `Z` or an offset) in Unix ms.
    static func instantMs(_ text: String?) -> Int? {
        guard let text else { return nil }
        let withFractions = ISO8601DateFormatter()
        withFractions.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        guard let date = withFractions.date(from: text) ?? plain.date(from: text) else { return nil }
        return Int((date.timeIntervalSince1970 * 1000).rounded())
    }

    static func instantText(_ ms: Int) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
