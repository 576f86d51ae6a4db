/// One HTTP exchange with the sync API. Implementations throw ``TransportError`` (or any
/// error) when the request or its answer was lost: the engine treats that as transient.
public protocol SyncTransport: Sendable {
    /// `POST /api/v1/sync/push` with the batch id also sent as `Idempotency-Key`.
    func push(_ request: PushRequest) async throws -> TransportReply
    /// `GET /api/v1/sync/pull`.
    func pull(cursor: String?, limit: Int, appVersion: String) async throws -> TransportReply
}

/// An HTTP status and its decoded JSON body.
public struct TransportReply: Sendable, Hashable {
    public var status: Int
    public var body: JSONValue?
    /// From `Retry-After` on a 429 or 503.
    public var retryAfter: Duration?

    public init(status: Int, body: JSONValue?, retryAfter: Duration? = nil) {
        self.status = status
        self.body = body
        self.retryAfter = retryAfter
    }
}

public enum TransportError: Error, Sendable, Hashable {
    /// No connection, a timeout, a reset: the server may or may not have the request.
    case unreachable(String)
    /// The answer was not JSON.
    case malformedBody(status: Int)
}
