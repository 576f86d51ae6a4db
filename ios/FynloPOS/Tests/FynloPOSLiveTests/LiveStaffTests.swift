import Foundation
import FynloPOSCore
import FynloPOSHTTP
import FynloPOSTesting
import FynloSyncCore
import FynloSyncHTTP
import Testing

/// A network that can be cut: while off, every call is refused as a dead network would.
actor NetworkSwitch {
    private(set) var online = true
    func set(_ online: Bool) { self.online = online }
    func check() throws { if !online { throw TransportError.unreachable("the network is cut") } }
}

/// ``StaffAuth`` over HTTP, behind the switch.
struct SwitchedStaffAuth: StaffAuth {
    let base: any StaffAuth
    let network: NetworkSwitch

    func signIn(employeeID: String, pin: String) async throws -> EmployeeSession {
        try await reach()
        return try await base.signIn(employeeID: employeeID, pin: pin)
    }

    func approve(approverID: String, pin: String, permission: String, session: EmployeeSession) async throws
        -> ServerApproval
    {
        try await reach()
        return try await base.approve(approverID: approverID, pin: pin, permission: permission, session: session)
    }

    func offlineCredentials() async throws -> [OfflineCredential] {
        try await reach()
        return try await base.offlineCredentials()
    }

    func reportOfflinePinFailures(_ report: OfflinePinFailureReport) async throws {
        try await reach()
        try await base.reportOfflinePinFailures(report)
    }

    private func reach() async throws {
        do { try await network.check() } catch { throw StaffAuthError.unreachable }
    }
}

/// The sync transport behind the same switch.
struct SwitchedTransport: SyncTransport {
    let base: any SyncTransport
    let network: NetworkSwitch

    func push(_ request: PushRequest) async throws -> TransportReply {
        try await network.check()
        return try await base.push(request)
    }

    func pull(cursor: String?, limit: Int, appVersion: String) async throws -> TransportReply {
        try await network.check()
        return try await base.pull(cursor: cursor, limit: limit, appVersion: appVersion)
    }
}

/// The staff flows against a real server and the demo's staff (`server/demo.py`: Maya a
/// manager, PIN 2580; Alex a cashier, 7391). Enrolment codes 8 and 9 (enrolling again).
@MainActor
@Suite("live server: device set-up and staff", .enabled(if: LiveServer.isConfigured), .serialized)
struct LiveStaffTests {
    @Test func aServiceSignedInOnlineAndOfflineLandsWithTheRightPeople() async throws {
        let client = try LiveServer.client()
        let keychain = MemoryKeychain()

        // Set-up: enrol with a code, credentials in the Keychain, the location shown.
        let setup = DeviceSetup(keychain: keychain, enrolment: HTTPEnrolment(client: client))
        await setup.enrol(code: try LiveServer.enrolmentCode(8), name: "Swift staff till")
        #expect(setup.phase == .enrolled)
        let device = try #require(setup.credentials)
        #expect(setup.locationName?.isEmpty == false)
        let relaunched = DeviceSetup(keychain: keychain, enrolment: HTTPEnrolment(client: client))
        await relaunched.load()
        #expect(relaunched.credentials == device)

        let network = NetworkSwitch()
        let token = device.accessToken
        let auth = SwitchedStaffAuth(base: HTTPStaffAuth(client: client, token: { token }), network: network)
        let keyring = SigningKeyring()
        let session = StaffSession(deviceID: device.deviceID, auth: auth, keychain: keychain, keyring: keyring)
        let approvals = Approvals(session: session)
        let store = InMemorySyncStore(deviceID: device.deviceID)
        let engine = SyncEngine(
            configuration: .init(deviceID: device.deviceID, appVersion: "swift-staff-tests"), store: store,
            transport: SwitchedTransport(
                base: URLSessionTransport(client: client, token: { token }), network: network))
        let records = SignedRecords(SyncedRecords(reader: store, engine: engine), keyring: keyring)

        // The offline checks, then Alex signs in online with the demo PIN.
        #expect(await session.refreshCredentials())
        func id(_ name: String) throws -> String {
            guard let found = session.staff.first(where: { $0.name == name }) else {
                throw LiveServer.Failure("no offline check for \(name)")
            }
            return found.employeeID
        }
        let alex = try id("Alex")
        let maya = try id("Maya")
        #expect(await session.signIn(employeeID: alex, pin: "7391") == .signedIn)
        #expect(session.current?.signedInOnline == true && session.current?.signs == true)

        // The network goes: a wrong PIN is counted here, then Alex signs in again offline.
        await network.set(false)
        await session.signOut()
        #expect(await session.signIn(employeeID: alex, pin: "1111") == .wrongPin(triesLeft: 4))
        #expect(await session.signIn(employeeID: alex, pin: "7391") == .signedIn)
        #expect(session.current?.signedInOnline == false)
        #expect(session.unreportedFailures == 1)

        // Offline orders: one Alex voids with Maya's approval, one Alex voids alone.
        let approvedVoid = UUID().uuidString.lowercased()
        let aloneVoid = UUID().uuidString.lowercased()
        for (number, order) in [approvedVoid, aloneVoid].enumerated() {
            try await records.record(
                ChangeDraft(entityType: "order", entityID: order, fields: [
                    "number": .string("\(device.prefix)-000\(number + 1)"), "device_prefix": .string(device.prefix),
                    "device_seq": .int(number + 1), "opened_at": .string(ISO8601DateFormatter().string(from: Date())),
                    "status": "open", "covers": 2,
                ]))
        }
        #expect(approvals.needs(PermissionTable.ordersVoid) == .approval)
        let outcome = await approvals.approve(PermissionTable.ordersVoid, approverID: maya, pin: "2580")
        guard case .approved(let approval) = outcome else { Issue.record("approval: \(outcome)"); return }
        try await records.record(
            ChangeDraft(entityType: "order", entityID: approvedVoid, fields: ["status": "voided"]), approvedBy: approval)
        try await records.record(ChangeDraft(entityType: "order", entityID: aloneVoid, fields: ["status": "voided"]))
        #expect(await store.pendingChanges().allSatisfy { $0.actor?.employeeID == alex })

        // Back online: pushed once; the server knew Alex (a cashier) and Maya's approval.
        await network.set(true)
        #expect(await engine.requestSync() == .synced)
        let manager = try await LiveServer.managerToken()
        #expect(try await LiveStaffServer.order(approvedVoid, token: manager)?["status"] == "voided")
        #expect(try await LiveStaffServer.order(aloneVoid, token: manager)?["status"] == "open")
        let refused = try await engine.deadLetters().map { ($0.change.entityID, $0.reason) }
        #expect(refused.map(\.0) == [aloneVoid])
        #expect(refused.map(\.1) == ["needs_approval"], "a cashier's void, not a bare iPad's (not_permitted)")

        // The wrong PIN typed offline reaches the server's audit log, once.
        #expect(await session.reportOfflineFailures())
        #expect(session.unreportedFailures == 0)
        let reported = try await LiveStaffServer.audit(token: manager).filter {
            $0["action"] == "employees.offline_pin_failures" && $0["device_id"].stringValue == device.deviceID
        }
        #expect(reported.count == 1)
        #expect(reported.first?["target_id"].stringValue == alex)
        #expect(reported.first?["details"]["failures"] == 1)
        #expect(reported.first?["details"]["cleared"] == true, "Alex's right PIN followed")

        // A fresh code (index 9) brings the same device back with new tokens and secret.
        await setup.enrolAgain(code: try LiveServer.enrolmentCode(9))
        #expect(setup.phase == .enrolled)
        let again = try #require(setup.credentials)
        #expect(again.deviceID == device.deviceID && again.prefix == device.prefix)
        #expect(again.deviceSecret != device.deviceSecret && again.refreshToken != device.refreshToken)
        let checks = try await client.send("GET", "/api/v1/employees/offline-credentials", bearer: again.accessToken)
        #expect(checks.status == 200)
        #expect(checks.body?["device_id"].stringValue == device.deviceID)

        // An access token the server refuses (as one run out would be): the first call's 401
        // refreshes the pair once, with the real refresh token, and the call goes through.
        let kept = KeptTokens()
        let renewing = DeviceTokens.overHTTP(client: client, access: "not-a-token", refresh: again.refreshToken) {
            await kept.keep($0, $1)
        }
        let refreshing = HTTPStaffAuth(
            client: client, token: { await renewing.access() }, refresh: RefreshOn401(renewing))
        #expect(try await refreshing.offlineCredentials().isEmpty == false)
        #expect(await renewing.refreshes == 1)
        #expect(await kept.pairs.count == 1)
        #expect(await renewing.access() != "not-a-token")
        #expect(await renewing.problem == nil)
        // A refresh token the server does not know: the call's 401 stands, and the iPad knows
        // it must enrol again.
        let lost = DeviceTokens.overHTTP(client: client, access: "not-a-token", refresh: "not-a-refresh-token") { _, _ in }
        let stranded = HTTPStaffAuth(client: client, token: { await lost.access() }, refresh: RefreshOn401(lost))
        await #expect(throws: StaffAuthError.refused(status: 401, code: "not_authenticated")) {
            try await stranded.offlineCredentials()
        }
        #expect(await lost.problem == .refused(status: 401))
    }
}

/// The token pairs a refresh handed over to be kept.
actor KeptTokens {
    private(set) var pairs: [(String, String)] = []
    func keep(_ access: String, _ refresh: String) { pairs.append((access, refresh)) }
}
