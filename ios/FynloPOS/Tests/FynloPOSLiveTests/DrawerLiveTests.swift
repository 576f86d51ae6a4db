import Foundation
import FynloPOSCore
import FynloPOSHTTP
import FynloPOSTesting
import FynloSyncCore
import FynloSyncHTTP
import FynloSyncSQLite
import Testing

/// A drawer's day on one iPad against the real server (`tests/swift_harness.py`), through
/// the composition root as the app builds it: a cashier opens the drawer with £100, takes a
/// cash sale, pays £3 out with a manager's PIN, counts 50p over and closes; the server's
/// session and the iPad's manager view then say the same.
///
/// The owner opens a location of its own (``BackOffice/openLocation()``) and adds its drawer
/// (`POST /api/v1/cash-up/drawers`), so the cash there is this test's alone.
@Suite("live: the cash drawer on one iPad", .enabled(if: LiveServer.isConfigured), .serialized)
@MainActor
struct DrawerLiveTests {
    @Test func aDrawerClosedFiftyPenceOverReadsTheSameOnTheServerAndTheIPad() async throws {
        let office = try await BackOffice.openLocation()
        let owner = try await LiveServer.ownerToken()
        let client = try LiveServer.client()
        let added = try await client.send(
            "POST", "/api/v1/cash-up/drawers",
            body: ["name": "Front till", "location_id": .string(office.locationID)], bearer: owner)
        try #require(added.status == 201, "adding a drawer: \(added.status) \(added.body.map { "\($0)" } ?? "")")
        let drawerID = try #require(added.body?["id"].stringValue).lowercased()

        let disk = FileManager.default.temporaryDirectory.appendingPathComponent("fynlo-drawer-\(UUID().uuidString)")
        let keychain = FileKeychain(directory: disk.appendingPathComponent("keychain"))
        let app = TillApp(keychain: keychain, enrolment: HTTPEnrolment(client: client)) { credentials, tokens in
            TillPorts.http(
                client: client, tokens: tokens,
                store: try SQLiteSyncStore(path: disk.appendingPathComponent("till.sqlite").path, deviceID: credentials.deviceID),
                journal: try FilePaymentJournal(url: disk.appendingPathComponent("payments.json")), keychain: keychain,
                appVersion: "drawer-live")
        }
        await app.enrol(code: office.enrolmentCode, name: "Drawer till")
        let till = try #require(app.till, "\(app.setup.phase) \(app.failure ?? "")")
        defer { Task { await till.stop() } }
        #expect(await till.engine.requestSync() == .synced)

        // Alex, a cashier (server/demo.py), signs in by PIN and opens the drawer with £100.
        let alex = try #require(till.staff.staff.first { $0.name == "Alex" }?.employeeID)
        let maya = try #require(till.staff.staff.first { $0.name == "Maya" }?.employeeID)
        #expect(await till.staff.signIn(employeeID: alex, pin: "7391") == .signedIn)
        try await till.drawer.reload()
        #expect(till.drawer.drawers.map(\.id) == [drawerID], "the owner's drawer reached the iPad")
        try till.drawer.setPieces(2000, 4)
        try till.drawer.setPieces(1000, 2)
        #expect(till.drawer.count.total == 10_000)
        try await till.drawer.open(drawerID: drawerID)
        let session = try #require(till.drawer.session)

        // A cash sale at the counter.
        try await till.menu.reload()
        let dish = try #require(
            till.menu.menu.products.values.filter { !$0.availability.isSoldOut && $0.modifierGroupIDs.isEmpty }
                .min { $0.name < $1.name })
        try await till.entry.openCounterSale()
        till.menu.choose(dish)
        try await till.entry.add(try #require(till.menu.choice))
        try await till.entry.send()
        try await till.bill.load(try #require(till.entry.order?.id))
        try await till.bill.present()
        try till.bill.split(.whole)
        let cash = try till.payment(for: try #require(till.bill.parts.first))
        await cash.loadQuote()
        let sale = cash.due.amount + cash.due.tip
        await cash.payCash(tendered: (sale / 1000 + 1) * 1000)
        try #require(cash.stage == .paid, "\(cash.message)")

        // £3 out for the window cleaner: Maya approves with her PIN on this iPad.
        let paying = Task { try await till.drawer.move(.paidOut, amountText: "3.00", reason: "Window cleaner") }
        for _ in 0..<200 where till.approvals.pending == nil { try await Task.sleep(for: .milliseconds(10)) }
        #expect(till.approvals.pending?.permission == "drawer.cash_movement")
        guard case .approved = await till.approvals.answer(approverID: maya, pin: "2580") else {
            Issue.record("Maya's PIN: \(String(describing: till.approvals.lastOutcome))"); return
        }
        try await paying.value

        // The blind count: 50p more than the float, the sale and the paid-out make.
        let expected = 10_000 + sale - 300
        var left = expected + 50
        for denomination in CashCount.denominations {
            try till.drawer.setPieces(denomination, left / denomination)
            left %= denomination
        }
        #expect(till.drawer.count.total == expected + 50)
        try await till.drawer.close()
        #expect(till.drawer.closedWords?.contains("A manager sees how it compares.") == true)
        #expect(await till.engine.requestSync() == .synced)
        let refused = try await till.engine.deadLetters().map { "\($0.change.entityType) \($0.reason) \($0.detail ?? "")" }
        #expect(refused.isEmpty, "\(refused)")

        // The server's session, as the manager reads it in the back office.
        let manager = try await LiveServer.managerToken()
        let read = try await client.send("GET", "/api/v1/cash-up/drawer-sessions/\(session.id)", bearer: manager)
        try #require(read.status == 200, "\(read.status) \(read.body.map { "\($0)" } ?? "")")
        let server = try #require(read.body)
        #expect(server["status"] == "closed" && server["opening_float"] == 10_000)
        #expect(server["expected_cash"].intValue == expected, "\(server)")
        #expect(server["counted_cash"].intValue == expected + 50)
        #expect(server["over_short"] == 50 && server["flagged"] == false)

        // The server's answer syncs back: Alex still sees only the count; Maya sees the figures.
        #expect(await till.engine.requestSync() == .synced)
        try await till.drawer.reload()
        #expect(till.drawer.result == nil)
        #expect(await till.staff.switchUser(to: maya, pin: "2580") == .signedIn)
        let result = try #require(till.drawer.result, "the server's drawer_session did not reach the iPad")
        #expect(result.expectedCash == server["expected_cash"].intValue && result.countedCash == server["counted_cash"].intValue)
        #expect(result.overShort == 50 && !result.flagged)
        let money = { (pence: Int) in PaymentWords.money(pence, "GBP") }
        #expect(
            till.drawer.closedWords
                == "Front till closed: counted \(money(expected + 50)), expected \(money(expected)): over by £0.50. Within the \(money(result.threshold)) allowed either way.")
        print("live drawer: float £100.00, sale \(money(sale)), paid out £3.00, expected \(money(expected)), counted \(money(expected + 50))")
    }
}
