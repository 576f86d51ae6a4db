import Foundation
import FynloPOSCore
import FynloPOSHTTP
import FynloSyncCore
import FynloSyncHTTP
import FynloSyncSQLite

/// Builds the till for one enrolled iPad with the core's composition root (``Till`` over
/// ``TillPorts/http(client:tokens:store:journal:keychain:terminal:wallet:drawer:appVersion:)``),
/// the way the live service test builds it: only the platform's parts are chosen here (the
/// SQLite store and payment journal in Application Support, the Keychain, the card terminal,
/// Apple Pay).
///
/// No SwiftUI here, so it type-checks on Linux against the core.
@MainActor
enum TillComposition {
    static let appVersion = "ipad-0.1"

    /// - Parameters:
    ///   - folder: where this device's store and payment journal live (Application Support).
    ///   - tokens: the device's tokens and the signed-in employee's session, read at every call.
    ///   - makeTerminal: the card terminal over the payments API (its connection tokens), if any.
    static func build(
        device: DeviceCredentials, serverURL: URL, folder: URL, keychain: any Keychain, tokens: SessionTokens,
        makeTerminal: @MainActor (any PaymentsAPI) -> (any CardTerminal)?, wallet: (any WalletPay)?
    ) throws -> Till {
        let client = JSONHTTPClient(baseURL: serverURL)
        let store = try SQLiteSyncStore(
            path: folder.appendingPathComponent("sync-\(device.deviceID).sqlite").path, deviceID: device.deviceID)
        let journal = try FilePaymentJournal(url: folder.appendingPathComponent("payments-\(device.deviceID).json"))
        let terminal = makeTerminal(HTTPPaymentsAPI(client: client, tokens: { await tokens.read() }))
        let ports = TillPorts.http(
            client: client, tokens: tokens, store: store, journal: journal, keychain: keychain, terminal: terminal,
            wallet: wallet, appVersion: appVersion)
        return Till(credentials: device, ports: ports, tokens: tokens)
    }
}
