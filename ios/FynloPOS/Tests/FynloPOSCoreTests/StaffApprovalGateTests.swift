import FynloPOSCore
import FynloPOSTesting
import FynloSyncCore
import Testing

/// Order entry's approvals answered by the staff side: the manager's PIN sheet, and the
/// approved change recorded with both proofs.
@MainActor
@Suite("order entry's approval gate, answered by the staff side")
struct StaffApprovalGateTests {
    let order = "c3a1e6f0-3b2d-4c5e-8f9a-0b1c2d3e4f50"

    @Test func aCashiersVoidWaitsForTheManagersPinAndCarriesBothProofs() async throws {
        let till = StaffTill()
        await till.offlineWithChecks()
        await till.session.signIn(employeeID: FakeStaffAuth.alex.id, pin: FakeStaffAuth.alex.pin)
        let gate = StaffApprovalGate(approvals: till.approvals, records: till.records)

        let asked = Task { try await gate.approval(for: .ordersVoid, reason: "Void order A-0001") }
        for _ in 0..<100 where till.approvals.pending == nil { await Task.yield() }
        #expect(till.approvals.pending?.reason == "Void order A-0001")
        let maya = FakeStaffAuth.maya
        guard case .approved(let manager) = await till.approvals.answer(approverID: maya.id, pin: maya.pin) else {
            Issue.record("Maya's PIN did not approve"); return
        }
        guard case .approved(let grant) = try await asked.value else { Issue.record("no grant"); return }
        #expect(grant.approverID == manager.approverID && grant.permission == .ordersVoid)

        let voided = try await grant.record(ChangeDraft(entityType: "order", entityID: order, fields: ["status": "voided"]))
        #expect(voided.actor?.employeeID == FakeStaffAuth.alex.id)
        #expect(voided.approval?.approverID == maya.id && voided.approval?.permission == "orders.void")
        #expect(staffProofHolds(voided.approval?.proof, key: till.auth.key(maya), purpose: "approval:orders.void", change: voided))
    }

    @Test func aManagerHoldsItAndACancelledSheetRecordsNothing() async throws {
        let till = StaffTill()
        let gate = StaffApprovalGate(approvals: till.approvals, records: till.records)
        await till.session.signIn(employeeID: FakeStaffAuth.maya.id, pin: FakeStaffAuth.maya.pin)
        guard case .held = try await gate.approval(for: .ordersVoid, reason: "Void") else {
            Issue.record("a manager holds orders.void"); return
        }
        await till.session.switchUser(to: FakeStaffAuth.alex.id, pin: FakeStaffAuth.alex.pin)
        let asked = Task { try await gate.approval(for: .ordersDiscountOverThreshold, reason: "20 % off") }
        for _ in 0..<100 where till.approvals.pending == nil { await Task.yield() }
        till.approvals.cancel()
        #expect(try await asked.value == nil)
        #expect(await till.store.pendingChanges().isEmpty)
    }
}
