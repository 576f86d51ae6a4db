import Foundation

// The payment screens' ports. Each has an HTTP or Apple implementation at the edge
// (FynloPOSHTTP; the Terminal SDK and PassKit in the app) and a fake in FynloPOSTesting.

/// The server's payments API (docs/payments.md). Every call that can move money carries
/// an Idempotency-Key the caller chose and kept (``PaymentJournal``) before sending, so a
/// retry, however late, gets the first call's answer instead of paying twice.
public protocol PaymentsAPI: Sendable {
    /// `GET /api/v1/payments/quote?amount=`: every method's fees, cheapest first.
    func quote(amount: Int) async throws -> PaymentQuote
    /// `POST /api/v1/payments`.
    func create(_ request: PaymentRequest, idempotencyKey: String) async throws -> PaymentView
    /// `GET /api/v1/payments/{id}`: where it stands now (the poll behind the socket).
    func payment(_ id: String) async throws -> PaymentView
    /// `POST /api/v1/payments/{id}/cancel`: staff stop a payment still waiting.
    func cancel(_ id: String, idempotencyKey: String) async throws -> PaymentView
    /// `POST /api/v1/payments/{id}/capture`: right after the Terminal SDK confirmed the card.
    func capture(_ id: String, idempotencyKey: String) async throws -> PaymentView
    /// `POST /api/v1/payments/{id}/collect`: shows a card-in-person payment on a registered reader.
    func collect(_ id: String, readerID: String, tipOnReader: Bool, idempotencyKey: String) async throws -> PaymentView
    /// `GET /api/v1/payments/{id}/qr.png` (or `.svg`): the server's rendering of the QR.
    func qrImage(_ id: String, format: QRImageFormat) async throws -> Data
    /// `POST /api/v1/payments/terminal/connection-token`, for the Terminal SDK.
    func connectionToken() async throws -> TerminalConnectionToken
    /// `GET /api/v1/payments/offline-card-limits`, cached by the app for when it is offline.
    func offlineCardLimits() async throws -> OfflineCardLimits
    /// `POST /api/v1/payments/{id}/refunds`; `approval` is a manager's `payments.refund`
    /// approval token (`X-Fynlo-Approval`) when the limits or the role need one.
    func refund(
        _ paymentID: String, amount: Int?, reason: String, approval: String?, idempotencyKey: String
    ) async throws -> RefundView
}

public enum QRImageFormat: String, Sendable, Hashable {
    case png
    case svg
}

/// Why a payments call did not give an answer.
public enum PaymentsAPIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The request or its answer was lost (no network, a timeout): it may or may not have
    /// reached the server, so it is retried with the same key, never a new one.
    case unreachable(String)
    /// The server answered with a problem (docs/errors.md): its status and stable code.
    case refused(status: Int, code: String?, detail: String?)

    public var description: String {
        switch self {
        case .unreachable(let why): "unreachable: \(why)"
        case .refused(let status, let code, let detail): "HTTP \(status) \(code ?? "") \(detail ?? "")"
        }
    }

    /// Worth retrying with the same key: lost, the provider down (503), the first request
    /// still running (409 `idempotency.in_progress`), rate limited.
    public var isRetryable: Bool {
        switch self {
        case .unreachable: true
        case .refused(let status, let code, _):
            status >= 500 || status == 429 || code == "idempotency.in_progress"
        }
    }

    public var code: String? {
        if case .refused(_, let code, _) = self { return code }
        return nil
    }
}

/// A card reader the Terminal SDK can use: Tap to Pay on this iPad, or a paired reader.
public struct CardReader: Sendable, Hashable, Identifiable {
    public enum Kind: String, Sendable, Hashable {
        /// Tap to Pay on iPad: the iPad is the reader.
        case tapToPay
        /// A Bluetooth or USB reader the SDK drives.
        case paired
        /// A smart reader registered at the location: the server drives it (`/collect`).
        case internet
    }

    public var id: String
    public var label: String
    public var kind: Kind

    public init(id: String, label: String, kind: Kind) {
        self.id = id
        self.label = label
        self.kind = kind
    }
}

/// What the Terminal SDK says after collecting and confirming a card.
public enum CardCollection: Sendable, Hashable {
    /// The card was authorised: the server captures it (`/capture`).
    case authorised
    /// The card was refused; `code` is the network's decline code.
    case declined(code: String?)
    /// Staff or the customer stopped it on the reader.
    case canceled
}

/// A card taken with no network, for Stripe Terminal's offline mode: the SDK stores it
/// and forwards it when the network returns (docs/payments.md, "Cards taken offline").
public struct OfflineCardIntent: Sendable, Hashable {
    /// A new UUID, in the PaymentIntent's metadata (`payment_id`) and the id of the
    /// `offline_card_payment` entity: the server matches them exactly once by it.
    public var paymentID: String
    public var amount: Int
    public var tip: Int
    public var currency: String

    public init(paymentID: String, amount: Int, tip: Int, currency: String) {
        self.paymentID = paymentID
        self.amount = amount
        self.tip = tip
        self.currency = currency
    }
}

public enum OfflineCardCollection: Sendable, Hashable {
    /// Stored on the iPad at `storedAtMs`, to be forwarded to Stripe later.
    case stored(storedAtMs: Int)
    case declined(code: String?)
    case canceled
}

/// Stripe Terminal behind a port: on the iPad its iOS SDK (`Terminal.shared`, with a
/// `ConnectionTokenProvider` over ``PaymentsAPI/connectionToken()``), in tests a fake with
/// a simulated reader. The server creates each online PaymentIntent (manual capture) and
/// captures it; the SDK only collects and confirms the card.
public protocol CardTerminal: Sendable {
    /// Readers the SDK can connect to now (Tap to Pay when the iPad supports it).
    func discoverReaders() async throws -> [CardReader]
    func connect(_ reader: CardReader) async throws
    /// The reader in use, if any.
    func connectedReader() async -> CardReader?
    /// Retrieves the PaymentIntent by its client secret, collects the card and confirms it.
    func collect(clientSecret: String) async throws -> CardCollection
    /// Whether the SDK may store a card offline now (its offline mode is on, a reader is
    /// connected and it has connected online before).
    func canTakeOffline() async -> Bool
    /// Minor units the SDK holds offline, not yet forwarded (counts against the iPad's cap).
    func heldOffline(currency: String) async -> Int
    /// Creates the offline PaymentIntent (manual capture, `payment_id` in metadata) and
    /// collects the card into the SDK's store.
    func collectOffline(_ intent: OfflineCardIntent) async throws -> OfflineCardCollection
    /// When the SDK stored the offline payment with this `payment_id` (Unix ms), if it did:
    /// after a kill mid-collection, this says whether a card was taken.
    func storedOffline(paymentID: String) async -> Int?
}

/// Apple Pay behind a port: PassKit's `PKPaymentAuthorizationController` on the iPad.
public protocol WalletPay: Sendable {
    func isAvailable() async -> Bool
    /// Shows the sheet for `amount` (minor units); the payment token, or `nil` if cancelled.
    func requestToken(amount: Int, currency: String, label: String) async throws -> String?
}

/// The cash drawer: opened by a signal (a printer's kick or a USB drawer) once cash is taken.
public protocol CashDrawer: Sendable {
    func open() async throws
}
