import Foundation
import FynloSyncCore
import FynloSyncHTTP
import FynloSyncTesting
import Testing

/// Signed changes against the real server: the demo's employees (`server/demo.py`) sign as
/// their PINs let them on this iPad, and the server decides by who proved it.
@Suite("live server: signed changes", .enabled(if: LiveServer.isConfigured), .serialized)
struct LiveSignedChangeTests {
    /// Enrolment code index 3 (FynloSync's own tests use 0 to 2).
    @Test func aVoidIsAppliedOnlyWithTheProofsItNeeds() async throws {
        let enrolment = try await LiveServer.enrol(3, name: "Swift signing till")
        let reply = try await LiveServer.client().send(
            "GET", "/api/v1/employees/offline-credentials", bearer: enrolment.accessToken)
        #expect(reply.status == 200)
        let employees = reply.body?["employees"].arrayValue ?? []
        func key(_ name: String, pin: String) throws -> ChangeSigner {
            guard let entry = employees.first(where: { $0["name"].stringValue == name }),
                let salt = entry["salt"].stringValue.flatMap(Hex.bytes), let iterations = entry["iterations"].intValue,
                let employeeID = entry["employee_id"].stringValue
            else { throw LiveServer.Failure("no offline credential for \(name)") }
            let key = OfflineProof.key(pin: pin, salt: salt, iterations: iterations, deviceID: enrolment.deviceID)
            #expect(OfflineProof.verifier(key) == entry["verifier"].stringValue, "\(name)'s PIN checks offline")
            return ChangeSigner(employeeID: employeeID, key: key)
        }
        let alex = try key("Alex", pin: "7391")  // a cashier: voids only with approval
        let maya = try key("Maya", pin: "2580")  // a manager
        let approval = ApprovalSigner(approverID: maya.employeeID, permission: "orders.void", key: maya.key)

        let device = try LiveDevice(enrolment, store: InMemorySyncStore(deviceID: enrolment.deviceID))
        await device.transport.setOnline(false)
        let approved = try await device.openOrder(1)
        let bare = try await device.openOrder(2)
        let forged = try await device.openOrder(3)
        func void(_ id: String, _ signers: ChangeSigners) async throws {
            try await device.engine.record(
                ChangeDraft(entityType: "order", entityID: id, fields: ["status": "voided"], signers: signers))
        }
        try await void(approved, ChangeSigners(actor: alex, approval: approval))
        try await void(bare, .none)
        // Alex's name with Maya's key: a proof that is not Alex's.
        try await void(forged, ChangeSigners(actor: ChangeSigner(employeeID: alex.employeeID, key: maya.key)))
        await device.transport.setOnline(true)
        #expect(await device.engine.requestSync() == .synced)

        let manager = try await LiveServer.managerToken()
        #expect(try await LiveServer.order(approved, token: manager)?["status"] == "voided")
        #expect(try await LiveServer.order(bare, token: manager)?["status"] == "open")
        #expect(try await LiveServer.order(forged, token: manager)?["status"] == "open")
        let refused = Dictionary(
            try await device.engine.deadLetters().map { ($0.change.entityID, $0.reason) }, uniquingKeysWith: { a, _ in a })
        #expect(refused == [bare: "not_permitted", forged: "actor_unproven"])
    }
}
