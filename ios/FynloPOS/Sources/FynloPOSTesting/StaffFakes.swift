import Foundation
import FynloPOSCore
import FynloSyncCore

/// The server's staff side in memory: PIN sign-in, approvals, offline credentials and failure
/// reports, with the network switched off and on at will. Offline checks are made exactly
/// as the server makes them, at `iterations` PBKDF2 rounds (few, so tests are quick).
public actor FakeStaffAuth: StaffAuth {
    public struct Person: Sendable, Hashable {
        public var id: String
        public var name: String
        public var role: StaffRole
        public var pin: String
        public var salt: [UInt8]

        public init(id: String, name: String, role: StaffRole, pin: String, salt: [UInt8]) {
            self.id = id.lowercased()
            self.name = name
            self.role = role
            self.pin = pin
            self.salt = salt
        }
    }

    public static let maya = Person(
        id: "6d1f0c2a-1b2e-4f5b-9d1e-3c6a7b8c9d01", name: "Maya", role: .manager, pin: "258013",
        salt: Array(0..<16))
    public static let alex = Person(
        id: "6d1f0c2a-1b2e-4f5b-9d1e-3c6a7b8c9d02", name: "Alex", role: .cashier, pin: "739104",
        salt: Array(16..<32))
    public static let sam = Person(
        id: "6d1f0c2a-1b2e-4f5b-9d1e-3c6a7b8c9d03", name: "Sam", role: .server, pin: "482615",
        salt: Array(32..<48))
    public static let owen = Person(
        id: "6d1f0c2a-1b2e-4f5b-9d1e-3c6a7b8c9d04", name: "Owen", role: .owner, pin: "904172",
        salt: Array(48..<64))

    public let deviceID: String
    public let iterations: Int
    public private(set) var people: [Person]
    public private(set) var online = true
    public private(set) var signIns: [String] = []
    public private(set) var approvals: [(approver: String, permission: String)] = []
    public private(set) var reports: [OfflinePinFailureReport] = []
    public private(set) var credentialFetches = 0
    private var loseReportAnswers = 0
    private var waitSeconds: Int?

    public init(deviceID: String, people: [Person] = [maya, alex, sam, owen], iterations: Int = 64) {
        self.deviceID = deviceID.lowercased()
        self.people = people
        self.iterations = iterations
    }

    public func setOnline(_ online: Bool) { self.online = online }

    /// The next report reaches the server but its answer is lost.
    public func loseNextReportAnswer() { loseReportAnswers += 1 }

    /// The server makes this iPad wait (429) at the next sign-in or approval.
    public func makeWait(seconds: Int) { waitSeconds = seconds }

    /// The key `person`'s PIN gives on this iPad, as the server derives it.
    public nonisolated func key(_ person: Person) -> SigningKey {
        OfflineProof.key(pin: person.pin, salt: person.salt, iterations: iterations, deviceID: deviceID)
    }

    public func signIn(employeeID: String, pin: String) throws -> EmployeeSession {
        try reachable()
        guard let person = people.first(where: { $0.id == employeeID.lowercased() }), person.pin == pin else {
            throw StaffAuthError.wrongPin
        }
        signIns.append(person.id)
        return EmployeeSession(
            token: "session-\(person.id)", expiresIn: 1800, employeeID: person.id, name: person.name, role: person.role)
    }

    public func approve(approverID: String, pin: String, permission: String, session: EmployeeSession) throws
        -> ServerApproval
    {
        try reachable()
        guard let person = people.first(where: { $0.id == approverID.lowercased() }), person.pin == pin else {
            throw StaffAuthError.wrongPin
        }
        guard person.id != session.employeeID else { throw StaffAuthError.refused(status: 403, code: "approval_by_self") }
        guard person.role.approves else { throw StaffAuthError.refused(status: 403, code: "not_an_approver") }
        approvals.append((person.id, permission))
        return ServerApproval(token: "approval-\(person.id)-\(permission)", expiresIn: 120)
    }

    public func offlineCredentials() throws -> [OfflineCredential] {
        try reachable()
        credentialFetches += 1
        return people.map { person in
            OfflineCredential(
                employeeID: person.id, name: person.name, role: person.role, salt: Hex.string(person.salt),
                iterations: iterations, verifier: OfflineProof.verifier(key(person)))
        }
    }

    public func reportOfflinePinFailures(_ report: OfflinePinFailureReport) throws {
        try reachable()
        reports.append(report)
        if loseReportAnswers > 0 {
            loseReportAnswers -= 1
            throw StaffAuthError.unreachable
        }
    }

    /// A manager gave `person` a new PIN: the server's check changes with it.
    public func setPin(_ person: Person, to pin: String) {
        guard let index = people.firstIndex(where: { $0.id == person.id }) else { return }
        people[index].pin = pin
    }

    private func reachable() throws {
        guard online else { throw StaffAuthError.unreachable }
        if let seconds = waitSeconds {
            waitSeconds = nil
            throw StaffAuthError.waiting(seconds: seconds)
        }
    }
}

/// Enrolment in memory: a set of good codes, each spent once.
public actor FakeEnrolment: EnrolmentService {
    public private(set) var codes: Set<String>
    public private(set) var online = true
    public private(set) var enrolments = 0
    public let deviceID: String

    public init(codes: Set<String>, deviceID: String = "8f1d4c2a-2b4e-4f5b-9d1e-3c6a7b8c9d0e") {
        self.codes = codes
        self.deviceID = deviceID
    }

    public func setOnline(_ online: Bool) { self.online = online }

    public func enrol(code: String, name: String) throws -> DeviceCredentials {
        guard online else { throw EnrolmentError.unreachable }
        guard codes.remove(code) != nil else { throw EnrolmentError.refused(status: 403, code: "enrolment.invalid_code") }
        enrolments += 1
        return DeviceCredentials(
            deviceID: deviceID, locationID: "0bf4d181-71e1-4e76-ae74-6e020cc39a10", locationName: "Soho",
            prefix: "B", accessToken: "access-\(enrolments)", refreshToken: "refresh-\(enrolments)",
            deviceSecret: "secret-\(enrolments)")
    }

    /// The device back as itself, if its secret is the latest one issued.
    public func enrolAgain(code: String, as device: DeviceCredentials) throws -> DeviceCredentials {
        guard online else { throw EnrolmentError.unreachable }
        guard device.deviceID == deviceID, device.deviceSecret == "secret-\(enrolments)" else {
            throw EnrolmentError.refused(status: 403, code: "enrolment.device_not_recognised")
        }
        return try enrol(code: code, name: "ignored")
    }
}
