import Foundation
import FynloSyncCore
import FynloSyncHTTP
import Testing

/// What the staff live tests ask of the real server (`LiveServer` is the environment).
enum LiveStaffServer {
    static func client() throws -> JSONHTTPClient {
        JSONHTTPClient(baseURL: try #require(LiveServer.url), timeout: 20)
    }

    /// The `index`-th one-time enrolment code (`tests/swift_harness.py` says whose is which).
    static func enrolmentCode(_ index: Int) throws -> String {
        let codes = (LiveServer.environment["FYNLO_SYNC_ENROLMENT_CODES"] ?? "").split(separator: ",").map(String.init)
        guard codes.indices.contains(index) else {
            throw Failure("FYNLO_SYNC_ENROLMENT_CODES needs at least \(index + 1) codes (tests/swift_harness.py makes them)")
        }
        return codes[index]
    }

    static func managerToken() async throws -> String {
        let environment = LiveServer.environment
        guard let email = environment["FYNLO_SYNC_MANAGER_EMAIL"], let password = environment["FYNLO_SYNC_MANAGER_PASSWORD"]
        else { throw Failure("FYNLO_SYNC_MANAGER_EMAIL and FYNLO_SYNC_MANAGER_PASSWORD must be set") }
        let reply = try await client().send(
            "POST", "/api/v1/auth/login", body: ["email": .string(email), "password": .string(password)])
        guard reply.status == 200, let token = reply.body?["access_token"].stringValue else {
            throw Failure("manager login answered \(reply.status)")
        }
        return token
    }

    static func order(_ id: String, token: String) async throws -> JSONValue? {
        let reply = try await client().send("GET", "/api/v1/orders/\(id)", bearer: token)
        if reply.status == 404 { return nil }
        guard reply.status == 200 else { throw Failure("order \(id) answered \(reply.status)") }
        return reply.body
    }

    static func audit(token: String) async throws -> [JSONValue] {
        let reply = try await client().send("GET", "/api/v1/audit", query: [("limit", "200")], bearer: token)
        guard reply.status == 200 else { throw Failure("audit answered \(reply.status)") }
        return reply.body?["items"].arrayValue ?? []
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
