#if canImport(PassKit)
import Foundation
import FynloPOSCore
import PassKit

/// The core's ``WalletPay`` port over PassKit: `PKPaymentAuthorizationController` shows the
/// Apple Pay sheet for the amount (minor units) and the customer authorises with Face ID,
/// Touch ID or the side button.
///
/// What the server wants is a Stripe card token (`card[token]`, docs/payments.md "Cards and
/// Apple Pay on Stripe's current API"), not PassKit's encrypted blob, so the authorised
/// `PKPayment` is handed to `tokenize`, which the app supplies: with Stripe's iOS SDK,
/// `STPAPIClient.shared.createToken(with: payment)` gives the `tok_…` id. The sheet shows
/// success only once that token exists; the server then charges it.
///
/// Needs an Apple Pay merchant id (Signing & Capabilities → Apple Pay) registered with
/// Stripe. Never compiled on this project's Linux CI: a first build on a Mac must check it.
public struct PassKitWallet: WalletPay {
    public typealias Tokenize = @MainActor @Sendable (PKPayment) async throws -> String

    public let merchantID: String
    public let countryCode: String
    public let networks: [PKPaymentNetwork]
    private let tokenize: Tokenize

    public init(
        merchantID: String, countryCode: String = "GB",
        networks: [PKPaymentNetwork] = [.visa, .masterCard, .amex, .maestro], tokenize: @escaping Tokenize
    ) {
        self.merchantID = merchantID
        self.countryCode = countryCode
        self.networks = networks
        self.tokenize = tokenize
    }

    public func isAvailable() async -> Bool {
        let networks = networks
        return await MainActor.run { PKPaymentAuthorizationController.canMakePayments(usingNetworks: networks) }
    }

    public func requestToken(amount: Int, currency: String, label: String) async throws -> String? {
        let sheet = await WalletSheet(tokenize: tokenize)
        return try await sheet.run(
            merchantID: merchantID, countryCode: countryCode, networks: networks, amount: amount, currency: currency,
            label: label)
    }
}

public enum WalletPayError: Error, Sendable, Hashable {
    /// The sheet could not be shown (no card in Wallet, or Apple Pay is off).
    case notPresented
}

/// One Apple Pay sheet, from showing it to its dismissal. Kept alive by `run`'s await (the
/// controller holds its delegate weakly).
@MainActor
private final class WalletSheet: NSObject {
    private let tokenize: PassKitWallet.Tokenize
    private var continuation: CheckedContinuation<String?, any Error>?
    private var controller: PKPaymentAuthorizationController?
    private var token: String?
    private var failure: (any Error)?

    init(tokenize: @escaping PassKitWallet.Tokenize) {
        self.tokenize = tokenize
    }

    func run(
        merchantID: String, countryCode: String, networks: [PKPaymentNetwork], amount: Int, currency: String,
        label: String
    ) async throws -> String? {
        let request = PKPaymentRequest()
        request.merchantIdentifier = merchantID
        request.countryCode = countryCode
        request.currencyCode = currency
        request.supportedNetworks = networks
        request.merchantCapabilities = .threeDSecure
        request.paymentSummaryItems = [
            PKPaymentSummaryItem(label: label, amount: NSDecimalNumber(value: amount).multiplying(byPowerOf10: -2))
        ]
        let controller = PKPaymentAuthorizationController(paymentRequest: request)
        controller.delegate = self
        self.controller = controller
        return try await withCheckedThrowingContinuation { continuation in
            self.continuation = continuation
            controller.present { presented in
                if !presented { self.finish(failing: WalletPayError.notPresented) }
            }
        }
    }

    fileprivate func authorised(_ payment: PKPayment, handler: @escaping (PKPaymentAuthorizationResult) -> Void) {
        Task { @MainActor in
            do {
                token = try await tokenize(payment)
                handler(PKPaymentAuthorizationResult(status: .success, errors: nil))
            } catch {
                failure = error
                handler(PKPaymentAuthorizationResult(status: .failure, errors: [error]))
            }
        }
    }

    fileprivate func dismissed() {
        controller?.dismiss {
            Task { @MainActor in self.finish(failing: self.failure) }
        }
    }

    /// Ends `run`: the token, `nil` if the customer cancelled, or the failure.
    private func finish(failing error: (any Error)?) {
        guard let continuation else { return }
        self.continuation = nil
        controller = nil
        if let token, error == nil {
            continuation.resume(returning: token)
        } else if let error {
            continuation.resume(throwing: error)
        } else {
            continuation.resume(returning: nil)
        }
    }
}

extension WalletSheet: @preconcurrency PKPaymentAuthorizationControllerDelegate {
    func paymentAuthorizationController(
        _ controller: PKPaymentAuthorizationController, didAuthorizePayment payment: PKPayment,
        handler completion: @escaping (PKPaymentAuthorizationResult) -> Void
    ) {
        authorised(payment, handler: completion)
    }

    func paymentAuthorizationControllerDidFinish(_ controller: PKPaymentAuthorizationController) {
        dismissed()
    }
}
#endif
