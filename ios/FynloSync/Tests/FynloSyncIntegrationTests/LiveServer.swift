import Foundation
import FynloSyncCore
import FynloSyncHTTP
import FynloSyncTesting
import Testing

/// The real server the integration tests talk to, as `tests/swift_harness.py` (run by
/// `make test-swift`) describes it in the environment:
///
/// - `FYNLO_SYNC_URL`: the server's base URL; unset, the live tests are skipped;
/// - `FYNLO_SYNC_ENROLMENT_CODES`: fresh one-time codes, comma-separated (one per device);
/// - `FYNLO_SYNC_MANAGER_EMAIL`, `FYNLO_SYNC_MANAGER_PASSWORD`: a manager who may read orders
///   and the conflict log.
///
/// Set but unreachable is a failure, never a skip.
enum LiveServer {
    static let environment = ProcessInfo.processInfo.environment
    static let url: URL? = environment["FYNLO_SYNC_URL"].flatMap { $0.isEmpty ? nil : URL(string: $0) }
    static let isConfigured = url != nil

    static func client() throws -> JSONHTTPClient {
        JSONHTTPClient(baseURL: try #require(url), timeout: 20)
    }

    /// The `index`-th enrolment code; each test uses its own, since a code is spent once.
    static func enrolmentCode(_ index: Int) throws -> String {
        let codes = (environment["FYNLO_SYNC_ENROLMENT_CODES"] ?? "").split(separator: ",").map(String.init)
        guard codes.indices.contains(index) else {
            throw Failure("FYNLO_SYNC_ENROLMENT_CODES needs at least \(index + 1) codes (tests/swift_harness.py makes them)")
        }
        return codes[index]
    }

    static func enrol(_ index: Int, name: String) async throws -> DeviceEnrolment {
        try await client().enrol(code: enrolmentCode(index), name: name)
    }

    static func managerToken() async throws -> String {
        guard let email = environment["FYNLO_SYNC_MANAGER_EMAIL"], let password = environment["FYNLO_SYNC_MANAGER_PASSWORD"] else {
            throw Failure("FYNLO_SYNC_MANAGER_EMAIL and FYNLO_SYNC_MANAGER_PASSWORD must be set")
        }
        let reply = try await client().send("POST", "/api/v1/auth/login", body: ["email": .string(email), "password": .string(password)])
        guard reply.status == 200, let token = reply.body?["access_token"].stringValue else {
            throw Failure("manager login answered \(reply.status): \(reply.body.map { "\($0)" } ?? "")")
        }
        return token
    }

    /// Every order the manager can see, following the pages (bounded).
    static func orders(token: String) async throws -> [JSONValue] {
        var orders: [JSONValue] = []
        var cursor: String?
        for _ in 0..<100 {
            var query = [("limit", "200")]
            if let cursor { query.append(("cursor", cursor)) }
            let reply = try await client().send("GET", "/api/v1/orders", query: query, bearer: token)
            guard reply.status == 200, let body = reply.body else { throw Failure("orders answered \(reply.status)") }
            orders += body["items"].arrayValue ?? []
            guard let next = body["next_cursor"].stringValue else { return orders }
            cursor = next
        }
        throw Failure("more than 100 pages of orders")
    }

    static func order(_ id: String, token: String) async throws -> JSONValue? {
        let reply = try await client().send("GET", "/api/v1/orders/\(id)", bearer: token)
        if reply.status == 404 { return nil }
        guard reply.status == 200 else { throw Failure("order \(id) answered \(reply.status)") }
        return reply.body
    }

    static func conflicts(token: String) async throws -> [JSONValue] {
        let reply = try await client().send("GET", "/api/v1/sync/conflicts", query: [("limit", "200")], bearer: token)
        guard reply.status == 200 else { throw Failure("conflicts answered \(reply.status)") }
        return reply.body?["items"].arrayValue ?? []
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

/// An enrolled device: its store, transport (with faults to inflict) and engine.
struct LiveDevice {
    let enrolment: DeviceEnrolment
    let store: any SyncStore & EntityReader
    let transport: FlakyTransport
    let engine: SyncEngine

    init(
        _ enrolment: DeviceEnrolment, store: any SyncStore & EntityReader, sleeper: any Sleeper = TaskSleeper(),
        batchSize: Int = 100
    ) throws {
        self.enrolment = enrolment
        self.store = store
        let token = enrolment.accessToken
        transport = FlakyTransport(URLSessionTransport(client: try LiveServer.client(), token: { token }))
        var configuration = SyncEngine.Configuration(deviceID: enrolment.deviceID, appVersion: "swift-tests")
        configuration.batchSize = batchSize
        // Short waits: the server is on this machine, and a test must stay quick.
        configuration.retry = RetryPolicy(initial: .milliseconds(50), maximum: .milliseconds(500))
        engine = SyncEngine(configuration: configuration, store: store, transport: transport, sleeper: sleeper)
    }

    /// Opens order number `number` of this device, as the till does (prefix and sequence).
    @discardableResult
    func openOrder(_ number: Int, covers: Int = 2) async throws -> String {
        let id = UUID().uuidString.lowercased()
        let digits = String(number)
        try await engine.record(ChangeDraft(entityType: "order", entityID: id, fields: [
            "number": .string("\(enrolment.prefix)-\(String(repeating: "0", count: max(0, 4 - digits.count)))\(digits)"),
            "device_prefix": .string(enrolment.prefix), "device_seq": .int(number),
            "opened_at": .string(ISO8601DateFormatter().string(from: Date())), "status": "open", "covers": .int(covers),
        ]))
        return id
    }
}
