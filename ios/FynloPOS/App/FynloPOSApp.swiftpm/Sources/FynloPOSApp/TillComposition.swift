import Foundation
import FynloPOSCore
import FynloPOSHTTP
import FynloSyncCore
import FynloSyncHTTP
import FynloSyncSQLite

/// Builds the till for one enrolled iPad with the core's composition root (``Till`` over
/// ``TillPorts/http(client:tokens:refresh:store:journal:keychain:terminal:wallet:drawer:appVersion:)``),
/// the way the live service test builds it: only the platform's parts are chosen here (the
/// SQLite store and payment journal in Application Support, the Keychain, the card terminal,
/// Apple Pay, the cash drawer), and the device tokens that every port refreshes on a 401.
///
/// No SwiftUI here, so it type-checks on Linux against the core.
@MainActor
enum TillComposition {
    static let appVersion = "ipad-0.1"

    /// - Parameters:
    ///   - folder: where this device's store and payment journal live (Application Support).
    ///   - tokens: the device's tokens and the signed-in employee's session, read at every call.
    ///   - deviceTokens: refreshes the device token (``makeDeviceTokens(device:serverURL:setup:tokens:)``);
    ///     every port refreshes it once on a 401 and sends the call again.
    ///   - makeTerminal: the card terminal over the payments API (its connection tokens), if any.
    ///   - drawer: the cash drawer, if one is set up (``PrinterCashDrawer`` through the receipt printer).
    static func build(
        device: DeviceCredentials, serverURL: URL, folder: URL, keychain: any Keychain, tokens: SessionTokens,
        deviceTokens: DeviceTokens, makeTerminal: @MainActor (any PaymentsAPI) -> (any CardTerminal)?,
        wallet: (any WalletPay)?, drawer: (any CashDrawer)? = nil
    ) throws -> Till {
        let client = JSONHTTPClient(baseURL: serverURL)
        let refresh = RefreshOn401(deviceTokens)
        let store = try SQLiteSyncStore(
            path: folder.appendingPathComponent("sync-\(device.deviceID).sqlite").path, deviceID: device.deviceID)
        let journal = try FilePaymentJournal(url: folder.appendingPathComponent("payments-\(device.deviceID).json"))
        let terminal = makeTerminal(HTTPPaymentsAPI(client: client, tokens: { await tokens.read() }, refresh: refresh))
        let ports = TillPorts.http(
            client: client, tokens: tokens, refresh: refresh, store: store, journal: journal, keychain: keychain,
            terminal: terminal, wallet: wallet, drawer: drawer, appVersion: appVersion)
        return Till(credentials: device, ports: ports, tokens: tokens)
    }

    /// The iPad's device tokens, refreshed by `POST /api/v1/auth/refresh` one at a time: at
    /// launch, every ten minutes (``DeviceTokens/start(every:sleeper:)``, started here) and on
    /// a 401. A new pair is kept in the Keychain (``DeviceSetup/storeTokens(access:refresh:)``)
    /// and handed to `tokens`, which every port reads, before it is used. If a refresh is
    /// refused (revoked, or 90 days offline) ``DeviceTokens/problem`` says so and the iPad
    /// enrols again (``DeviceSetup/enrolAgain(code:)``).
    static func makeDeviceTokens(
        device: DeviceCredentials, serverURL: URL, setup: DeviceSetup, tokens: SessionTokens
    ) async -> DeviceTokens {
        let deviceTokens = DeviceTokens.overHTTP(
            client: JSONHTTPClient(baseURL: serverURL), access: device.accessToken, refresh: device.refreshToken
        ) { access, refresh in
            try await setup.storeTokens(access: access, refresh: refresh)
            await MainActor.run {
                var renewed = tokens.credentials
                renewed.accessToken = access
                renewed.refreshToken = refresh
                tokens.update(renewed)
            }
        }
        await deviceTokens.start()
        return deviceTokens
    }
}
