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
        try await tokens.token(
            email: environment["FYNLO_SYNC_MANAGER_EMAIL"] ?? "",
            password: environment["FYNLO_SYNC_MANAGER_PASSWORD"] ?? "")
    }

    /// The demo owner's back-office token (`FYNLO_SYNC_OWNER_EMAIL`/`_PASSWORD`).
    static func ownerToken() async throws -> String {
        try await tokens.token(
            email: environment["FYNLO_SYNC_OWNER_EMAIL"] ?? "",
            password: environment["FYNLO_SYNC_OWNER_PASSWORD"] ?? "")
    }

    /// One sign-in per account for the whole run: the suites run in parallel, and the
    /// server counts every sign-in in flight from one address as a try until it succeeds
    /// (`server/auth/throttle.py`), so a burst of them would be throttled like a guesser's.
    /// An access token lasts 15 minutes, longer than the run.
    private static let tokens = Tokens()

    private actor Tokens {
        private var signedIn: [String: Task<String, Error>] = [:]

        func token(email: String, password: String) async throws -> String {
            if let pending = signedIn[email] { return try await pending.value }
            let signIn = Task { () async throws -> String in
                guard !email.isEmpty, !password.isEmpty else {
                    throw Failure("tests/swift_harness.py sets the FYNLO_SYNC_*_EMAIL and _PASSWORD logins")
                }
                let reply = try await LiveServer.client().send(
                    "POST", "/api/v1/auth/login", body: ["email": .string(email), "password": .string(password)])
                guard reply.status == 200, let token = reply.body?["access_token"].stringValue else {
                    throw Failure("login of \(email) answered \(reply.status)")
                }
                return token
            }
            signedIn[email] = signIn
            do { return try await signIn.value } catch {
                signedIn[email] = nil  // the next test tries again rather than reading this failure
                throw error
            }
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
