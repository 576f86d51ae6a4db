import Foundation
import FynloPOSCore
import FynloPOSHTTP
import FynloPOSTesting
import FynloSyncCore
import FynloSyncHTTP
import FynloSyncSQLite
import Testing

/// A whole service on one iPad against the real server (`tests/swift_harness.py`), built by
/// the composition root (``TillApp``) exactly as the app builds it: the real HTTP adapters,
/// a durable SQLite store, a payment journal and a Keychain on disk. Every port that talks
/// HTTP goes through one ``NetworkSwitch``.
///
/// The back office (the demo owner) opens a location of its own for it, with three tables, a
/// simulated card reader and an enrolment code, so the server's orders, payments and daily
/// report for that location are this service's alone (the other live suites run alongside
/// at the demo location).
///
/// Needs the harness's `FYNLO_SYNC_OWNER_EMAIL`/`_PASSWORD` and `FYNLO_FAKE_STRIPE_URL` (the
/// fake Stripe the server runs with `FYNLO_PAYMENT_FAKES=true`, whose simulated reader the
/// customer taps a card on).
@Suite("live: a whole service on one iPad", .enabled(if: LiveServer.isConfigured), .serialized)
@MainActor
struct ServiceLiveTests {
    @Test func aServiceTakenOfflineThenPaidIsTheServersToThePenny() async throws {
        let began = Date()
        let office = try await BackOffice.openLocation()
        let url = try #require(LiveServer.url)
        let client = JSONHTTPClient(baseURL: url, timeout: 20)
        let network = NetworkSwitch()
        let pushes = PushLedger()
        let disk = FileManager.default.temporaryDirectory.appendingPathComponent("fynlo-service-\(UUID().uuidString)")
        let keychain = FileKeychain(directory: disk.appendingPathComponent("keychain"))

        // The app as it launches on the iPad: the set-up screen, then the till from its ports.
        let launch = { TillApp(keychain: keychain, enrolment: SwitchedEnrolment(base: HTTPEnrolment(client: client), network: network)) {
            credentials, tokens in
            // The app's own ports over HTTP (FynloPOSHTTP), each behind the switch.
            var ports = TillPorts.http(
                client: client, tokens: tokens,
                store: try SQLiteSyncStore(
                    path: disk.appendingPathComponent("till.sqlite").path, deviceID: credentials.deviceID),
                journal: try FilePaymentJournal(url: disk.appendingPathComponent("payments.json")), keychain: keychain,
                terminal: SmartReaders(client: client, tokens: { await tokens.read() }, network: network),
                appVersion: "service-live")
            ports.transport = LedgeredTransport(inner: SwitchedTransport(base: ports.transport, network: network), ledger: pushes)
            ports.staffAuth = SwitchedStaffAuth(base: ports.staffAuth, network: network)
            ports.payments = SwitchedPayments(base: ports.payments, network: network)
            ports.socket = SwitchedSocket(base: ports.socket, network: network)
            ports.syncRetry = RetryPolicy(initial: .milliseconds(50), maximum: .milliseconds(500))
            return ports
        } }
        let app = launch()
        await app.launch()
        #expect(app.setup.phase == .needsCode)
        await app.enrol(code: office.enrolmentCode, name: "Service till")
        let opening = try #require(app.till, "\(app.setup.phase) \(app.failure ?? "")")
        #expect(opening.credentials.locationID == office.locationID)
        #expect(app.setup.locationName == office.locationName)
        #expect(await opening.engine.requestSync() == .synced)
        // No WebSocket in Linux's URLSession: live updates fall back to polling the sync feed.
        var mode = await opening.live.currentMode()
        for _ in 0..<50 where !mode.isPolling {
            try await Task.sleep(for: .milliseconds(100))
            mode = await opening.live.currentMode()
        }
        #expect(mode.isPolling, "\(mode)")

        // Alex, a cashier (server/demo.py), signs in by PIN, online.
        let alex = try #require(opening.staff.staff.first { $0.name == "Alex" }?.employeeID, "no offline check for Alex")
        #expect(await opening.staff.signIn(employeeID: alex, pin: "7391") == .signedIn)
        #expect(opening.staff.current?.signedInOnline == true && opening.staff.current?.signs == true)

        // The floor: this location's three tables; three parties sit down.
        try await opening.floor.reload()
        let tables = opening.floor.allTables.sorted { $0.table.name < $1.table.name }
        #expect(tables.map(\.table.name) == ["S1", "S2", "S3"])
        try #require(tables.count == 3)
        for (table, covers) in zip(tables, [2, 3, 4]) { try await opening.floor.seat(table.id, covers: covers) }

        // The network goes. Ten orders: one per table, seven at the counter, each sent.
        #expect(await opening.engine.requestSync() == .synced)
        let answeredBeforeCut = await pushes.answered.count
        await network.set(false)
        try await opening.menu.reload()
        let products = opening.menu.menu.products.values.filter { !$0.availability.isSoldOut }.sorted { $0.name < $1.name }
        let plain = products.filter(\.modifierGroupIDs.isEmpty)
        let steak = try #require(products.first { !$0.modifierGroupIDs.isEmpty }, "no dish with modifiers on the demo menu")
        try #require(plain.count >= 3)
        var orderIDs: [String] = []
        for (index, table) in tables.enumerated() {
            try await opening.entry.open(table: table.id)
            opening.entry.seat = 1
            if index == 1 {
                opening.menu.choose(steak)
                var choice = try #require(opening.menu.choice)
                for group in choice.groups {
                    for modifier in group.modifiers.prefix(max(group.minChoices, min(1, group.maxChoices))) {
                        choice.toggle(modifier)
                    }
                }
                try await opening.entry.add(choice, notes: "medium rare")
            }
            for (offset, product) in plain.prefix(2 + index % 2).enumerated() {
                opening.entry.seat = 1 + offset % 2
                try await add(product, quantity: 1 + (index + offset) % 2, to: opening)
            }
            try await opening.entry.send()
            orderIDs.append(try #require(opening.entry.order?.id))
        }
        for counter in 0..<7 {
            try await opening.entry.openCounterSale()
            opening.entry.seat = nil
            try await add(plain[counter % plain.count], quantity: 1 + counter % 3, to: opening)
            if counter % 2 == 0 { try await add(plain[(counter + 1) % plain.count], quantity: 1, to: opening) }
            try await opening.entry.send()
            orderIDs.append(try #require(opening.entry.order?.id))
        }
        #expect(Set(orderIDs).count == 10)
        var shown: [Order] = []
        for id in orderIDs { shown.append(try #require(try await Order.load(id, from: opening.records))) }
        #expect(shown.map(\.number) == (1...10).map { OrderNumber(prefix: opening.credentials.prefix, sequence: $0).text })
        #expect(shown.allSatisfy { $0.status == .sent })
        #expect(await eventually { !opening.syncStatus.isOnline && opening.syncStatus.pendingChanges > 0 }, "\(opening.syncStatus.headline)")
        #expect(await pushes.answered.count == answeredBeforeCut, "nothing reached the server while the network was cut")

        // The iPad is killed, still offline, and launched again: the orders wait on disk.
        let waiting = try await opening.store.pendingChanges().count
        #expect(waiting > 30, "ten orders, their lines, sends and tables")
        await opening.stop()
        let relaunched = launch()
        await relaunched.launch()
        let till = try #require(relaunched.till, "\(relaunched.failure ?? "")")
        defer { Task { await till.stop() } }
        #expect(till.credentials == opening.credentials)
        #expect(try await till.store.pendingChanges().count == waiting)
        #expect(await eventually { !till.syncStatus.isOnline && till.syncStatus.pendingChanges == waiting }, "\(till.syncStatus.headline)")
        #expect(till.staff.current == nil, "nobody is signed in after a relaunch")
        #expect(await till.staff.signIn(employeeID: alex, pin: "7391") == .signedIn)
        #expect(till.staff.current?.signedInOnline == false, "checked against this iPad's offline check")
        for order in shown { #expect(try await Order.load(order.id, from: till.records) == order) }

        // The network is back: everything goes, once; Alex signs in online again for payments.
        await network.set(true)
        #expect(await till.engine.requestSync() == .synced)
        #expect(await till.engine.requestSync() == .synced)
        #expect(await pushes.answered.count == answeredBeforeCut + waiting, "every change waiting answered once")
        #expect(await till.staff.switchUser(to: alex, pin: "7391") == .signedIn)
        #expect(till.staff.current?.signedInOnline == true)
        let refused = try await till.engine.deadLetters().map { "\($0.change.entityType) \($0.reason) \($0.detail ?? "")" }
        #expect(refused.isEmpty, "\(refused)")
        let answered = await pushes.answered
        #expect(Set(answered.map(\.seq)).count == answered.count, "a change was pushed twice")
        #expect(answered.allSatisfy { $0.outcome == "applied" }, "\(answered.filter { $0.outcome != "applied" })")
        #expect(await eventually { till.syncStatus.isOnline && till.syncStatus.pendingChanges == 0 }, "\(till.syncStatus.headline)")

        // The server holds the ten orders, each once, as the iPad shows them.
        let manager = try await LiveServer.managerToken()
        let listed = try await BackOffice.orders(at: office.locationID, token: manager)
        #expect(listed.count == 10)
        #expect(Set(listed.compactMap { $0["id"].stringValue }) == Set(orderIDs))
        for order in shown {
            let server = try #require(try await LiveStaffServer.order(order.id, token: manager), "order \(order.number)")
            expectSame(server, order)
        }

        // Table S1 pays by bank: the QR, approved on the sandbox by the customer's phone.
        let (first, firstDue) = try await presentBill(orderIDs[0], on: till)
        let bank = try till.payment(for: firstDue)
        await bank.loadQuote()
        await bank.payByBank()
        try #require(bank.stage == .awaitingBank, "\(bank.message)")
        try await PayerSandbox.approve(link: try #require(bank.qr?.link))
        #expect(await settle(bank) == .paid, "\(bank.message)")

        // Table S2 splits the bill in two: one half on the reader by card, the other in cash.
        let (second, _) = try await presentBill(orderIDs[1], on: till)
        try till.bill.split(.equally(2))
        let halves = till.bill.parts
        #expect(halves.count == 2 && halves.map(\.total).reduce(0, +) == second.totals.totalDue)
        let card = try till.payment(for: halves[0])
        await card.loadQuote()
        await card.findReaders()
        let reader = try #require(card.readers.first, "\(card.message)")
        await card.use(reader)
        await card.payByCard()
        try #require(card.stage == .awaitingCard, "\(card.message)")
        try await FakeStripe.presentCard(on: reader.id)
        #expect(await settle(card) == .paid, "\(card.message)")
        try await till.bill.reload()
        #expect(till.bill.due == halves[1].total, "the card's half is off the bill")
        let cash = try till.payment(for: halves[1])
        await cash.loadQuote()
        await cash.payCash(tendered: (halves[1].total / 500 + 1) * 500)
        #expect(cash.stage == .paid && cash.change == (halves[1].total / 500 + 1) * 500 - halves[1].total)

        // Table S3's bank declines; the same screen offers a card at once, for the same amount.
        let (third, thirdDue) = try await presentBill(orderIDs[2], on: till)
        let declined = try till.payment(for: thirdDue)
        await declined.loadQuote()
        await declined.payByBank()
        try #require(declined.stage == .awaitingBank, "\(declined.message)")
        try await PayerSandbox.approve(link: try #require(declined.qr?.link), decision: "decline")
        #expect(await settle(declined) == .notPaid(.failed), "\(declined.message)")
        let failedBank = try #require(declined.payment)
        #expect(declined.offers.first == .cardPresent, "\(declined.offers)")
        await declined.use(reader)
        await declined.take(.cardPresent)
        try #require(declined.stage == .awaitingCard, "\(declined.message)")
        #expect(declined.payment?.amount == third.totals.totalDue && declined.payment?.id != failedBank.id)
        try await FakeStripe.presentCard(on: reader.id)
        #expect(await settle(declined) == .paid, "\(declined.message)")

        // The cash goes up with the rest; the iPad learns the three orders are paid.
        #expect(await till.engine.requestSync() == .synced)
        #expect(try await till.engine.deadLetters().isEmpty)
        try await till.floor.reload()
        for (order, table) in zip([first, second, third], tables) {
            try await till.bill.load(order.id)
            #expect(till.bill.order?.status == .paid && till.bill.due == 0, "\(order.number)")
            #expect(till.floor.table(table.id)?.status == .paid)
        }

        // The server's payments per order: what each screen took, to the penny.
        let takings: [(order: Order, method: String, amount: Int)] = [
            (first, "open_banking", try #require(bank.payment?.amount)),
            (second, "card_present", try #require(card.payment?.amount)),
            (second, "cash", cash.due.amount),
            (third, "card_present", try #require(declined.payment?.amount)),
        ]
        #expect(takings.map(\.amount) == [first.totals.totalDue, halves[0].total, halves[1].total, third.totals.totalDue])
        for order in [first, second, third] {
            let paid = try await BackOffice.orderPayments(order.id, token: manager)
            #expect(paid["order_status"] == "paid" && paid["remaining"] == 0)
            #expect(paid["paid"].intValue == order.totals.totalDue && paid["total_due"].intValue == order.totals.totalDue)
            let succeeded = (paid["payments"].arrayValue ?? []).filter { $0["state"] == "succeeded" }
                .map { "\($0["method"].stringValue ?? "") \($0["amount"].intValue ?? -1)" }.sorted()
            #expect(succeeded == takings.filter { $0.order.id == order.id }.map { "\($0.method) \($0.amount)" }.sorted())
        }
        let thirdsPayments = try await BackOffice.orderPayments(third.id, token: manager)["payments"].arrayValue ?? []
        #expect(thirdsPayments.contains { $0["id"].stringValue == failedBank.id && $0["state"] == "failed" })

        // The daily report for this location: the same takings, per method, and the fees the
        // payment screens quoted.
        let report = try await BackOffice.dailyReport(at: office.locationID, token: manager)
        var expected: [String: (payments: Int, charged: Int, platformFees: Int, providerFees: Int)] = [:]
        for (taking, model) in zip(takings, [bank, card, cash, declined]) {
            let method = PaymentMethod(rawValue: taking.method) ?? .cash
            let quote = model.methods.first { $0.method == method }
            let row = expected[taking.method] ?? (0, 0, 0, 0)
            expected[taking.method] = (
                row.payments + 1, row.charged + taking.amount, row.platformFees + (quote?.platformFee ?? 0),
                row.providerFees + (quote?.providerFee ?? 0)
            )
        }
        let rows = Dictionary(report.compactMap { row in row["method"].stringValue.map { ($0, row) } }, uniquingKeysWith: { a, _ in a })
        #expect(Set(rows.keys) == Set(expected.keys), "\(report)")
        for (method, want) in expected {
            let row = rows[method]
            #expect(row?["payments"].intValue == want.payments, "\(method)")
            #expect(row?["charged"].intValue == want.charged, "\(method)")
            #expect(row?["tips"].intValue == 0 && row?["refunded"].intValue == 0, "\(method)")
            #expect(row?["platform_fees"].intValue == want.platformFees, "\(method): \(row.map { "\($0)" } ?? "")")
            #expect(row?["estimated_provider_fees"].intValue == want.providerFees, "\(method): \(row.map { "\($0)" } ?? "")")
        }
        let charged = report.compactMap { $0["charged"].intValue }.reduce(0, +)
        #expect(charged == first.totals.totalDue + second.totals.totalDue + third.totals.totalDue)
        let perMethod = expected.sorted { $0.key < $1.key }.map {
            "\($0.key) \($0.value.payments)× \($0.value.charged)p (fees \($0.value.platformFees)p + \($0.value.providerFees)p)"
        }
        print("live service: 10 orders, 3 paid, \(charged)p: \(perMethod.joined(separator: ", ")); \(Int(Date().timeIntervalSince(began))) s")
    }

    // MARK: Steps

    private func add(_ product: MenuProduct, quantity: Int, to till: Till) async throws {
        till.menu.choose(product)
        var choice = try #require(till.menu.choice)
        choice.quantity = quantity
        try await till.entry.add(choice)
    }

    /// The bill brought to the table: the order as the iPad shows it and its whole part.
    private func presentBill(_ orderID: String, on till: Till) async throws -> (Order, BillPart) {
        try await till.bill.load(orderID)
        try await till.bill.present()
        try till.bill.split(.whole)
        return (try #require(till.bill.order), try #require(till.bill.parts.first))
    }

    /// Polls the payment (the fallback behind the socket) until it has ended, for 30 s.
    private func settle(_ model: PaymentFlowModel) async -> PaymentFlowModel.Stage {
        for _ in 0..<60 {
            if case .paid = model.stage { break }
            if case .notPaid = model.stage { break }
            try? await Task.sleep(for: .milliseconds(500))
            await model.refresh()
        }
        return model.stage
    }

    private func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<100 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return condition()
    }

    private func expectSame(_ server: JSONValue, _ order: Order) {
        let totals = order.totals
        #expect(server["number"].stringValue == order.number)
        #expect(server["status"] == "sent")
        #expect(server["table_id"].stringValue == order.tableID)
        #expect(server["total_due"].intValue == totals.totalDue, "\(order.number)")
        #expect(server["subtotal"].intValue == totals.subtotal, "\(order.number)")
        #expect(server["vat_total"].intValue == totals.vatTotal, "\(order.number)")
        let lines = server["lines"].arrayValue ?? []
        #expect(lines.count == order.lines.count, "\(order.number)")
        for line in lines {
            let mine = order.line(line["id"].stringValue ?? "")
            #expect(mine != nil)
            #expect(line["quantity"].intValue == mine?.quantity && line["seat"].intValue == mine?.seat)
            #expect(line["total"].intValue == totals.lines.first { $0.lineID == mine?.id }?.total, "\(order.number)")
        }
    }
}

// MARK: The back office and the customer

/// What the owner and a manager do in the back office for this test, over the REST API.
enum BackOffice {
    struct Location {
        let locationID: String
        let locationName: String
        let enrolmentCode: String
    }

    /// A location of its own: three tables, registered with Stripe Terminal with a simulated
    /// reader, and a one-time code to enrol the iPad there.
    static func openLocation() async throws -> Location {
        let client = try LiveServer.client()
        let owner = try await LiveServer.ownerToken()
        let name = "Service test \(UUID().uuidString.prefix(8))"
        let location = try await created(client.send("POST", "/api/v1/locations", body: ["name": .string(name)], bearer: owner))
        let id = try #require(location["id"].stringValue)
        for number in 1...3 {
            _ = try await created(client.send(
                "POST", "/api/v1/tables",
                body: ["location_id": .string(id), "name": .string("S\(number)"), "seats": 4, "area": "Service"],
                bearer: owner))
        }
        _ = try await created(client.send(
            "PUT", "/api/v1/payments/terminal/locations/\(id)",
            body: ["line1": "1 Service Street", "city": "London", "postal_code": "W1D 1AA", "country": "GB"],
            bearer: owner, headers: ["Idempotency-Key": UUID().uuidString]))
        _ = try await created(client.send(
            "POST", "/api/v1/payments/terminal/readers",
            body: ["location_id": .string(id), "registration_code": "simulated-wpe", "label": "Counter reader"],
            bearer: owner, headers: ["Idempotency-Key": UUID().uuidString]))
        let code = try await created(client.send(
            "POST", "/api/v1/devices/enrolment-codes", body: ["location_id": .string(id)], bearer: owner))
        return Location(locationID: id, locationName: name, enrolmentCode: try #require(code["code"].stringValue))
    }

    /// Every order at the location (one page holds them all).
    static func orders(at locationID: String, token: String) async throws -> [JSONValue] {
        let reply = try await LiveServer.client().send(
            "GET", "/api/v1/orders", query: [("location_id", locationID), ("limit", "100")], bearer: token)
        return try await created(reply)["items"].arrayValue ?? []
    }

    static func orderPayments(_ orderID: String, token: String) async throws -> JSONValue {
        try await created(LiveServer.client().send("GET", "/api/v1/orders/\(orderID)/payments", bearer: token))
    }

    /// `GET /api/v1/payments/reports/daily` around today (the location's day may be UTC's ± 1).
    static func dailyReport(at locationID: String, token: String) async throws -> [JSONValue] {
        let day: (Int) -> String = { offset in
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withFullDate]
            return formatter.string(from: Date().addingTimeInterval(Double(offset) * 86_400))
        }
        let reply = try await LiveServer.client().send(
            "GET", "/api/v1/payments/reports/daily",
            query: [("start", day(-1)), ("end", day(1)), ("location_id", locationID)], bearer: token)
        return try await created(reply).arrayValue ?? []
    }

    private static func created(_ reply: TransportReply) async throws -> JSONValue {
        guard (200..<300).contains(reply.status), let body = reply.body else {
            throw LiveServer.Failure("back office: HTTP \(reply.status) \(reply.body.map { "\($0)" } ?? "")")
        }
        return body
    }
}

/// The fake Stripe's simulated reader, as the customer uses it: a card tapped on it
/// (`POST /v1/test_helpers/terminal/readers/{id}/present_payment_method`, Stripe's test
/// helper; server/payments/fakes/stripe_fake_terminal.py).
enum FakeStripe {
    static func presentCard(on readerID: String) async throws {
        let base = try #require(
            LiveServer.environment["FYNLO_FAKE_STRIPE_URL"].flatMap { $0.isEmpty ? nil : URL(string: $0) },
            "FYNLO_FAKE_STRIPE_URL is not set: tests/swift_harness.py reads it from the server's log")
        let reply = try await JSONHTTPClient(baseURL: base, timeout: 20).send(
            "POST", "/v1/test_helpers/terminal/readers/\(readerID)/present_payment_method", bearer: "sk_test_fynlo_dev")
        #expect(reply.status == 200, "the simulated reader: \(reply.status) \(reply.body.map { "\($0)" } ?? "")")
        #expect(reply.body?["action"]["status"] == "succeeded")
    }
}

// MARK: The iPad's ports behind the switch

/// Smart readers the server drives (Stripe Terminal's server-driven integration): the
/// location's registered readers from `GET /api/v1/payments/terminal/readers`; the payment
/// screen hands each payment to one with `/collect`. No Tap to Pay and no offline store here
/// (those are the Terminal SDK's, on the iPad).
actor SmartReaders: CardTerminal {
    private let client: JSONHTTPClient
    private let tokens: TillTokens
    private let network: NetworkSwitch
    private var connected: CardReader?

    init(client: JSONHTTPClient, tokens: @escaping TillTokens, network: NetworkSwitch) {
        self.client = client
        self.tokens = tokens
        self.network = network
    }

    func discoverReaders() async throws -> [CardReader] {
        try await network.check()
        let (device, employee) = await tokens()
        let reply = try await client.send(
            "GET", "/api/v1/payments/terminal/readers", bearer: device,
            headers: employee.map { ["X-Fynlo-Employee": $0] } ?? [:])
        guard reply.status == 200 else { throw LiveServer.Failure("readers: HTTP \(reply.status)") }
        return (reply.body?.arrayValue ?? []).compactMap { reader in
            reader["id"].stringValue.map { CardReader(id: $0, label: reader["label"].stringValue ?? $0, kind: .internet) }
        }
    }

    func connect(_ reader: CardReader) { connected = reader }
    func connectedReader() -> CardReader? { connected }

    func collect(clientSecret: String) async throws -> CardCollection {
        throw LiveServer.Failure("a smart reader takes the card through the server (/collect), not the SDK")
    }

    func canTakeOffline() -> Bool { false }
    func heldOffline(currency: String) -> Int { 0 }
    func collectOffline(_ intent: OfflineCardIntent) -> OfflineCardCollection { .canceled }
    func storedOffline(paymentID: String) -> Int? { nil }
}

/// ``PaymentsAPI`` behind the switch: cut, every call is lost as on a dead network.
struct SwitchedPayments: PaymentsAPI {
    let base: any PaymentsAPI
    let network: NetworkSwitch

    private func reach() async throws {
        do { try await network.check() } catch { throw PaymentsAPIError.unreachable("the network is cut") }
    }

    func quote(amount: Int) async throws -> PaymentQuote {
        try await reach()
        return try await base.quote(amount: amount)
    }

    func create(_ request: PaymentRequest, idempotencyKey: String) async throws -> PaymentView {
        try await reach()
        return try await base.create(request, idempotencyKey: idempotencyKey)
    }

    func payment(_ id: String) async throws -> PaymentView {
        try await reach()
        return try await base.payment(id)
    }

    func cancel(_ id: String, idempotencyKey: String) async throws -> PaymentView {
        try await reach()
        return try await base.cancel(id, idempotencyKey: idempotencyKey)
    }

    func capture(_ id: String, idempotencyKey: String) async throws -> PaymentView {
        try await reach()
        return try await base.capture(id, idempotencyKey: idempotencyKey)
    }

    func collect(_ id: String, readerID: String, tipOnReader: Bool, idempotencyKey: String) async throws -> PaymentView {
        try await reach()
        return try await base.collect(id, readerID: readerID, tipOnReader: tipOnReader, idempotencyKey: idempotencyKey)
    }

    func qrImage(_ id: String, format: QRImageFormat) async throws -> Data {
        try await reach()
        return try await base.qrImage(id, format: format)
    }

    func connectionToken() async throws -> TerminalConnectionToken {
        try await reach()
        return try await base.connectionToken()
    }

    func offlineCardLimits() async throws -> OfflineCardLimits {
        try await reach()
        return try await base.offlineCardLimits()
    }

    func refund(_ paymentID: String, amount: Int?, reason: String, approval: String?, idempotencyKey: String)
        async throws -> RefundView
    {
        try await reach()
        return try await base.refund(
            paymentID, amount: amount, reason: reason, approval: approval, idempotencyKey: idempotencyKey)
    }
}

struct SwitchedEnrolment: EnrolmentService {
    let base: any EnrolmentService
    let network: NetworkSwitch

    func enrol(code: String, name: String) async throws -> DeviceCredentials {
        do { try await network.check() } catch { throw EnrolmentError.unreachable }
        return try await base.enrol(code: code, name: name)
    }

    func enrolAgain(code: String, as device: DeviceCredentials) async throws -> DeviceCredentials {
        do { try await network.check() } catch { throw EnrolmentError.unreachable }
        return try await base.enrolAgain(code: code, as: device)
    }
}

/// The socket behind the switch (on Linux it says sockets are unavailable and the till polls).
struct SwitchedSocket: LiveSocket {
    let base: any LiveSocket
    let network: NetworkSwitch

    func connect() async throws -> any LiveConnection {
        do { try await network.check() } catch { throw LiveSocketError.failed("the network is cut") }
        return try await base.connect()
    }
}

/// Every answer the server gave to a pushed change, to show each was pushed once.
actor PushLedger {
    private(set) var answered: [ChangeResult] = []
    func note(_ results: [ChangeResult]) { answered += results }
}

struct LedgeredTransport: SyncTransport {
    let inner: any SyncTransport
    let ledger: PushLedger

    func push(_ request: PushRequest) async throws -> TransportReply {
        let reply = try await inner.push(request)
        if reply.status == 200, let body = reply.body, let answer = try? PushResponse(json: body) {
            await ledger.note(answer.results)
        }
        return reply
    }

    func pull(cursor: String?, limit: Int, appVersion: String) async throws -> TransportReply {
        try await inner.pull(cursor: cursor, limit: limit, appVersion: appVersion)
    }
}

/// The Keychain as files (Linux has none): what enrolment and the staff session keep survives
/// the till being built again.
actor FileKeychain: Keychain {
    private let directory: URL

    init(directory: URL) { self.directory = directory }

    func read(_ item: String) throws -> Data? {
        let file = directory.appendingPathComponent(item)
        return FileManager.default.fileExists(atPath: file.path) ? try Data(contentsOf: file) : nil
    }

    func write(_ item: String, _ value: Data) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try value.write(to: directory.appendingPathComponent(item), options: .atomic)
    }

    func delete(_ item: String) throws {
        try? FileManager.default.removeItem(at: directory.appendingPathComponent(item))
    }
}

extension LiveUpdates.Mode {
    fileprivate var isPolling: Bool { if case .polling = self { true } else { false } }
}
