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
    @MainActor
    public static func http(
        client: JSONHTTPClient, tokens: SessionTokens, store: any SyncStore & EntityReader,
        journal: any PaymentJournal, keychain: any Keychain, terminal: (any CardTerminal)? = nil,
        wallet: (any WalletPay)? = nil, drawer: (any CashDrawer)? = nil, appVersion: String
    ) -> TillPorts {
        TillPorts(
            store: store,
            transport: URLSessionTransport(client: client, token: { await tokens.read().device }),
            staffAuth: HTTPStaffAuth(client: client, token: { await tokens.read().device ?? "" }),
            payments: HTTPPaymentsAPI(client: client, tokens: { await tokens.read() }),
            socket: LiveWebSocket(baseURL: client.baseURL), journal: journal, keychain: keychain, terminal: terminal,
            wallet: wallet, drawer: drawer, appVersion: appVersion)
    }
}
