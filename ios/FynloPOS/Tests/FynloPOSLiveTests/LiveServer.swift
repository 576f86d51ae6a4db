import Foundation
import FynloSyncCore
import FynloSyncHTTP
import Testing

/// The real server the live tests talk to, as `tests/swift_harness.py` describes it in the
/// environment (see FynloSync's LiveServer.swift); unset, the live tests are skipped.
enum LiveServer {
    static let environment = ProcessInfo.processInfo.environment
    static let url: URL? = environment["FYNLO_SYNC_URL"].flatMap { $0.isEmpty ? nil : URL(string: $0) }
    static let isConfigured = url != nil

    static func client() throws -> JSONHTTPClient {
        JSONHTTPClient(baseURL: try #require(url), timeout: 20)
    }

    /// The `index`-th one-time enrolment code (`tests/swift_harness.py` says whose is which).
    static func enrolmentCode(_ index: Int) throws -> String {
        let codes = (environment["FYNLO_SYNC_ENROLMENT_CODES"] ?? "").split(separator: ",").map(String.init)
        guard codes.indices.contains(index) else {
            throw Failure("FYNLO_SYNC_ENROLMENT_CODES needs at least \(index + 1) codes (tests/swift_harness.py makes them)")
        }
        return codes[index]
    }

    /// The demo manager's back-office token.
    static func managerToken() async throws -> String {
        guard let email = environment["FYNLO_SYNC_MANAGER_EMAIL"], let password = environment["FYNLO_SYNC_MANAGER_PASSWORD"]
        else { throw Failure("FYNLO_SYNC_MANAGER_EMAIL and FYNLO_SYNC_MANAGER_PASSWORD must be set") }
        let reply = try await client().send(
            "POST", "/api/v1/auth/login", body: ["email": .string(email), "password": .string(password)])
        guard reply.status == 200, let token = reply.body?["access_token"].stringValue else {
            throw Failure("manager login answered \(reply.status)")
        }
        return token
    }

    /// The demo owner's back-office token (`FYNLO_SYNC_OWNER_EMAIL`/`_PASSWORD`).
    static func ownerToken() async throws -> String {
        let reply = try await client().send(
            "POST", "/api/v1/auth/login",
            body: [
                "email": .string(environment["FYNLO_SYNC_OWNER_EMAIL"] ?? ""),
                "password": .string(environment["FYNLO_SYNC_OWNER_PASSWORD"] ?? ""),
            ])
        guard reply.status == 200, let token = reply.body?["access_token"].stringValue else {
            throw Failure("owner login answered \(reply.status): tests/swift_harness.py sets FYNLO_SYNC_OWNER_EMAIL/_PASSWORD")
        }
        return token
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
