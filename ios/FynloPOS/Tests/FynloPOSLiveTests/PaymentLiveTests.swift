#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Foundation
import FynloPOSCore
import FynloPOSHTTP
import FynloPOSTesting
import FynloSyncCore
import FynloSyncHTTP
import FynloSyncTesting
import Testing

/// Payments against the real server (`tests/swift_harness.py`): a pay-by-bank QR paid on
/// the server's pay-by-bank sandbox over HTTP, and cash taken offline and pushed.
///
/// Each test enrols its own iPad with a fresh code the demo manager makes
/// (`POST /api/v1/devices/enrolment-codes`), so it takes none of the harness's numbered
/// codes. The pay-by-bank test needs the server's payment fakes (`FYNLO_PAYMENT_FAKES=true`).
@Suite("payments against the real server", .enabled(if: LiveServer.isConfigured), .serialized)
struct PaymentLiveTests {
    @Test @MainActor func aQRPaidOnTheSandboxReachesPaid() async throws {
        let till = try await LiveTill.enrol(name: "pay-by-bank test")
        let order = try await till.openOrder(1)
        let due = try await till.totalDue(order)
        #expect(due > 0)

        let journal = try FilePaymentJournal(url: LiveTill.scratch("journal.json"))
        let model = PaymentFlowModel(
            due: PaymentDue(orderID: order, amount: due, label: "Live test"), api: till.payments,
            journal: journal, records: till.records)
        await model.loadQuote()
        #expect(!model.isOffline)
        #expect((model.methods.first { $0.method == .openBanking }?.totalFee ?? 0) > 0)

        await model.payByBank()
        try #require(
            model.stage == .awaitingBank,
            "\(model.message) The server needs a pay-by-bank provider: tests/swift_harness.py must start it with FYNLO_PAYMENT_FAKES=true.")
        let qr = try #require(model.qr)
        #expect(model.qrImage?.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))  // the server's PNG
        #expect((model.secondsLeft ?? 0) > 800)

        try await PayerSandbox.approve(link: qr.link)

        for _ in 0..<60 where model.stage != .paid {
            try await Task.sleep(for: .milliseconds(500))
            await model.refresh()
        }
        #expect(model.stage == .paid, "\(model.message)")
        #expect(model.payment?.state == .succeeded)
        #expect(model.settlementNote != nil)
        #expect(await journal.unfinished().isEmpty)
        let payments = try await till.orderPayments(order)
        #expect(payments["paid"] == .int(due))
        #expect(payments["order_status"] == "paid")
    }

    @Test @MainActor func cashTakenOfflineIsPushedOnce() async throws {
        let till = try await LiveTill.enrol(name: "cash test")
        let order = try await till.openOrder(1)
        let due = try await till.totalDue(order)

        // No server for payments: the quote fails, cash still works.
        let offline = HTTPPaymentsAPI(
            client: JSONHTTPClient(baseURL: URL(string: "http://127.0.0.1:9")!, timeout: 2), tokens: { (nil, nil) })
        let model = PaymentFlowModel(
            due: PaymentDue(orderID: order, amount: due), api: offline,
            journal: try FilePaymentJournal(url: LiveTill.scratch("journal.json")), records: till.records,
            employeeID: till.employeeID)
        await model.loadQuote()
        #expect(model.isOffline)
        await model.payCash(tendered: due + 500)
        #expect(model.stage == .paid)
        #expect(model.change == 500)
        let cash = try #require(
            try await till.records.entities(ofType: "cash_payment").first { $0.value.data["order_id"] == .string(order) }?.key)

        #expect(await till.engine.requestSync() == .synced)
        #expect(await till.engine.requestSync() == .synced)  // nothing left to send
        #expect(await till.store.pendingChanges().isEmpty)
        let answers = await till.recorder.answers(for: cash.entityID)
        #expect(answers.count == 1, "pushed exactly once: \(answers)")
        // Signed by Alex (a cashier may take cash): applied, and the order is paid.
        #expect(answers.first?.outcome == "applied", "\(answers)")
        let payments = try await till.orderPayments(order)
        #expect(payments["order_status"] == "paid")
        #expect(payments["paid"] == .int(due))
    }
}

/// An enrolled iPad with a signed-in cashier, its store and engine, and the payments API.
@MainActor
struct LiveTill {
    static let demoCashierPIN = "7391"  // Alex, a cashier in server/demo.py

    let enrolment: DeviceEnrolment
    let employeeID: String
    let employeeToken: String
    let store: InMemorySyncStore
    let engine: SyncEngine
    let records: SignedRecords
    /// Kept so the signed-in cashier's key stays in the keyring for the test's length.
    let staffSession: StaffSession
    let recorder: AnswerRecorder
    let payments: HTTPPaymentsAPI

    static func enrol(name: String) async throws -> LiveTill {
        let client = try LiveServer.client()
        let manager = try await LiveServer.managerToken()
        let locations = try await client.send("GET", "/api/v1/locations", bearer: manager)
        let location = try #require(locations.body?["items"].arrayValue?.first?["id"].stringValue, "no location")
        let code = try await client.send(
            "POST", "/api/v1/devices/enrolment-codes", body: ["location_id": .string(location)], bearer: manager)
        let enrolment = try await client.enrol(code: try #require(code.body?["code"].stringValue, "\(code.status)"), name: name)

        let staff = try await client.send("GET", "/api/v1/employees", bearer: manager)
        let cashier = try #require(
            staff.body?.arrayValue?.first { $0["name"] == "Alex" }?["id"].stringValue, "no demo cashier")
        // Alex signs in through the staff session, so every change the till records carries
        // his proof (SignedRecords): the server applies cash only from someone who may take it.
        let device = enrolment.accessToken
        let keyring = SigningKeyring()
        let staffSession = StaffSession(
            deviceID: enrolment.deviceID, auth: HTTPStaffAuth(client: client, token: { device }),
            keychain: MemoryKeychain(), keyring: keyring)
        #expect(await staffSession.refreshCredentials())
        #expect(await staffSession.signIn(employeeID: cashier, pin: demoCashierPIN) == .signedIn)
        #expect(staffSession.current?.signs == true, "no offline check for Alex: his changes would go unsigned")
        let employeeToken = try #require(staffSession.current?.session?.token, "PIN sign-in failed")

        let store = InMemorySyncStore(deviceID: enrolment.deviceID)
        let recorder = AnswerRecorder(URLSessionTransport(client: client, token: { device }))
        var configuration = SyncEngine.Configuration(deviceID: enrolment.deviceID, appVersion: "pos-live-tests")
        configuration.retry = RetryPolicy(initial: .milliseconds(50), maximum: .milliseconds(500))
        let engine = SyncEngine(configuration: configuration, store: store, transport: recorder)
        #expect(await engine.requestSync() == .synced)  // the menu and the floor
        return LiveTill(
            enrolment: enrolment, employeeID: cashier, employeeToken: employeeToken, store: store, engine: engine,
            records: SignedRecords(SyncedRecords(reader: store, engine: engine), keyring: keyring),
            staffSession: staffSession, recorder: recorder,
            payments: HTTPPaymentsAPI(client: client, tokens: { (device, employeeToken) }))
    }

    /// Opens an order with one line of the first dish on the menu, and pushes it.
    func openOrder(_ number: Int) async throws -> String {
        let products = try await records.entities(ofType: "product")
        let (product, dish) = try #require(
            products.first { $0.value.data["price"]?.intValue != nil && $0.value.data["archived"] != true },
            "no product on the demo menu")
        let order = UUID().uuidString.lowercased()
        let digits = String(number)
        try await records.record(ChangeDraft(entityType: "order", entityID: order, fields: [
            "number": .string("\(enrolment.prefix)-\(String(repeating: "0", count: max(0, 4 - digits.count)))\(digits)"),
            "device_prefix": .string(enrolment.prefix), "device_seq": .int(number),
            "opened_at": .string(ISO8601DateFormatter().string(from: Date())), "status": "open", "covers": 2,
        ]))
        try await records.record(ChangeDraft(entityType: "order_line", entityID: UUID().uuidString, fields: [
            "order_id": .string(order), "product_id": .string(product.entityID),
            "name": dish.data["name"] ?? "Dish", "unit_price": dish.data["price"] ?? 0, "quantity": 1,
            "vat_rate_bp": dish.data["vat_rate_bp"] ?? 2000, "modifiers": [],
        ]))
        #expect(await engine.requestSync() == .synced)
        #expect(await store.pendingChanges().isEmpty)
        return order
    }

    /// `GET /api/v1/orders/{id}/payments`: what is paid, waiting and left, as the server prices it.
    func orderPayments(_ order: String) async throws -> JSONValue {
        let reply = try await LiveServer.client().send(
            "GET", "/api/v1/orders/\(order)/payments", bearer: enrolment.accessToken,
            headers: ["X-Fynlo-Employee": employeeToken])
        return try #require(reply.status == 200 ? reply.body : nil, "order payments: \(reply.status) \(reply.body.map { "\($0)" } ?? "")")
    }

    func totalDue(_ order: String) async throws -> Int {
        try #require(try await orderPayments(order)["total_due"].intValue)
    }

    static func scratch(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("fynlo-pos-live-\(UUID().uuidString)/\(name)")
    }
}

/// The sync transport, noting the server's answer to every pushed change.
actor AnswerRecorder: SyncTransport {
    private let inner: any SyncTransport
    private var results: [ChangeResult] = []

    init(_ inner: any SyncTransport) { self.inner = inner }

    func answers(for entityID: String) -> [ChangeResult] { results.filter { $0.entityID == entityID.lowercased() } }

    func push(_ request: PushRequest) async throws -> TransportReply {
        let reply = try await inner.push(request)
        if reply.status == 200, let body = reply.body, let answer = try? PushResponse(json: body) {
            results += answer.results
        }
        return reply
    }

    func pull(cursor: String?, limit: Int, appVersion: String) async throws -> TransportReply {
        try await inner.pull(cursor: cursor, limit: limit, appVersion: appVersion)
    }
}

/// The diner's phone on the pay-by-bank sandbox, over plain HTTP: the payer page (name and
/// email), then the sandbox's bank: choose it, consent, approve (server/payments/payer_page.py;
/// server/payments/fakes/open_banking_sandbox_page.py). `decision`: `approve` or `decline`.
enum PayerSandbox {
    static func approve(link: String, decision: String = "approve") async throws {
        // The link names the server's public URL; the test reaches the server at FYNLO_SYNC_URL.
        let server = try #require(LiveServer.url)
        let parts = try #require(URLComponents(string: link))
        let token = try #require(parts.queryItems?.first { $0.name == "t" }?.value)
        let payerPage = server.appendingPathComponent(parts.path)
        let toBank = try await post(payerPage, ["t": token, "name": "Sam Diner", "email": "sam@example.com"])
        guard let bank = toBank.url, let query = URLComponents(url: bank, resolvingAgainstBaseURL: false)?.queryItems,
            let paymentID = query.first(where: { $0.name == "payment_id" })?.value,
            let resource = query.first(where: { $0.name == "resource_token" })?.value,
            let back = query.first(where: { $0.name == "return_uri" })?.value
        else {
            throw LiveServer.Failure(
                "the payer page did not send the phone to the sandbox (status \(toBank.status), at \(toBank.url?.absoluteString ?? "?")): is the server running with FYNLO_PAYMENT_FAKES=true?")
        }
        var base = URLComponents(url: bank, resolvingAgainstBaseURL: false)
        base?.path = "/payments/\(paymentID)"
        base?.query = nil
        let payment = try #require(base?.url)
        let fields = ["resource_token": resource, "return_uri": back]
        _ = try await post(payment.appendingPathComponent("provider"), fields.merging(["provider_id": "mock-payments-gb-redirect"]) { a, _ in a })
        _ = try await post(payment.appendingPathComponent("consent"), fields)
        let decided = try await post(payment.appendingPathComponent("bank"), fields.merging(["decision": decision]) { a, _ in a })
        #expect(decided.status == 200, "the bank's answer: \(decided.status)")
    }

    /// A form POST, following redirects as a browser does; the final status and address.
    private static func post(_ url: URL, _ fields: [String: String]) async throws -> (status: Int, url: URL?) {
        var request = URLRequest(url: url, timeoutInterval: 20)
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        request.httpBody = Data(
            fields.sorted { $0.key < $1.key }.map {
                "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
            }.joined(separator: "&").utf8)
        let (_, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        return (http?.statusCode ?? 0, http?.url)
    }
}
