import FynloSyncCore

/// The sync API over URLSession: push (with the batch id as `Idempotency-Key`, so a retry
/// is recognised whatever the body) and pull, with the device's bearer token.
public struct URLSessionTransport: SyncTransport {
    private let client: JSONHTTPClient
    private let token: @Sendable () async -> String?

    /// - Parameter token: the current device access token (the app refreshes it on 401).
    public init(client: JSONHTTPClient, token: @escaping @Sendable () async -> String?) {
        self.client = client
        self.token = token
    }

    public func push(_ request: PushRequest) async throws -> TransportReply {
        try await client.send(
            "POST", "/api/v1/sync/push", body: request.json, bearer: await token(),
            headers: ["Idempotency-Key": request.batchID])
    }

    public func pull(cursor: String?, limit: Int, appVersion: String) async throws -> TransportReply {
        var query = [("schema_version", String(syncSchemaVersion)), ("app_version", appVersion), ("limit", String(limit))]
        if let cursor, !cursor.isEmpty { query.append(("cursor", cursor)) }
        return try await client.send("GET", "/api/v1/sync/pull", query: query, bearer: await token())
    }
}
