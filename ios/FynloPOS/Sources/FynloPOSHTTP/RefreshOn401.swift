import FynloPOSCore
import FynloSyncCore
import FynloSyncHTTP

/// What the HTTP ports do when the server answers 401 to a call made with the device token:
/// the token ran out (15 minutes) or was refused, so it is refreshed once and the call sent
/// once more with the new one. Concurrent 401s share one refresh (``DeviceTokens``), and a
/// call refused with a token already replaced is sent again without spending another. A
/// second 401, or a refresh that failed, is answered as it came: the caller sees the 401 it
/// always did (and ``DeviceTokens/problem`` says whether the iPad must enrol again).
///
/// Sending a refused call again is safe for every call: a 401 comes from the authentication
/// guard, before the handler runs, so nothing was done (and payment calls carry their
/// Idempotency-Key anyway).
public struct RefreshOn401: Sendable {
    /// Given the token the server refused, makes a new one current; false if it could not.
    private let renew: @Sendable (_ refused: String) async -> Bool

    public init(renew: @escaping @Sendable (_ refused: String) async -> Bool) {
        self.renew = renew
    }

    /// Through the iPad's ``DeviceTokens``.
    public init(_ tokens: DeviceTokens) {
        renew = { refused in await tokens.renew(after: refused) }
    }

    /// Never refreshes: a 401 is answered as it came (enrolment, tests).
    public static let never = RefreshOn401 { _ in false }

    /// Makes one call, and on a refusal of its device token refreshes it and makes it once more.
    ///
    /// - Parameters:
    ///   - refused: whether the answer refuses the device token (a 401; the PIN check's own
    ///     401 is not one).
    ///   - attempt: reads the current device token, sends the call with it, and returns the
    ///     token it sent (`nil`: none, so nothing to refresh) and the answer.
    public func send<Answer>(
        refused: (Answer) -> Bool, _ attempt: () async throws -> (bearer: String?, answer: Answer)
    ) async throws -> Answer {
        let first = try await attempt()
        guard let bearer = first.bearer, refused(first.answer), await renew(bearer) else { return first.answer }
        return try await attempt().answer
    }

    /// ``send(refused:_:)`` for a JSON answer: any 401 refuses the token.
    public func send(_ attempt: () async throws -> (bearer: String?, answer: TransportReply)) async throws
        -> TransportReply
    {
        try await send(refused: { $0.status == 401 }, attempt)
    }
}

/// The sync API's transport with ``RefreshOn401``: each attempt is the transport `make` builds
/// for the device token read then (FynloSync's `URLSessionTransport` in the app), so the
/// engine sees the answer to the second send, never the 401 a refresh put right.
public struct RefreshingTransport: SyncTransport {
    private let token: @Sendable () async -> String?
    private let refresh: RefreshOn401
    private let make: @Sendable (_ bearer: String?) -> any SyncTransport

    public init(
        token: @escaping @Sendable () async -> String?, refresh: RefreshOn401,
        make: @escaping @Sendable (_ bearer: String?) -> any SyncTransport
    ) {
        self.token = token
        self.refresh = refresh
        self.make = make
    }

    public func push(_ request: PushRequest) async throws -> TransportReply {
        try await refresh.send {
            let bearer = await token()
            return (bearer, try await make(bearer).push(request))
        }
    }

    public func pull(cursor: String?, limit: Int, appVersion: String) async throws -> TransportReply {
        try await refresh.send {
            let bearer = await token()
            return (bearer, try await make(bearer).pull(cursor: cursor, limit: limit, appVersion: appVersion))
        }
    }
}

extension DeviceTokens {
    /// The iPad's tokens refreshed by `POST /api/v1/auth/refresh` at `client`'s server, the
    /// new pair handed to `keep` (the Keychain and the ports' ``SessionTokens``) first.
    public static func overHTTP(
        client: JSONHTTPClient, access: String, refresh: String, keep: @escaping Keep
    ) -> DeviceTokens {
        DeviceTokens(access: access, refresh: refresh, renew: { token in
            do {
                return try await client.refreshTokens(token)
            } catch let refusal as ServerRefusal where (400..<500).contains(refusal.status) && refusal.status != 429 {
                // Spent after its successor was used, revoked, expired, or the iPad revoked.
                throw DeviceTokenProblem.refused(status: refusal.status)
            } catch {
                // Lost, a 5xx, or rate-limited: the same token is tried again later.
                throw DeviceTokenProblem.unreachable(String(describing: error))
            }
        }, keep: keep)
    }
}
