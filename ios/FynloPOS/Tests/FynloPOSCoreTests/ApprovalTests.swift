import Foundation
import FynloPOSCore
import FynloPOSTesting
import FynloSyncCore
import FynloSyncTesting
import Testing

/// Whether `change`'s proofs are what the server will recompute for this till.
func staffProofHolds(_ proof: String?, key: SigningKey, purpose: String, change: PendingChange) -> Bool {
    proof == OfflineProof.proof(key: key, purpose: purpose, statement: OfflineProof.statement(deviceID: staffTillID, change: change))
}

@MainActor
@Suite("manager approvals and signed changes")
struct ApprovalTests {
    let alex = FakeStaffAuth.alex
    let maya = FakeStaffAuth.maya
    let sam = FakeStaffAuth.sam
    let order = "c3a1e6f0-3b2d-4c5e-8f9a-0b1c2d3e4f50"

    @Test func theTableSaysWhenAnApprovalIsNeeded() async {
        let till = StaffTill()
        #expect(till.approvals.needs(PermissionTable.ordersTake) == .allow, "a bare iPad takes orders")
        #expect(till.approvals.needs(PermissionTable.paymentsTake) == .deny)
        await till.session.signIn(employeeID: alex.id, pin: alex.pin)
        #expect(till.approvals.needs(PermissionTable.ordersVoid) == .approval)
        #expect(till.approvals.needs(PermissionTable.paymentsRefund) == .approval)
        #expect(till.approvals.needs(PermissionTable.paymentsTake) == .allow)
        #expect(till.approvals.needs("orders.something_new") == .deny)
        await till.session.switchUser(to: sam.id, pin: sam.pin)
        #expect(till.approvals.needs(PermissionTable.paymentsRefund) == .deny)
        await till.session.switchUser(to: maya.id, pin: maya.pin)
        #expect(till.approvals.needs(PermissionTable.ordersVoid) == .allow)
        #expect(till.approvals.approvers.map(\.name) == ["Owen"], "not herself")
    }

    @Test func aChangeRecordedBySomeoneSignedInCarriesTheirProof() async throws {
        let till = StaffTill()
        let bare = try await till.records.record(ChangeDraft(entityType: "order", entityID: order, fields: ["covers": 2]))
        #expect(bare.actor == nil)
        await till.session.signIn(employeeID: alex.id, pin: alex.pin)
        let signed = try await till.records.record(ChangeDraft(entityType: "order", entityID: order, fields: ["covers": 3]))
        #expect(signed.actor?.employeeID == alex.id)
        #expect(staffProofHolds(signed.actor?.proof, key: till.auth.key(alex), purpose: "actor", change: signed))
        // Signed out (or locked) before the push: the proof stays with the change in the outbox.
        await till.session.lock()
        let later = try await till.records.record(ChangeDraft(entityType: "order", entityID: order, fields: ["covers": 4]))
        #expect(later.actor == nil)
        #expect(await till.store.pendingChanges().map(\.actor) == [nil, signed.actor, nil])
    }

    @Test func aManagerApprovesAVoidOfflineAndTheChangeCarriesBothProofs() async throws {
        let till = StaffTill()
        await till.offlineWithChecks()
        await till.session.signIn(employeeID: alex.id, pin: alex.pin)

        let outcome = await till.approvals.approve(PermissionTable.ordersVoid, approverID: maya.id, pin: maya.pin)
        guard case .approved(let approval) = outcome else { Issue.record("\(outcome)"); return }
        #expect(approval.approverName == "Maya" && approval.server == nil)
        let voided = try await till.records.record(
            ChangeDraft(entityType: "order", entityID: order, fields: ["status": "voided"]), approvedBy: approval)

        #expect(voided.actor?.employeeID == alex.id)
        #expect(voided.approval?.approverID == maya.id && voided.approval?.permission == "orders.void")
        #expect(staffProofHolds(voided.actor?.proof, key: till.auth.key(alex), purpose: "actor", change: voided))
        #expect(staffProofHolds(voided.approval?.proof, key: till.auth.key(maya), purpose: "approval:orders.void", change: voided))
        let wire = try #require(await till.store.pendingChanges().last).json
        #expect(wire["approval"]["approver_id"] == .string(maya.id))
    }

    @Test func onlineTheServerApprovesTooAndGivesATokenForARefund() async throws {
        let till = StaffTill()
        await till.session.signIn(employeeID: alex.id, pin: alex.pin)
        let outcome = await till.approvals.approve(
            PermissionTable.paymentsRefund, approverID: maya.id, pin: maya.pin, forServerRequest: true)
        guard case .approved(let approval) = outcome else { Issue.record("\(outcome)"); return }
        #expect(approval.server?.token == "approval-\(maya.id)-payments.refund")
        #expect(approval.signer?.key == till.auth.key(maya))
        #expect(await till.auth.approvals.map(\.permission) == ["payments.refund"])
    }

    @Test func aRefundApprovalNeedsTheServer() async {
        let till = StaffTill()
        await till.session.signIn(employeeID: alex.id, pin: alex.pin)
        await till.auth.setOnline(false)
        #expect(
            await till.approvals.approve(PermissionTable.paymentsRefund, approverID: maya.id, pin: maya.pin, forServerRequest: true)
                == .needsServer)
    }

    @Test func onlyAnotherManagerWithTheRightPinApproves() async throws {
        let till = StaffTill()
        #expect(await till.approvals.approve(PermissionTable.ordersVoid, approverID: maya.id, pin: maya.pin) == .nobodySignedIn)
        await till.session.signIn(employeeID: alex.id, pin: alex.pin)
        #expect(await till.approvals.approve(PermissionTable.ordersVoid, approverID: sam.id, pin: sam.pin) == .notAnApprover)
        #expect(await till.approvals.approve(PermissionTable.ordersVoid, approverID: alex.id, pin: alex.pin) == .bySelf)
        #expect(
            await till.approvals.approve(PermissionTable.ordersVoid, approverID: maya.id, pin: "000000")
                == .wrongPin(triesLeft: 4))
        await till.auth.setOnline(false)
        #expect(
            await till.approvals.approve(PermissionTable.ordersVoid, approverID: maya.id, pin: "000000")
                == .wrongPin(triesLeft: 3), "offline the count goes on")
        #expect(till.session.unreportedFailures == 1)
        // A manager signed in cannot approve their own change either, at the write path.
        await till.session.switchUser(to: maya.id, pin: maya.pin)
        let own = ManagerApproval(
            approverID: maya.id, approverName: "Maya", permission: "orders.void",
            signer: ApprovalSigner(approverID: maya.id, permission: "orders.void", key: till.auth.key(maya)), server: nil)
        await #expect(throws: ApprovalRefused.bySelf) {
            try await till.records.record(ChangeDraft(entityType: "order", entityID: order, fields: ["status": "voided"]), approvedBy: own)
        }
        #expect(await till.store.pendingChanges().isEmpty)
    }

    @Test func approvalsWaitAfterTooManyWrongPinsLikeSignIns() async {
        let till = StaffTill()
        await till.offlineWithChecks()
        await till.session.signIn(employeeID: alex.id, pin: alex.pin)
        for _ in 0..<4 { await till.approvals.approve(PermissionTable.ordersVoid, approverID: maya.id, pin: "000000") }
        #expect(
            await till.approvals.approve(PermissionTable.ordersVoid, approverID: maya.id, pin: "000000")
                == .waiting(seconds: 30))
        #expect(
            await till.approvals.approve(PermissionTable.ordersVoid, approverID: maya.id, pin: maya.pin)
                == .waiting(seconds: 30))
    }
}

@Suite("the permission table")
struct PermissionTableTests {
    @Test func mirrorsTheServersDecisions() {
        #expect(PermissionTable.decide("orders.void", for: .manager) == .allow)
        #expect(PermissionTable.decide("orders.void", for: .server) == .approval)
        #expect(PermissionTable.decide("orders.void", for: .kitchen) == .deny)
        #expect(PermissionTable.decide("orders.void", for: nil) == .deny)
        #expect(PermissionTable.decide("orders.take", for: nil) == .allow)
        #expect(PermissionTable.decide("payments.refund", for: .cashier) == .approval)
        #expect(PermissionTable.decide("payments.refund", for: .server) == .deny)
        #expect(PermissionTable.decide("catalog.availability", for: .kitchen) == .allow)
        #expect(PermissionTable.decide("catalog.availability", for: nil) == .deny)
    }
}

@MainActor
@Suite("asking for an approval")
struct ApprovalRequestTests {
    let alex = FakeStaffAuth.alex
    let maya = FakeStaffAuth.maya

    @Test func heldOrRefusedAtOnceWithoutASheet() async {
        let till = StaffTill()
        #expect(await till.approvals.request(PermissionTable.ordersVoid, reason: "Void B-0001") == .refused, "a bare iPad")
        await till.session.signIn(employeeID: maya.id, pin: maya.pin)
        #expect(await till.approvals.request(PermissionTable.ordersVoid, reason: "Void B-0001") == .held)
        #expect(till.approvals.pending == nil)
    }

    @Test func theSheetStaysOpenThroughAWrongPinAndClosesWithTheApproval() async throws {
        let till = StaffTill()
        await till.offlineWithChecks()
        await till.session.signIn(employeeID: alex.id, pin: alex.pin)
        let asked = Task { await till.approvals.request(PermissionTable.ordersVoid, reason: "Void B-0001, £25.00") }
        while till.approvals.pending == nil { await Task.yield() }
        #expect(till.approvals.pending?.reason == "Void B-0001, £25.00")

        #expect(await till.approvals.answer(approverID: maya.id, pin: "000000") == .wrongPin(triesLeft: 4))
        #expect(till.approvals.pending != nil)
        guard case .approved = await till.approvals.answer(approverID: maya.id, pin: maya.pin) else {
            Issue.record("not approved")
            return
        }
        guard case .approved(let approval) = await asked.value else { Issue.record("not answered"); return }
        #expect(approval.signer?.approverID == maya.id && approval.permission == "orders.void")
        #expect(till.approvals.pending == nil)
    }

    @Test func cancellingRefusesAndANewRequestReplacesAnOpenOne() async {
        let till = StaffTill()
        await till.session.signIn(employeeID: alex.id, pin: alex.pin)
        let first = Task { await till.approvals.request(PermissionTable.ordersVoid, reason: "first") }
        while till.approvals.pending == nil { await Task.yield() }
        let second = Task { await till.approvals.request(PermissionTable.ordersPriceOverride, reason: "second") }
        #expect(await first.value == .refused)
        while till.approvals.pending?.reason != "second" { await Task.yield() }
        till.approvals.cancel()
        #expect(await second.value == .refused)
        #expect(till.approvals.pending == nil)
    }
}
