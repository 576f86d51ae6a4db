import Foundation
import FynloPOSCore
import FynloSyncCore
import FynloSyncHTTP

extension TillPorts {
    /// An enrolled iPad's ports to the server at `client`'s address: sync, staff sign-in and
    /// approvals, payments and the live socket, each carrying `tokens` (read at every call).
    /// The store, the payment journal, the Keychain and the devices (card reader, Apple Pay,
    /// drawer) are the platform's and are passed in. The app and the live tests build their
    /// tills with this.
    ///
    /// - Parameter refresh: what a 401 refusing the device token does: the app passes its
    ///   ``DeviceTokens`` (refresh once, send again once), whose new pair also reaches `tokens`.
    @MainActor
    public static func http(
        client: JSONHTTPClient, tokens: SessionTokens, refresh: RefreshOn401 = .never,
        store: any SyncStore & EntityReader, journal: any PaymentJournal, keychain: any Keychain,
        terminal: (any CardTerminal)? = nil, wallet: (any WalletPay)? = nil, drawer: (any CashDrawer)? = nil,
        appVersion: String
    ) -> TillPorts {
        TillPorts(
            store: store,
            transport: RefreshingTransport(token: { await tokens.read().device }, refresh: refresh) { bearer in
                URLSessionTransport(client: client, token: { bearer })
            },
            staffAuth: HTTPStaffAuth(client: client, token: { await tokens.read().device ?? "" }, refresh: refresh),
            payments: HTTPPaymentsAPI(client: client, tokens: { await tokens.read() }, refresh: refresh),
            socket: LiveWebSocket(baseURL: client.baseURL), journal: journal, keychain: keychain, terminal: terminal,
            wallet: wallet, drawer: drawer, appVersion: appVersion)
    }
}
