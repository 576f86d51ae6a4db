import Foundation
import FynloPOSCore
import FynloPOSHTTP
import FynloSyncCore
import FynloSyncHTTP
import FynloSyncSQLite

/// Builds the till for one enrolled iPad: its store and sync engine, the signed records
/// every screen writes through, the staff session and approvals, every screen's model,
/// the payments API and journal, and the live updates. The models are wired directly here;
/// when the core's composition root (`Till`, FynloPOSCore/App) lands on main, this file
/// should become a call to it.
///
/// No SwiftUI here, so it type-checks on Linux against the core (the platform adapters come
/// in as parameters: the Keychain, the card terminal, Apple Pay).
@MainActor
struct TillParts {
    let session: StaffSession
    let approvals: Approvals
    let floor: FloorModel
    let menu: MenuModel
    let order: OrderEntryModel
    let bill: BillModel
    let sync: SyncStatusModel
    let engine: SyncEngine
    let live: LiveUpdates
    let makePayment: @MainActor (PaymentDue) -> PaymentFlowModel

    static let appVersion = "ipad-0.1"

    /// - Parameters:
    ///   - folder: where this device's store and payment journal live (Application Support).
    ///   - tokens: the device's access token, refreshed (``DeviceTokens``).
    ///   - makeTerminal: the card terminal over the payments API (its connection tokens), if any.
    static func build(
        device: DeviceCredentials, serverURL: URL, folder: URL, keychain: any Keychain, tokens: DeviceTokens,
        makeTerminal: @MainActor (any PaymentsAPI) -> (any CardTerminal)?, wallet: (any WalletPay)?
    ) async throws -> TillParts {
        let client = JSONHTTPClient(baseURL: serverURL)
        let deviceToken: @Sendable () async -> String = { await tokens.access() }

        // The store and the engine: every change is numbered, signed and queued here, and
        // pushed and pulled by the engine (FynloSync), online or not.
        let store = try SQLiteSyncStore(
            path: folder.appendingPathComponent("sync-\(device.deviceID).sqlite").path, deviceID: device.deviceID)
        let notices = SyncNoticeLog()
        let transport = NoticingTransport(URLSessionTransport(client: client, token: { await deviceToken() }), log: notices)
        let engine = SyncEngine(
            configuration: SyncEngine.Configuration(deviceID: device.deviceID, appVersion: appVersion), store: store,
            transport: transport)

        // Staff: PIN sign-in online or offline; the signed-in employee's key signs every change.
        let keyring = SigningKeyring()
        let session = StaffSession(
            deviceID: device.deviceID, auth: HTTPStaffAuth(client: client, token: deviceToken), keychain: keychain,
            keyring: keyring)
        await session.load()
        let records = SignedRecords(SyncedRecords(reader: store, engine: engine), keyring: keyring)
        let approvals = Approvals(session: session)
        let orders = Orders(
            records: records, numbers: DeviceOrderNumbers(prefix: device.prefix, records: records),
            approvals: StaffApprovalGate(approvals: approvals, records: records))

        // Payments: the server's API with the device's and the employee's tokens, the
        // journal that keeps Idempotency-Keys across a kill, the offline card caps.
        let employeeToken: @Sendable () async -> String? = { await MainActor.run { session.current?.session?.token } }
        let payments = HTTPPaymentsAPI(client: client, tokens: { (await deviceToken(), await employeeToken()) })
        let journal = try FilePaymentJournal(url: folder.appendingPathComponent("payments-\(device.deviceID).json"))
        let limits = try? await payments.offlineCardLimits()
        let terminal = makeTerminal(payments)
        let makePayment: @MainActor (PaymentDue) -> PaymentFlowModel = { due in
            PaymentFlowModel(
                due: due, api: payments, journal: journal, records: records, terminal: terminal, wallet: wallet,
                offlineLimits: limits, employeeID: session.current?.id)
        }

        // Live updates: a poke pulls now; payment messages reach the payment screen; where
        // the socket fails the engine is polled instead.
        let live = LiveUpdates(
            socket: LiveWebSocket(baseURL: serverURL),
            tokens: { (await deviceToken(), await employeeToken()) }, records: records,
            poll: { await engine.requestSync() == .synced })

        let parts = TillParts(
            session: session, approvals: approvals, floor: FloorModel(records: records, orders: orders),
            menu: MenuModel(records: records, locationID: device.locationID),
            order: OrderEntryModel(records: records, orders: orders), bill: BillModel(records: records, orders: orders),
            sync: SyncStatusModel(monitor: engine, records: records), engine: engine, live: live, makePayment: makePayment)

        let sync = parts.sync
        Task { await sync.follow(await engine.statusUpdates()) }
        Task { await sync.follow(notices: await notices.updates()) }
        await engine.startPeriodicSync(every: .seconds(30))
        await live.start()
        Task { _ = await engine.requestSync() }
        return parts
    }
}
