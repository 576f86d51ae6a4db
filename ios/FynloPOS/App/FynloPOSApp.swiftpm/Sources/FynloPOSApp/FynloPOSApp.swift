#if canImport(SwiftUI)
import FynloPOSCore
import FynloPOSHTTP
import FynloPOSUI
import FynloSyncHTTP
import SwiftUI

#if canImport(PassKit)
import PassKit
#endif
#if canImport(StripePayments)
import StripePayments
#endif

/// The iPad app: asks for the server's address once, then the set-up screen until the
/// iPad is enrolled, then the till (``FynloPOSRoot``).
@main
struct FynloPOSApp: App {
    @AppStorage("fynlo.serverURL") private var serverAddress = ""

    var body: some Scene {
        WindowGroup {
            if let url = URL(string: serverAddress), url.scheme != nil, url.host != nil {
                EnrolledApp(serverURL: url)
                    .id(serverAddress)
            } else {
                ServerAddressView { serverAddress = $0 }
            }
        }
    }
}

/// The till for one server: its set-up, and the till built once enrolled.
struct EnrolledApp: View {
    @State private var composition: AppComposition

    init(serverURL: URL) {
        _composition = State(initialValue: AppComposition(serverURL: serverURL))
    }

    var body: some View {
        FynloPOSRoot(setup: composition.setup) { device in try await composition.makeTill(device) }
    }
}

/// Wires the core for this iPad (`TillComposition`, over the core's `Till`); the platform
/// adapters are chosen here.
@MainActor
final class AppComposition {
    /// Apple Pay merchant id (Signing & Capabilities → Apple Pay), registered with Stripe.
    static let applePayMerchantID = "merchant.com.fynlo.pos"

    let serverURL: URL
    let keychain = SystemKeychain(service: "com.fynlo.pos")
    let setup: DeviceSetup

    init(serverURL: URL) {
        self.serverURL = serverURL
        setup = DeviceSetup(keychain: keychain, enrolment: HTTPEnrolment(client: JSONHTTPClient(baseURL: serverURL)))
    }

    func makeTill(_ device: DeviceCredentials) async throws -> TillUI {
        let session = SessionTokens(device)
        // Refreshed at launch, every ten minutes and on a 401; a new pair is kept in the
        // Keychain, then read by every port at its next call.
        let deviceTokens = await TillComposition.makeDeviceTokens(
            device: device, serverURL: serverURL, setup: setup, tokens: session)
        let folder = try FileManager.default.url(
            for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
        let core = try TillComposition.build(
            device: device, serverURL: serverURL, folder: folder, keychain: keychain, tokens: session,
            deviceTokens: deviceTokens, makeTerminal: Self.cardTerminal, wallet: Self.wallet(),
            drawer: Self.cashDrawer())
        await core.start()
        let live = core.live
        let till = TillUI(
            session: core.staff, approvals: core.approvals, floor: core.floor, menu: core.menu, order: core.entry,
            bill: core.bill, drawer: core.drawer, sync: core.syncStatus, makePayment: { core.payment($0) },
            makeRefund: { try await core.refund(paymentID: $0) }, liveEvents: { await live.events() })
        Task { @MainActor in
            for await mode in await live.modeUpdates() { till.liveWords = LiveUpdates.words(mode) }
        }
        // Payments a killed till left on their way carry on once someone signs in.
        Task { @MainActor in
            for _ in 0..<10_000 where core.staff.current == nil { try? await Task.sleep(for: .seconds(1)) }
            if core.staff.current != nil { await core.resumePayments() }
        }
        return till
    }

    /// The cash drawer, opened through the receipt printer whose address staff set in the
    /// till's "Cash drawer…" sheet (read at each cash sale; none set: no drawer).
    static func cashDrawer() -> (any CashDrawer)? {
        #if canImport(Network)
        return PrinterCashDrawer(link: NetworkPrinterLink.fromSettings())
        #else
        return nil
        #endif
    }

    /// Stripe Terminal when the SDK is in the app (README, "Card in person"); without it the
    /// payment screen offers no card in person.
    static func cardTerminal(_ api: any PaymentsAPI) -> (any CardTerminal)? {
        #if canImport(StripeTerminal)
        return StripeTerminalCard(api: api)
        #else
        return nil
        #endif
    }

    /// Apple Pay through PassKit; its token becomes a Stripe card token with Stripe's iOS
    /// SDK (`StripePayments`), which the server charges. Without that SDK the sheet shows
    /// and then fails, saying why.
    static func wallet() -> (any WalletPay)? {
        #if canImport(PassKit)
        return PassKitWallet(merchantID: applePayMerchantID) { payment in
            #if canImport(StripePayments)
            return try await withCheckedThrowingContinuation { continuation in
                STPAPIClient.shared.createToken(with: payment) { token, error in
                    if let token { continuation.resume(returning: token.tokenId) } else {
                        continuation.resume(throwing: error ?? ApplePayUnavailable())
                    }
                }
            }
            #else
            throw ApplePayUnavailable()
            #endif
        }
        #else
        return nil
        #endif
    }
}

struct ApplePayUnavailable: Error, CustomStringConvertible {
    var description: String { "Apple Pay needs Stripe's iOS SDK (StripePayments) in this build to turn the wallet's token into a card." }
}

/// First launch: where the Fynlo server is (on the restaurant's network, e.g.
/// `http://192.168.1.20:8000`, or its public `https://` address).
struct ServerAddressView: View {
    let save: (String) -> Void
    @State private var address = "http://"

    var body: some View {
        VStack(spacing: 20) {
            Text("Where is the Fynlo server?").font(.largeTitle.bold())
            Text("The address the back office runs at, as this iPad reaches it: on the restaurant's Wi-Fi, for example http://192.168.1.20:8000.")
                .multilineTextAlignment(.center)
                .foregroundStyle(.secondary)
            TextField("Server address", text: $address)
                .textFieldStyle(.roundedBorder)
                .font(.title2.monospaced())
                .autocorrectionDisabled()
                .frame(maxWidth: 520, minHeight: 44)
            Button("Continue") { save(address.trimmingCharacters(in: .whitespacesAndNewlines)) }
                .font(.headline)
                .frame(maxWidth: 520, minHeight: 52)
                .buttonStyle(.borderedProminent)
                .disabled(URL(string: address)?.host == nil)
        }
        .padding(40)
    }
}
#endif
