import Foundation
import FynloPOSCore
import FynloPOSTesting
import FynloSyncCore
import FynloSyncTesting
import Testing

/// The drawer on one iPad, over the staff side as the app wires it (PINs, the approval
/// sheet, signed records) and an in-memory store standing for the iPad's disk.
@MainActor
@Suite("the cash drawer: float, paid-outs, the blind close")
struct DrawerModelTests {
    let alex = FakeStaffAuth.alex
    let maya = FakeStaffAuth.maya
    let till1 = "0b8e7d6c-5a4f-4e3d-9c2b-1a0f9e8d7c61"
    let till2 = "0b8e7d6c-5a4f-4e3d-9c2b-1a0f9e8d7c62"

    /// The staff till with its location's drawers pulled, and a drawer model over it.
    func drawerTill() async -> (StaffTill, DrawerModel) {
        let till = StaffTill()
        await server(till, [
            EntityState(entityType: "cash_drawer", entityID: till1, data: ["name": "Till 1", "archived": false], clock: VectorClock(["server": 1])),
            EntityState(entityType: "cash_drawer", entityID: till2, data: ["name": "Old till", "archived": true], clock: VectorClock(["server": 1])),
        ])
        return (till, model(till))
    }

    func model(_ till: StaffTill) -> DrawerModel {
        let session = till.session
        return DrawerModel(
            records: till.records, approvals: StaffApprovalGate(approvals: till.approvals, records: till.records),
            deviceID: staffTillID, signedIn: { session.current }, clock: till.clock, ids: SeededIDs(seed: 5))
    }

    /// The server's entities arriving with a pull.
    func server(_ till: StaffTill, _ entities: [EntityState]) async {
        await till.store.applyPulled(PullResponse(changes: entities, cursor: "c", hasMore: false, lastAppliedSeq: 0))
    }

    /// 2 × £20, 3 × £10, 2 × £5, 5 × £1, 4 × 50p, 5 × 20p: £88.00 (docs/cash-up.md).
    func countTheFloat(_ drawer: DrawerModel) throws {
        for (denomination, pieces) in [(2000, 2), (1000, 3), (500, 2), (100, 5), (50, 4), (20, 5)] {
            try drawer.setPieces(denomination, pieces)
        }
    }

    @Test func aCashierOpensTheDrawerWithACountedFloatRecordedForSync() async throws {
        let (till, drawer) = await drawerTill()
        await till.session.signIn(employeeID: alex.id, pin: alex.pin)
        try await drawer.reload()
        #expect(drawer.drawers.map(\.name) == ["Till 1"], "an archived drawer is not offered")
        try countTheFloat(drawer)
        #expect(drawer.count.total == 8800)
        try await drawer.open(drawerID: till1)

        let opened = try #require(await till.store.pendingChanges().last)
        #expect(opened.entityType == "drawer_open")
        #expect(opened.fields["drawer_id"] == .string(till1) && opened.fields["opening_float"] == 8800)
        #expect(opened.fields["device_id"] == .string(staffTillID) && opened.fields["employee_id"] == .string(alex.id))
        let counts = try #require(opened.fields["float_counts"]?.objectValue)
        #expect(counts.count == 12 && counts["2000"] == 2 && counts["20"] == 5 && counts["5000"] == 0)
        #expect(opened.actor?.employeeID == alex.id, "signed by whoever counted it")
        #expect(drawer.session?.id == opened.entityID && drawer.session?.openingFloat == 8800)
        #expect(drawer.openWords == "Till 1 is open with a float of £88.00.")
        #expect(drawer.count == CashCount(), "the count starts again for the close")
    }

    @Test func aCashiersPaidOutWaitsForAManagersPinOfflineAndCarriesTheApproval() async throws {
        let (till, drawer) = await drawerTill()
        await till.offlineWithChecks()
        await till.session.signIn(employeeID: alex.id, pin: alex.pin)
        try countTheFloat(drawer)
        try await drawer.open(drawerID: till1)

        let paying = Task { try await drawer.move(.paidOut, amountText: "3.00", reason: "Window cleaner") }
        for _ in 0..<100 where till.approvals.pending == nil { await Task.yield() }
        #expect(till.approvals.pending?.reason == "Pay out £3.00 (Till 1): Window cleaner")
        #expect(till.approvals.pending?.permission == "drawer.cash_movement")
        guard case .approved = await till.approvals.answer(approverID: maya.id, pin: maya.pin) else {
            Issue.record("Maya's PIN did not approve offline"); return
        }
        try await paying.value

        let paid = try #require(await till.store.pendingChanges().last)
        #expect(paid.entityType == "drawer_movement")
        #expect(paid.fields["kind"] == "paid_out" && paid.fields["amount"] == 300 && paid.fields["reason"] == "Window cleaner")
        #expect(paid.fields["session_id"] == .string(try #require(drawer.session?.id)))
        #expect(paid.fields["employee_id"] == .string(alex.id) && paid.fields["approved_by"] == .string(maya.id))
        #expect(paid.actor?.employeeID == alex.id && paid.approval?.approverID == maya.id)
        #expect(staffProofHolds(paid.approval?.proof, key: till.auth.key(maya), purpose: "approval:drawer.cash_movement", change: paid))
        #expect(drawer.openWords == "Till 1 is open with a float of £88.00; paid in £0.00, paid out £3.00.")

        // Cancelled: nothing is recorded, and the till says so.
        let waiting = await till.store.pendingChanges().count
        let cancelled = Task { try await drawer.move(.paidIn, amount: 2000, reason: "Change from the bank") }
        for _ in 0..<100 where till.approvals.pending == nil { await Task.yield() }
        till.approvals.cancel()
        await #expect(throws: DrawerRefusal.notApproved) { try await cancelled.value }
        #expect(await till.store.pendingChanges().count == waiting)
    }

    @Test func aManagerPaysOutAloneWithNoApprovalOnIt() async throws {
        let (till, drawer) = await drawerTill()
        await till.session.signIn(employeeID: maya.id, pin: maya.pin)
        try await drawer.open(drawerID: till1)
        try await drawer.move(.paidIn, amount: 1000, reason: "Change from the bank")
        let paid = try #require(await till.store.pendingChanges().last)
        #expect(paid.fields["approved_by"] == nil && paid.approval == nil && paid.actor?.employeeID == maya.id)
        #expect(till.approvals.pending == nil)
    }

    @Test func theCloseIsBlindAndOnlyAManagerSeesTheServersFigures() async throws {
        let (till, drawer) = await drawerTill()
        await till.session.signIn(employeeID: alex.id, pin: alex.pin)
        try countTheFloat(drawer)
        try await drawer.open(drawerID: till1)
        let session = try #require(drawer.session)
        for (denomination, pieces) in [(5000, 1), (2000, 2), (1000, 1), (100, 1), (50, 1)] { try drawer.setPieces(denomination, pieces) }
        try await drawer.close()

        let closed = try #require(await till.store.pendingChanges().last)
        #expect(closed.entityType == "drawer_close" && closed.fields["session_id"] == .string(session.id))
        #expect(closed.fields["counted_cash"] == 10150 && closed.fields["counts"]?["5000"] == 1)
        #expect(closed.fields["expected_cash"] == nil && closed.fields["over_short"] == nil, "only the count travels")
        #expect(drawer.session == nil && drawer.lastClosed?.id == session.id)
        #expect(drawer.closedWords == "Till 1 closed: counted £101.50. A manager sees how it compares.")

        // The server's answer syncs back: the cashier still sees only their count.
        await server(till, [
            EntityState(
                entityType: "drawer_session", entityID: session.id,
                data: [
                    "drawer_id": .string(till1), "status": "closed", "merged_into": .null, "opening_float": 8800,
                    "counted_cash": 10150, "expected_cash": 10100, "over_short": 50, "threshold": 500, "flagged": false,
                ], clock: VectorClock(["server": 2]))
        ])
        try await drawer.reload()
        #expect(drawer.result == nil)
        #expect(drawer.closedWords?.contains("101.00") == false && drawer.closedWords?.contains("expected") == false)

        await till.session.switchUser(to: maya.id, pin: maya.pin)
        #expect(drawer.seesExpected)
        #expect(drawer.result == DrawerResult(countedCash: 10150, expectedCash: 10100, overShort: 50, threshold: 500, flagged: false))
        #expect(drawer.closedWords == "Till 1 closed: counted £101.50, expected £101.00: over by £0.50. Within the £5.00 allowed either way.")
    }

    @Test func aManagerReadsAFlaggedShortfallInWords() async throws {
        let (till, drawer) = await drawerTill()
        await till.session.signIn(employeeID: maya.id, pin: maya.pin)
        try await drawer.open(drawerID: till1)
        let session = try #require(drawer.session)
        try drawer.setPieces(5000, 1)
        try await drawer.close()
        #expect(drawer.closedWords == "Till 1 closed: counted £50.00. The expected cash comes from the server with the next sync.")
        await server(till, [
            EntityState(
                entityType: "drawer_session", entityID: session.id,
                data: ["status": "closed", "counted_cash": 5000, "expected_cash": 5801, "over_short": -801, "threshold": 500, "flagged": true],
                clock: VectorClock(["server": 2]))
        ])
        try await drawer.reload()
        #expect(drawer.closedWords == "Till 1 closed: counted £50.00, expected £58.01: short by £8.01. Flagged: more than the £5.00 allowed either way. Recount, and check the paid-outs.")
    }

    @Test func aSessionJoinedToAnotherIPadsIsClosedWhenThatOneIs() async throws {
        let (till, drawer) = await drawerTill()
        await till.session.signIn(employeeID: alex.id, pin: alex.pin)
        try await drawer.open(drawerID: till1)
        let mine = try #require(drawer.session)
        let first = "0b8e7d6c-5a4f-4e3d-9c2b-1a0f9e8d7c70"
        await server(till, [
            EntityState(entityType: "drawer_session", entityID: mine.id, data: ["status": "merged", "merged_into": .string(first)], clock: VectorClock(["server": 2])),
        ])
        try await drawer.reload()
        #expect(drawer.session?.mergedInto == first)
        #expect(drawer.openWords?.hasSuffix("Another iPad opened this drawer first: its session is this drawer's, and a manager sees both floats.") == true)
        await server(till, [
            EntityState(
                entityType: "drawer_session", entityID: first,
                data: ["status": "closed", "counted_cash": 100, "expected_cash": 100, "over_short": 0, "threshold": 500, "flagged": false],
                clock: VectorClock(["server": 3])),
        ])
        try await drawer.reload()
        #expect(drawer.session == nil, "counted on the other iPad: nothing left open here")
    }

    @Test func refusalsReadAsSentences() async throws {
        let (till, drawer) = await drawerTill()
        await #expect(throws: DrawerRefusal.nobodySignedIn) { try await drawer.open(drawerID: till1) }
        await till.session.signIn(employeeID: alex.id, pin: alex.pin)
        await #expect(throws: DrawerRefusal.noOpenSession) { try await drawer.close() }
        await #expect(throws: DrawerRefusal.unknownDrawer) { try await drawer.open(drawerID: till2) }
        #expect(throws: DrawerRefusal.badPieces(50, -1)) { try drawer.setPieces(50, -1) }
        #expect(throws: DrawerRefusal.notADenomination(25)) { try drawer.setPieces(25, 1) }
        try await drawer.open(drawerID: till1)
        await #expect(throws: DrawerRefusal.alreadyOpen("Till 1")) { try await drawer.open(drawerID: till1) }
        await #expect(throws: DrawerRefusal.badAmount) { try await drawer.move(.paidOut, amountText: "3.005", reason: "Milk") }
        await #expect(throws: DrawerRefusal.badReason) { try await drawer.move(.paidOut, amountText: "3", reason: " x ") }
        #expect(await till.store.pendingChanges().map(\.entityType) == ["drawer_open"], "nothing refused was recorded")

        let words: [DrawerRefusal: String] = [
            .nobodySignedIn: "Sign in first: the drawer is opened, paid from and counted by someone.",
            .notAllowed(.kitchen): "A kitchen does not use the cash drawer: ask a cashier or a manager.",
            .noOpenSession: "No drawer is open on this iPad: open one with its float first.",
            .alreadyOpen("Till 1"): "Till 1 is open on this iPad already: count it and close it first.",
            .badPieces(50, -1): "-1 × 50p cannot be right: count 0 to 100,000 of each note or coin.",
            .notADenomination(25): "25p is not a UK note or coin.",
            .badAmount: "A paid-in or paid-out is between £0.01 and £100,000.00, such as 3.00.",
            .badReason: "Say why the money moves, in 3 to 500 characters.",
        ]
        for (refusal, sentence) in words { #expect(refusal.description == sentence) }
    }

    @Test func aKilledTillFindsItsOpenDrawerInTheStore() async throws {
        let (till, drawer) = await drawerTill()
        await till.session.signIn(employeeID: alex.id, pin: alex.pin)
        try countTheFloat(drawer)
        try await drawer.open(drawerID: till1)
        let before = try #require(drawer.session)

        // The app is killed: a new model over the same store (the iPad's disk), nobody signed in.
        let relaunched = model(till)
        try await relaunched.reload()
        #expect(relaunched.session?.id == before.id && relaunched.session?.openingFloat == 8800)
        #expect(relaunched.session?.drawerName == "Till 1" && relaunched.lastClosed == nil)
        #expect(relaunched.closedWords == nil && relaunched.result == nil)

        // Signed in again, the close goes to the session the store kept.
        await till.session.signIn(employeeID: alex.id, pin: alex.pin)
        try await relaunched.close()
        #expect(await till.store.pendingChanges().last?.fields["session_id"] == .string(before.id))
        let again = model(till)
        try await again.reload()
        #expect(again.session == nil && again.lastClosed?.id == before.id)
    }
}
