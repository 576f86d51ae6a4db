import Foundation
import FynloSyncCore
import FynloSyncHTTP
import Testing

/// What the staff live tests ask of the real server (`LiveServer` is the environment).
enum LiveStaffServer {
    static func order(_ id: String, token: String) async throws -> JSONValue? {
        let reply = try await LiveServer.client().send("GET", "/api/v1/orders/\(id)", bearer: token)
        if reply.status == 404 { return nil }
        guard reply.status == 200 else { throw LiveServer.Failure("order \(id) answered \(reply.status)") }
        return reply.body
    }

    static func audit(token: String) async throws -> [JSONValue] {
        let reply = try await LiveServer.client().send("GET", "/api/v1/audit", query: [("limit", "200")], bearer: token)
        guard reply.status == 200 else { throw LiveServer.Failure("audit answered \(reply.status)") }
        return reply.body?["items"].arrayValue ?? []
    }
}
