import Foundation
import FynloSyncCore
import FynloSyncSQLite
import FynloSyncTesting
import Testing

private let cashier = "2f0c7a1e-5d3b-4c6a-9e8f-1a2b3c4d5e6f"
private let manager = "7d2e9b40-1c8f-4a36-b5e2-0f9d8c7b6a51"
// Keys as a PIN would give them; few PBKDF2 rounds keep the suite quick.
private let cashierKey = OfflineProof.key(pin: "482615", salt: Array(0..<16), iterations: 10, deviceID: device)
private let managerKey = OfflineProof.key(pin: "90210573", salt: Array(16..<32), iterations: 10, deviceID: device)

private func signed(_ fields: [String: JSONValue], approval permission: String? = nil) -> ChangeDraft {
    ChangeDraft(
        entityType: "order", entityID: orderA, fields: fields,
        signers: ChangeSigners(
            actor: ChangeSigner(employeeID: cashier, key: cashierKey),
            approval: permission.map { ApprovalSigner(approverID: manager, permission: $0, key: managerKey) }))
}

/// Whether `change`'s proofs are what the server will recompute for it on this device.
private func proofsHold(_ change: PendingChange, permission: String? = nil) -> Bool {
    let statement = OfflineProof.statement(deviceID: device, change: change)
    let actorHolds = change.actor == ActorProof(
        employeeID: cashier, proof: OfflineProof.proof(key: cashierKey, purpose: "actor", statement: statement))
    guard let permission else { return actorHolds && change.approval == nil }
    return actorHolds && change.approval == ApprovalProof(
        approverID: manager, permission: permission,
        proof: OfflineProof.proof(key: managerKey, purpose: "approval:\(permission)", statement: statement))
}

@Suite("signed changes in every store")
struct SignedChangeTests {
    @Test(arguments: StoreKind.allCases)
    func theStoreSignsWhatItNumbersAndKeepsTheProofs(_ kind: StoreKind) async throws {
        let store = try kind.make()
        let opened = try await store.enqueue(signed(["number": "A-0001", "status": "open"]))
        let voided = try await store.enqueue(signed(["status": "voided"], approval: "orders.void"))
        let bare = try await store.enqueue(draft(orderA, ["covers": 3]))
        #expect(proofsHold(opened))
        #expect(proofsHold(voided, permission: "orders.void"))
        #expect(bare.actor == nil && bare.approval == nil)
        // Kept in the outbox and frozen into the batch as made, proofs and all.
        #expect(try await store.pendingChanges() == [opened, voided, bare])
        let batch = try #require(try await store.freezeBatch(maxItems: 10, newID: "11111111-1111-4111-8111-111111111111"))
        #expect(batch.changes == [opened, voided, bare])
        let wire = PushRequest(batch: batch, deviceID: device, appVersion: "test").json["changes"].arrayValue ?? []
        #expect(wire[0]["actor"] == ["employee_id": .string(cashier), "proof": .string(opened.actor!.proof)])
        #expect(wire[1]["approval"] == [
            "approver_id": .string(manager), "permission": "orders.void", "proof": .string(voided.approval!.proof),
        ])
        #expect(wire[2].objectValue?["actor"] == nil && wire[2].objectValue?["approval"] == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func aRejectedSignedChangeIsDeadLetteredWithItsProofs(_ kind: StoreKind) async throws {
        let store = try kind.make()
        let voided = try await store.enqueue(signed(["status": "voided"], approval: "orders.void"))
        try await store.acknowledge(
            through: 1, rejected: [DeadLetter(change: voided, reason: "approval_unproven", detail: nil, atMs: 0)])
        #expect(try await store.deadLetters().map(\.change) == [voided])
    }

    /// After a server restore the outbox is renumbered: the old proofs would not verify and
    /// the keys are gone, so the changes go out unsigned (``PendingChange/renumbered(to:)``).
    @Test(arguments: StoreKind.allCases)
    func aRenumberedChangeLosesProofsItCanNoLongerKeep(_ kind: StoreKind) async throws {
        let store = try kind.make()
        for number in 1...3 { _ = try await store.enqueue(signed(["covers": .int(number)])) }
        try await store.acknowledge(through: 1, rejected: [])
        #expect(try await store.pendingChanges().allSatisfy { proofsHold($0) })
        try await store.restartSequence(expected: 1)
        let renumbered = try await store.pendingChanges()
        #expect(renumbered.map(\.seq) == [1, 2])
        #expect(renumbered.allSatisfy { $0.actor == nil && $0.approval == nil })
        #expect(renumbered.map { $0.fields["covers"] } == [2, 3])
        // New changes are signed as usual, under the new numbers.
        let next = try await store.enqueue(signed(["covers": 9]))
        #expect(next.seq == 3 && proofsHold(next))
    }

    @Test func proofsSurviveReopeningTheSQLiteFile() async throws {
        let path = scratchPath()
        let made = try await SQLiteSyncStore(path: path, deviceID: device).enqueue(signed(["status": "voided"], approval: "orders.void"))
        let reopened = try SQLiteSyncStore(path: path, deviceID: device)
        #expect(try await reopened.pendingChanges() == [made])
        #expect(proofsHold(try #require(try await reopened.pendingChanges().first), permission: "orders.void"))
    }

    /// A file written before changes were signed holds changes without `actor`: read as the
    /// iPad's own (the outbox keeps each change as its wire JSON, so no column was added).
    @Test func aFileFromBeforeSigningReadsItsChangesUnsigned() async throws {
        let path = scratchPath()
        let old = try SQLiteSyncStore(path: path, deviceID: device)
        _ = try await old.enqueue(draft(orderA, ["covers": 2]))
        let reopened = try SQLiteSyncStore(path: path, deviceID: device)
        let change = try #require(try await reopened.pendingChanges().first)
        #expect(change.actor == nil && change.approval == nil)
        #expect(JSONWriter.string(change.json).contains("actor") == false)
    }
}
