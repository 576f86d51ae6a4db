import FynloPOSCore
import FynloPOSTesting
import FynloSyncCore
import FynloSyncTesting
import Testing

/// The composition root: an iPad built from fakes the way the app builds it from HTTP,
/// SQLite and the Keychain.
@MainActor
@Suite("the till, wired from its ports")
struct TillTests {
    /// An iPad's ports over fakes: a seeded store, a sync server out of reach (so every change
    /// stays in the outbox to be read), the staff and payments fakes, and no socket (polling,
    /// as on Linux).
    struct Fakes {
        let clock = ManualClock()
        let store: InMemorySyncStore
        let auth = FakeStaffAuth(deviceID: VenueFixture.deviceID)
        let payments: FakePaymentsAPI
        let enrolment = FakeEnrolment(codes: ["GOOD-CODE"], deviceID: VenueFixture.deviceID)
        let keychain = MemoryKeychain()
        let venue: VenueFixture
        let table: String
        let soup: String

        init() async {
            var venue = VenueFixture()
            table = venue.table("T1", seats: 4, area: "Main")
            soup = venue.product("Soup", price: 650)
            self.venue = venue
            store = InMemorySyncStore(deviceID: VenueFixture.deviceID, clock: clock)
            await venue.seed(store)
            payments = FakePaymentsAPI(clock: clock)
        }

        func ports(_ credentials: DeviceCredentials) -> TillPorts {
            TillPorts(
                store: store, transport: FakeTransport(),
                staffAuth: auth, payments: payments, socket: FakeLiveSocket([.unavailable]),
                journal: MemoryPaymentJournal(), keychain: keychain, terminal: FakeCardTerminal(clock: clock),
                drawer: FakeCashDrawer(), clock: clock,
                ids: SeededIDs(seed: 7), appVersion: "till-tests")
        }
    }

    @Test func anEnrolledIpadGetsItsTillAndASignInSignsEveryChange() async throws {
        let fakes = await Fakes()
        let app = TillApp(keychain: fakes.keychain, enrolment: fakes.enrolment) { credentials, _ in
            fakes.ports(credentials)
        }
        await app.launch()
        #expect(app.setup.phase == .needsCode)
        #expect(app.till == nil)

        await app.enrol(code: "good-code", name: "Bar iPad")
        let till = try #require(app.till)
        defer { Task { await till.stop() } }
        #expect(till.credentials.prefix == "B")
        #expect(till.staff.staff.map(\.name).sorted() == ["Alex", "Maya", "Owen", "Sam"], "offline checks read at start")
        #expect(till.offlineCardLimits?.perPayment == 10_000)

        // Nobody signed in: the iPad's own change goes unsigned.
        try await till.floor.seat(fakes.table, covers: 2)
        #expect(await fakes.store.pendingChanges().last?.actor == nil)

        // Alex signs in: the order and its line carry his proof, and the payments API his session.
        let alex = FakeStaffAuth.alex
        #expect(await till.staff.signIn(employeeID: alex.id, pin: alex.pin) == .signedIn)
        #expect(await till.tokens.read().employee == till.staff.current?.session?.token)
        try await till.entry.open(table: fakes.table)
        try await till.menu.reload()
        till.menu.choose(try #require(till.menu.menu.products[fakes.soup]))
        try await till.entry.add(try #require(till.menu.choice))
        let signed = await fakes.store.pendingChanges().filter { ["order", "order_line"].contains($0.entityType) }
        #expect(!signed.isEmpty && signed.allSatisfy { $0.actor?.employeeID == alex.id })
        #expect(till.entry.order?.number == "B-0001")

        // A relaunch finds the enrolment in the Keychain and opens the till at once.
        let relaunched = TillApp(keychain: fakes.keychain, enrolment: fakes.enrolment) { credentials, _ in
            fakes.ports(credentials)
        }
        await relaunched.launch()
        #expect(relaunched.till?.credentials == till.credentials)
        await relaunched.till?.stop()
    }

    @Test func orderEntryAsksTheManagerOnTheTillAndThePaymentTakesTheBillsPart() async throws {
        let fakes = await Fakes()
        let credentials = DeviceCredentials(
            deviceID: VenueFixture.deviceID, locationID: VenueFixture.locationID, locationName: "Soho", prefix: "C",
            accessToken: "access", refreshToken: "refresh", deviceSecret: nil)
        let till = Till(credentials: credentials, ports: fakes.ports(credentials))
        await till.start()
        defer { Task { await till.stop() } }
        let alex = FakeStaffAuth.alex, maya = FakeStaffAuth.maya
        await till.staff.signIn(employeeID: alex.id, pin: alex.pin)

        try await till.entry.open(table: fakes.table)
        try await till.menu.reload()
        for _ in 0..<2 {
            till.menu.choose(try #require(till.menu.menu.products[fakes.soup]))
            try await till.entry.add(try #require(till.menu.choice))
        }
        try await till.entry.send()
        let line = try #require(till.entry.order?.lines.first?.id)

        // A sent line: voiding it waits for a manager's PIN on this till's approval sheet.
        let void = Task { try await till.entry.voidLine(line) }
        for _ in 0..<200 where till.approvals.pending == nil { await Task.yield() }
        #expect(till.approvals.pending?.permission == Permission.ordersVoid.rawValue)
        guard case .approved = await till.approvals.answer(approverID: maya.id, pin: maya.pin) else {
            Issue.record("Maya's PIN did not approve"); return
        }
        try await void.value
        let voided = try #require(await fakes.store.pendingChanges().last { $0.entityID == line })
        #expect(voided.actor?.employeeID == alex.id && voided.approval?.approverID == maya.id)

        // The bill, split in two; each part is its own payment screen, taken by Alex.
        try await till.bill.load(try #require(till.entry.order?.id))
        try till.bill.split(.equally(2))
        #expect(till.bill.parts.map(\.total) == [325, 325])
        let second = try till.payment(for: till.bill.parts[1])
        #expect(second.due.amount == 325 && second.due.partID == "equally/2/2")
        await second.payCash(tendered: 500)
        #expect(second.stage == .paid && second.change == 175)
        let cash = try #require(await fakes.store.pendingChanges().last { $0.entityType == "cash_payment" })
        #expect(cash.fields["employee_id"] == .string(alex.id) && cash.actor?.employeeID == alex.id)
        try await till.bill.reload()
        #expect(till.bill.due == 325)
    }

    /// Found in the live service: a half paid by card was invisible to the bill (only synced
    /// cash and offline cards were counted), so the bill still asked for the whole and the
    /// order could be voided with the card's money on it.
    @Test func aPartPaidByCardOnlineIsOffTheBillAndTheOrderHoldsItsMoney() async throws {
        let fakes = await Fakes()
        let credentials = DeviceCredentials(
            deviceID: VenueFixture.deviceID, locationID: VenueFixture.locationID, locationName: "Soho", prefix: "C",
            accessToken: "access", refreshToken: "refresh", deviceSecret: nil)
        let till = Till(credentials: credentials, ports: fakes.ports(credentials))
        await till.start()
        defer { Task { await till.stop() } }
        await till.staff.signIn(employeeID: FakeStaffAuth.maya.id, pin: FakeStaffAuth.maya.pin)
        try await till.entry.open(table: fakes.table)
        try await till.menu.reload()
        for _ in 0..<2 {
            till.menu.choose(try #require(till.menu.menu.products[fakes.soup]))
            try await till.entry.add(try #require(till.menu.choice))
        }
        try await till.entry.send()
        try await till.bill.load(try #require(till.entry.order?.id))
        try till.bill.split(.equally(2))

        let card = try till.payment(for: till.bill.parts[0])
        await card.loadQuote()
        await card.findReaders()
        await card.use(try #require(card.readers.first))
        await card.payByCard()
        #expect(card.stage == .paid, "\(card.message)")

        try await till.bill.reload()
        #expect(till.bill.paid == 650 && till.bill.due == 650)
        #expect(till.bill.payments.map(\.method) == [.online])
        await #expect(throws: OrderRefusal.holdsMoney(650)) { try await till.entry.voidOrder(reason: "left") }
    }

    /// Found wiring the till: after one guest paid their share, the rest taken as the whole
    /// bill asked for the whole again (more than is left: the server refuses it).
    @Test func theWholeBillAfterAShareWasPaidTakesWhatIsLeft() async throws {
        let fakes = await Fakes()
        let credentials = DeviceCredentials(
            deviceID: VenueFixture.deviceID, locationID: VenueFixture.locationID, locationName: "Soho", prefix: "C",
            accessToken: "access", refreshToken: "refresh", deviceSecret: nil)
        let till = Till(credentials: credentials, ports: fakes.ports(credentials))
        await till.start()
        defer { Task { await till.stop() } }
        await till.staff.signIn(employeeID: FakeStaffAuth.alex.id, pin: FakeStaffAuth.alex.pin)
        try await till.entry.open(table: fakes.table)
        try await till.menu.reload()
        for _ in 0..<3 {
            till.menu.choose(try #require(till.menu.menu.products[fakes.soup]))
            try await till.entry.add(try #require(till.menu.choice))
        }
        try await till.bill.load(try #require(till.entry.order?.id))
        try till.bill.split(.equally(3))
        let share = try till.payment(for: till.bill.parts[0])
        await share.payCash(tendered: 650)
        #expect(share.stage == .paid)

        try await till.bill.reload()
        try till.bill.split(.whole)
        let rest = try till.payment(for: try #require(till.bill.parts.first))
        #expect(rest.due.amount == 1300 && till.bill.due == 1300)
        // Split again two ways, the two left share what is left.
        try till.bill.split(.equally(2))
        #expect(till.bill.parts.map(\.due) == [650, 650])
        #expect(try till.payment(for: till.bill.parts[0]).due.amount == 650)
        // Back to three ways: the guest who paid shows paid, and is not asked again.
        try till.bill.split(.equally(3))
        #expect(till.bill.parts.map(\.isPaid) == [true, false, false])
        #expect(till.bill.parts.map(\.due) == [0, 650, 650])
        #expect(throws: BillRefusal.partPaid("Guest 1")) { try till.payment(for: till.bill.parts[0]) }
    }

    /// A guest's share paid by card, then the app killed before any pull: the relaunched
    /// till opens the bill split as it was, that share paid, and asks only for the rest
    /// (the card payment is not a synced entity: only the journal's receipt remembers it).
    @Test func aShareOnlineSurvivesAKillAndIsNotAskedForAgain() async throws {
        let fakes = await Fakes()
        let credentials = DeviceCredentials(
            deviceID: VenueFixture.deviceID, locationID: VenueFixture.locationID, locationName: "Soho", prefix: "C",
            accessToken: "access", refreshToken: "refresh", deviceSecret: nil)
        let journal = MemoryPaymentJournal()
        var ports = fakes.ports(credentials)
        ports.journal = journal
        let till = Till(credentials: credentials, ports: ports)
        await till.start()
        await till.staff.signIn(employeeID: FakeStaffAuth.maya.id, pin: FakeStaffAuth.maya.pin)
        try await till.entry.open(table: fakes.table)
        try await till.menu.reload()
        for _ in 0..<3 {
            till.menu.choose(try #require(till.menu.menu.products[fakes.soup]))
            try await till.entry.add(try #require(till.menu.choice))
        }
        let orderID = try #require(till.entry.order?.id)
        try await till.bill.load(orderID)
        try till.bill.split(.equally(3))
        let card = try till.payment(for: till.bill.parts[1])
        await card.loadQuote()
        await card.findReaders()
        await card.use(try #require(card.readers.first))
        await card.payByCard()
        #expect(card.stage == .paid, "\(card.message)")
        await till.stop()

        // Killed. The relaunched till reads the same store and the journal as saved.
        ports.journal = journal.reopened()
        let again = Till(credentials: credentials, ports: ports)
        await again.start()
        defer { Task { await again.stop() } }
        try await again.bill.load(orderID)
        #expect(again.bill.split == .equally(3))
        #expect(again.bill.parts.map(\.isPaid) == [false, true, false])
        #expect(again.bill.parts[1].paid == 650)
        #expect(again.bill.paid == 650 && again.bill.due == 1300)
        #expect(again.bill.payments.map(\.partID) == ["equally/3/2"])
        #expect(throws: BillRefusal.partPaid("Guest 2")) { try again.payment(for: again.bill.parts[1]) }
        // Cash for the first guest: its receipt names its part too.
        await again.staff.signIn(employeeID: FakeStaffAuth.alex.id, pin: FakeStaffAuth.alex.pin)
        let cash = try again.payment(for: again.bill.parts[0])
        await cash.payCash(tendered: 1000)
        try await again.bill.reload()
        #expect(again.bill.parts.map(\.isPaid) == [true, true, false])
        #expect(again.bill.parts.map(\.due) == [0, 0, 650] && again.bill.due == 650)
        #expect(Set(journal.allReceipts.map(\.partID)) == ["equally/3/1", "equally/3/2"])
    }

    /// A payment listed on the bill opens its refund screen: the server's payment, refunded
    /// with a manager's approval (Maya may refund alone).
    @Test func aPaymentOnTheBillOpensItsRefundScreen() async throws {
        let fakes = await Fakes()
        let credentials = DeviceCredentials(
            deviceID: VenueFixture.deviceID, locationID: VenueFixture.locationID, locationName: "Soho", prefix: "C",
            accessToken: "access", refreshToken: "refresh", deviceSecret: nil)
        let till = Till(credentials: credentials, ports: fakes.ports(credentials))
        await till.start()
        defer { Task { await till.stop() } }
        await till.staff.signIn(employeeID: FakeStaffAuth.maya.id, pin: FakeStaffAuth.maya.pin)
        try await till.entry.open(table: fakes.table)
        try await till.menu.reload()
        for _ in 0..<2 {
            till.menu.choose(try #require(till.menu.menu.products[fakes.soup]))
            try await till.entry.add(try #require(till.menu.choice))
        }
        try await till.bill.load(try #require(till.entry.order?.id))
        try till.bill.split(.equally(2))
        let card = try till.payment(for: till.bill.parts[0])
        await card.loadQuote()
        await card.findReaders()
        await card.use(try #require(card.readers.first))
        await card.payByCard()
        try await till.bill.reload()

        let paid = try #require(till.bill.payments.first)
        #expect(PaymentWords.paidBy(paid) == "Card" && till.bill.partLabel(of: paid) == "Guest 1")
        let refund = try await till.refund(paymentID: paid.id)
        #expect(refund.paymentWords == "Card, £6.50")
        await refund.refund(amountText: "", reason: "wrong table")
        #expect(refund.words == "Refunded £6.50 to the customer's card.", "\(refund.stage)")
        #expect(await fakes.payments.refunds.count == 1)

        // Cash taken here and not yet pushed: the server does not know it yet, and says so.
        let cash = try till.payment(for: till.bill.parts[1])
        await cash.payCash(tendered: 650)
        try await till.bill.reload()
        let taken = try #require(till.bill.payments.first { $0.method == .cash })
        #expect(PaymentWords.paidBy(taken) == "Cash" && till.bill.partLabel(of: taken) == "Guest 2")
        await #expect(throws: RefundUnavailable.self) { try await till.refund(paymentID: taken.id) }
        await fakes.payments.setOffline(true)
        do {
            _ = try await till.refund(paymentID: paid.id)
            Issue.record("opened offline")
        } catch {
            #expect("\(error)".hasPrefix("A refund needs the server"))
        }
    }

    /// The till killed between journaling cash and recording it: after the relaunch and a
    /// sign-in, the same cash payment is recorded once, signed by whoever signed in.
    @Test func cashLeftByAKilledTillIsRecordedOnceAfterTheNextSignIn() async throws {
        let fakes = await Fakes()
        let credentials = DeviceCredentials(
            deviceID: VenueFixture.deviceID, locationID: VenueFixture.locationID, locationName: "Soho", prefix: "C",
            accessToken: "access", refreshToken: "refresh", deviceSecret: nil)
        var ports = fakes.ports(credentials)
        let journal = MemoryPaymentJournal()
        ports.journal = journal
        let order = "c3a1e6f0-3b2d-4c5e-8f9a-0b1c2d3e4f50"
        let cash = "7d2e1f0a-1b2c-4d3e-8f4a-5b6c7d8e9f01"
        try await journal.save(
            PaymentAttempt(
                id: cash, kind: .cash, orderID: order, partID: "Guest 1",
                fields: [
                    "order_id": .string(order), "amount": 1200, "tendered": 2000, "currency": "GBP",
                    "taken_at": "2026-01-01T20:15:00Z",
                ], startedAtMs: 0))

        let till = Till(credentials: credentials, ports: ports)
        await till.start()
        defer { Task { await till.stop() } }
        await till.staff.signIn(employeeID: FakeStaffAuth.alex.id, pin: FakeStaffAuth.alex.pin)
        let resumed = await till.resumePayments()
        #expect(resumed.map(\.stage) == [.paid])
        #expect(resumed.first?.change == 800 && resumed.first?.due.partID == "Guest 1")
        #expect(await till.resumePayments().isEmpty, "nothing left to carry on")
        let recorded = await fakes.store.pendingChanges().filter { $0.entityType == "cash_payment" }
        #expect(recorded.map(\.entityID) == [cash])
        #expect(recorded.first?.actor?.employeeID == FakeStaffAuth.alex.id)
    }
}
