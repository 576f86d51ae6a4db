import FynloSyncCore

/// Why the device token could not be refreshed.
public enum DeviceTokenProblem: Error, Sendable, Hashable {
    /// The refresh did not reach the server, or its answer was lost: the old pair stays and
    /// is tried again (the server answers a spent token whose answer was lost with a new pair,
    /// however late: docs/security.md, "Refresh tokens").
    case unreachable(String)
    /// The server refused the refresh token (the iPad was revoked, its family revoked, or it
    /// was offline 90 days): only enrolling again brings it back
    /// (``DeviceSetup/enrolAgain(code:)``).
    case refused(status: Int)
    /// The new pair could not be kept (the Keychain): it is not used either (below).
    case notKept(String)
}

/// The iPad's device tokens (docs/security.md: a `device+jwt` access token for 15 minutes and
/// a refresh token that `POST /api/v1/auth/refresh` rotates), refreshed one at a time.
///
/// - **One at a time.** A refresh token is spent by its use; the server gives a retry of a
///   spent token a new pair only while its successor is unused, and a token presented after
///   its successor was used is theft: the whole family is revoked and the iPad must enrol
///   again. So every caller that needs a refresh while one is in flight waits for that one
///   (``refresh()``), and a 401 to a call made with a token already replaced refreshes
///   nothing: the call is sent again with the new token (``renew(after:)``).
/// - **Kept before used.** The new pair goes to `keep` (the Keychain, and the ports' tokens)
///   before this actor uses it. If keeping fails the new pair is dropped and the old one
///   stays: its next use is a retry the server allows, where using a pair a relaunch would
///   not know could end with the relaunched app presenting a spent token after its successor
///   was used, which revokes the family.
/// - **When.** At launch and every ten minutes (``start(every:)``), and when the server answers
///   a call 401 (the HTTP ports, through FynloPOSHTTP's `RefreshOn401`).
public actor DeviceTokens {
    /// Trades a refresh token for a new pair; throws ``DeviceTokenProblem`` (FynloPOSHTTP's
    /// `DeviceTokens.overHTTP` is `POST /api/v1/auth/refresh`).
    public typealias Renew = @Sendable (_ refreshToken: String) async throws -> (access: String, refresh: String)
    /// Keeps a new pair durably (and tells whoever reads tokens); throws if it could not.
    public typealias Keep = @Sendable (_ access: String, _ refresh: String) async throws -> Void

    private var accessToken: String
    private var refreshToken: String
    private let renewPair: Renew
    private let keep: Keep
    private var refreshing: Task<Bool, Never>?
    private var loop: Task<Void, Never>?
    /// Why the last refresh failed; `nil` once one succeeded.
    public private(set) var problem: DeviceTokenProblem?
    /// Refreshes asked of the server (each spends a refresh token).
    public private(set) var refreshes = 0

    public init(access: String, refresh: String, renew: @escaping Renew, keep: @escaping Keep) {
        accessToken = access
        refreshToken = refresh
        renewPair = renew
        self.keep = keep
    }

    /// The access token in use.
    public func access() -> String { accessToken }

    /// Refreshes now, or waits for the refresh in flight. True when a new pair is in use.
    @discardableResult
    public func refresh() async -> Bool {
        if let refreshing { return await refreshing.value }
        let task = Task { await self.refreshOnce() }
        refreshing = task
        let renewed = await task.value
        refreshing = nil
        return renewed
    }

    /// After the server refused `refused` with a 401: a new token to send the call again
    /// with. If `refused` was replaced already (another call's refresh, or the timer's), that
    /// is the new one and nothing is spent; else this refreshes, sharing a refresh in flight.
    /// False when there is no new token (the refresh failed: ``problem`` says why).
    public func renew(after refused: String) async -> Bool {
        if refused != accessToken { return true }
        return await refresh()
    }

    /// Refreshes now and then every `interval` until ``stop()``.
    public func start(every interval: Duration = .seconds(600), sleeper: any Sleeper = TaskSleeper()) {
        guard loop == nil else { return }
        loop = Task {
            while !Task.isCancelled {
                await self.refresh()
                do { try await sleeper.sleep(for: interval) } catch { return }
            }
        }
    }

    public func stop() {
        loop?.cancel()
        loop = nil
    }

    private func refreshOnce() async -> Bool {
        refreshes += 1
        let pair: (access: String, refresh: String)
        do {
            pair = try await renewPair(refreshToken)
        } catch let problem as DeviceTokenProblem {
            self.problem = problem
            return false
        } catch {
            problem = .unreachable(String(describing: error))
            return false
        }
        do {
            try await keep(pair.access, pair.refresh)
        } catch {
            problem = .notKept(String(describing: error))
            return false
        }
        accessToken = pair.access
        refreshToken = pair.refresh
        problem = nil
        return true
    }
}
