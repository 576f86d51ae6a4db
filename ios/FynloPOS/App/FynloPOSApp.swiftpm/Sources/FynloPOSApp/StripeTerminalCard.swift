// The core's `CardTerminal` port over Stripe's Terminal iOS SDK: Tap to Pay on this iPad or
// a paired Bluetooth reader, and Stripe's offline mode within the restaurant's caps
// (docs/payments.md, "Cards taken offline").
//
// A documented stub until the SDK is added: it compiles only where `StripeTerminal` can be
// imported, which needs the SDK as a package dependency of this app (README, "Card in
// person"). Written against the StripeTerminal iOS SDK **4.x** API (4.0 consolidated
// connection: `Terminal.initWithTokenProvider`, `TapToPayDiscoveryConfigurationBuilder`,
// `TapToPayConnectionConfigurationBuilder(delegate:locationId:)`,
// `connectReader(_:connectionConfig:completion:)`, `retrievePaymentIntent(clientSecret:)`,
// `collectPaymentMethod(_:completion:)`, `confirmPaymentIntent(_:completion:)`,
// `CreateConfigurationBuilder().setOfflineBehavior(.forceOffline)`,
// `offlineStatus.sdk.paymentAmountsByCurrency`). In 5.x the same calls exist with async
// variants and `processPaymentIntent` combining collect and confirm; the delegates' Tap to
// Pay methods became `reader(_:…)` on `ReaderInteractionDelegate`. Never compiled here.
#if canImport(StripeTerminal)
import Foundation
import FynloPOSCore
import StripeTerminal

/// One Terminal for the app: the SDK is a singleton that runs one operation at a time.
///
/// Online, the server creates each PaymentIntent (manual capture) and hands the till its
/// client secret; this retrieves it, collects the card and confirms it, and the server
/// captures (`/capture`). Offline, it creates the PaymentIntent itself (`forceOffline`,
/// `payment_id` in its metadata), the SDK stores the confirmed card and forwards it when the
/// network is back, and the till records an `offline_card_payment` with the same id.
@MainActor
final class StripeTerminalCard: NSObject, CardTerminal {
    private let api: any PaymentsAPI
    private let simulated: Bool
    /// Readers from the last discovery, with how they were found.
    private var found: [String: (reader: Reader, kind: CardReader.Kind)] = [:]
    private var discovery: Cancelable?
    private var discovering: CheckedContinuation<[Reader], any Error>?
    /// Offline payments this SDK stored, by `payment_id`, in Unix ms (kept across a kill).
    private let storedKey = "fynlo.terminal.storedOffline"

    init(api: any PaymentsAPI, simulated: Bool = false) {
        self.api = api
        self.simulated = simulated
        super.init()
        if !Terminal.isInitialized() {
            Terminal.initWithTokenProvider(ConnectionTokens(api: api))
        }
        Terminal.shared.offlineDelegate = self
    }

    // MARK: Readers

    func discoverReaders() async throws -> [CardReader] {
        found = [:]
        // Tap to Pay first: the iPad itself, where it is supported.
        let tapToPay = try TapToPayDiscoveryConfigurationBuilder().setSimulated(simulated).build()
        for reader in (try? await discover(tapToPay)) ?? [] {
            found[reader.serialNumber] = (reader, .tapToPay)
        }
        let bluetooth = try BluetoothScanDiscoveryConfigurationBuilder().setSimulated(simulated).build()
        for reader in (try? await discover(bluetooth)) ?? [] {
            found[reader.serialNumber] = (reader, .paired)
        }
        return found.map { serial, entry in
            CardReader(
                id: serial, label: entry.reader.label ?? Terminal.stringFromDeviceType(entry.reader.deviceType),
                kind: entry.kind)
        }
    }

    /// One discovery: the first list the SDK reports (Tap to Pay reports once; a Bluetooth
    /// scan keeps going, so it is cancelled after its first list).
    private func discover(_ configuration: any DiscoveryConfiguration) async throws -> [Reader] {
        try await withCheckedThrowingContinuation { continuation in
            discovering = continuation
            discovery = Terminal.shared.discoverReaders(configuration, delegate: self) { [weak self] error in
                Task { @MainActor in
                    guard let self, let waiting = self.discovering else { return }
                    self.discovering = nil
                    if let error { waiting.resume(throwing: error) } else { waiting.resume(returning: []) }
                }
            }
        }
    }

    func connect(_ reader: CardReader) async throws {
        guard let entry = found[reader.id] else { throw TerminalAdapterError.unknownReader(reader.id) }
        // The Stripe Location the server registered for this restaurant location.
        let location = try await api.connectionToken().stripeLocation
        let configuration: ConnectionConfiguration =
            entry.kind == .tapToPay
            ? try TapToPayConnectionConfigurationBuilder(delegate: self, locationId: location).build()
            : try BluetoothConnectionConfigurationBuilder(delegate: self, locationId: location).build()
        _ = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Reader, any Error>) in
            Terminal.shared.connectReader(entry.reader, connectionConfig: configuration) { connected, error in
                if let connected { continuation.resume(returning: connected) } else {
                    continuation.resume(throwing: error ?? TerminalAdapterError.noAnswer)
                }
            }
        }
    }

    func connectedReader() async -> CardReader? {
        guard let reader = Terminal.shared.connectedReader else { return nil }
        let kind = found[reader.serialNumber]?.kind ?? .paired
        return CardReader(
            id: reader.serialNumber, label: reader.label ?? Terminal.stringFromDeviceType(reader.deviceType), kind: kind)
    }

    // MARK: Online

    func collect(clientSecret: String) async throws -> CardCollection {
        let intent = try await paymentIntent { Terminal.shared.retrievePaymentIntent(clientSecret: clientSecret, completion: $0) }
        return try await collectAndConfirm(intent).collection
    }

    /// Collects the card and confirms it; a decline or a cancel on the reader is an answer,
    /// not an error.
    private func collectAndConfirm(_ intent: PaymentIntent) async throws -> (collection: CardCollection, intent: PaymentIntent?) {
        do {
            let collected = try await paymentIntent { completion in
                _ = Terminal.shared.collectPaymentMethod(intent, completion: completion)
            }
            let confirmed = try await paymentIntent { completion in
                _ = Terminal.shared.confirmPaymentIntent(collected, completion: completion)
            }
            switch confirmed.status {
            case .requiresCapture, .succeeded: return (.authorised, confirmed)
            default: return (.declined(code: nil), confirmed)
            }
        } catch {
            let code = (error as NSError).code
            if code == ErrorCode.canceled.rawValue { return (.canceled, nil) }
            if code == ErrorCode.declinedByStripeAPI.rawValue || code == ErrorCode.declinedByReader.rawValue {
                return (.declined(code: (error as? ConfirmPaymentIntentError)?.declineCode), nil)
            }
            throw error
        }
    }

    // MARK: Offline

    func canTakeOffline() async -> Bool {
        Terminal.shared.connectedReader != nil
    }

    func heldOffline(currency: String) async -> Int {
        Terminal.shared.offlineStatus.sdk.paymentAmountsByCurrency[currency.lowercased()]?.intValue ?? 0
    }

    func collectOffline(_ intent: OfflineCardIntent) async throws -> OfflineCardCollection {
        let parameters = try PaymentIntentParametersBuilder(
            amount: UInt(intent.amount + intent.tip), currency: intent.currency.lowercased()
        )
        .setCaptureMethod(.manual)
        .setMetadata(["payment_id": intent.paymentID])
        .build()
        let create = try CreateConfigurationBuilder().setOfflineBehavior(.forceOffline).build()
        let created = try await paymentIntent { completion in
            Terminal.shared.createPaymentIntent(parameters, createConfig: create, completion: completion)
        }
        let (collection, confirmed) = try await collectAndConfirm(created)
        switch collection {
        case .authorised:
            let storedAt = confirmed?.offlineDetails?.storedAt ?? Date()
            let ms = Int(storedAt.timeIntervalSince1970 * 1000)
            remember(intent.paymentID, storedAtMs: ms)
            return .stored(storedAtMs: ms)
        case .declined(let code): return .declined(code: code)
        case .canceled: return .canceled
        }
    }

    func storedOffline(paymentID: String) async -> Int? {
        (UserDefaults.standard.dictionary(forKey: storedKey) as? [String: Int])?[paymentID]
    }

    private func remember(_ paymentID: String, storedAtMs: Int) {
        var stored = (UserDefaults.standard.dictionary(forKey: storedKey) as? [String: Int]) ?? [:]
        stored[paymentID] = storedAtMs
        UserDefaults.standard.set(stored, forKey: storedKey)
    }

    // MARK: Helpers

    private func paymentIntent(
        _ start: (@escaping (PaymentIntent?, (any Error)?) -> Void) -> Void
    ) async throws -> PaymentIntent {
        try await withCheckedThrowingContinuation { continuation in
            start { intent, error in
                if let intent { continuation.resume(returning: intent) } else {
                    continuation.resume(throwing: error ?? TerminalAdapterError.noAnswer)
                }
            }
        }
    }
}

enum TerminalAdapterError: Error {
    case unknownReader(String)
    case noAnswer
}

/// Connection tokens from our server (`POST /api/v1/payments/terminal/connection-token`).
private final class ConnectionTokens: NSObject, ConnectionTokenProvider, @unchecked Sendable {
    private let api: any PaymentsAPI

    init(api: any PaymentsAPI) {
        self.api = api
    }

    func fetchConnectionToken(_ completion: @escaping ConnectionTokenCompletionBlock) {
        let api = api
        Task {
            do {
                completion(try await api.connectionToken().secret, nil)
            } catch {
                completion(nil, error)
            }
        }
    }
}

// MARK: SDK delegates (called on the main thread)

extension StripeTerminalCard: @preconcurrency DiscoveryDelegate {
    func terminal(_ terminal: Terminal, didUpdateDiscoveredReaders readers: [Reader]) {
        guard let waiting = discovering else { return }
        discovering = nil
        waiting.resume(returning: readers)
        // A Bluetooth scan keeps scanning until cancelled.
        discovery?.cancel { _ in }
        discovery = nil
    }
}

extension StripeTerminalCard: @preconcurrency TapToPayReaderDelegate {
    func tapToPayReader(_ reader: Reader, didStartInstallingUpdate update: ReaderSoftwareUpdate, cancelable: Cancelable?) {}
    func tapToPayReader(_ reader: Reader, didReportReaderSoftwareUpdateProgress progress: Float) {}
    func tapToPayReader(_ reader: Reader, didFinishInstallingUpdate update: ReaderSoftwareUpdate?, error: (any Error)?) {}
    func tapToPayReader(_ reader: Reader, didRequestReaderInput inputOptions: ReaderInputOptions = []) {}
    func tapToPayReader(_ reader: Reader, didRequestReaderDisplayMessage displayMessage: ReaderDisplayMessage) {}
}

extension StripeTerminalCard: @preconcurrency MobileReaderDelegate {
    func reader(_ reader: Reader, didReportAvailableUpdate update: ReaderSoftwareUpdate) {}
    func reader(_ reader: Reader, didStartInstallingUpdate update: ReaderSoftwareUpdate, cancelable: Cancelable?) {}
    func reader(_ reader: Reader, didReportReaderSoftwareUpdateProgress progress: Float) {}
    func reader(_ reader: Reader, didFinishInstallingUpdate update: ReaderSoftwareUpdate?, error: (any Error)?) {}
    func reader(_ reader: Reader, didRequestReaderInput inputOptions: ReaderInputOptions = []) {}
    func reader(_ reader: Reader, didRequestReaderDisplayMessage displayMessage: ReaderDisplayMessage) {}
}

extension StripeTerminalCard: @preconcurrency OfflineDelegate {
    func terminal(_ terminal: Terminal, didChange offlineStatus: OfflineStatus) {}
    func terminal(_ terminal: Terminal, didForwardPaymentIntent intent: PaymentIntent, error: (any Error)?) {}
    func terminal(_ terminal: Terminal, didReportForwardingError error: any Error) {}
}
#endif
