import Foundation
import FynloSyncHTTP

/// The iPad's device access token (15 minutes, `docs/security.md`), refreshed before it runs
/// out. One refresh at a time: a refresh token is spent by its use, and two refreshes with
/// the same one would revoke the iPad's whole token family. The new pair is kept (in the
/// Keychain, through ``store``) before it is used.
///
/// Simple on purpose: a refresh every ten minutes while the app runs, and one at launch.
/// Refreshing on a 401 belongs in the composition root when it lands; if a refresh is
/// refused (revoked, or 90 days offline) the iPad enrols again (``DeviceSetup/enrolAgain(code:)``).
actor DeviceTokens {
    typealias Store = @Sendable (_ access: String, _ refresh: String) async throws -> Void

    private var accessToken: String
    private var refreshToken: String
    private var refreshing: Task<Void, Never>?
    private var loop: Task<Void, Never>?
    private let client: JSONHTTPClient
    private let store: Store
    /// Why the last refresh failed, if it did.
    private(set) var problem: String?

    init(access: String, refresh: String, client: JSONHTTPClient, store: @escaping Store) {
        accessToken = access
        refreshToken = refresh
        self.client = client
        self.store = store
    }

    func access() -> String { accessToken }

    /// Refreshes now and then every `interval` until ``stop()``.
    func start(every interval: Duration = .seconds(600)) {
        guard loop == nil else { return }
        loop = Task {
            while !Task.isCancelled {
                await self.refresh()
                try? await Task.sleep(for: interval)
            }
        }
    }

    func stop() {
        loop?.cancel()
        loop = nil
    }

    /// One refresh; a second caller waits for the one in flight.
    func refresh() async {
        if let refreshing {
            await refreshing.value
            return
        }
        let task = Task { await self.refreshOnce() }
        refreshing = task
        await task.value
        refreshing = nil
    }

    private func refreshOnce() async {
        do {
            let pair = try await client.refreshTokens(refreshToken)
            try await store(pair.access, pair.refresh)
            accessToken = pair.access
            refreshToken = pair.refresh
            problem = nil
        } catch {
            // Offline: the old token stays (the server answers 401 once it ran out, and the
            // sync engine retries). Refused: a manager's code brings the iPad back.
            problem = String(describing: error)
        }
    }
}
