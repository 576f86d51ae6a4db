import Foundation

/// The server's side of staff sign-in, approvals and offline PIN checks: `POST /api/v1/auth/pin`,
/// `POST /api/v1/auth/approvals`, `GET /api/v1/employees/offline-credentials` and
/// `POST /api/v1/employees/offline-pin-failures` (FynloPOSHTTP's `HTTPStaffAuth`; a fake in
/// tests). Every method throws ``StaffAuthError``.
public protocol StaffAuth: Sendable {
    /// Checks a PIN on the server and opens an employee session on this iPad.
    func signIn(employeeID: String, pin: String) async throws -> EmployeeSession
    /// A single-use approval token for one permission (sent as `X-Fynlo-Approval`), asked
    /// while `session` is signed in.
    func approve(approverID: String, pin: String, permission: String, session: EmployeeSession) async throws
        -> ServerApproval
    /// Each active employee's offline PIN check for this iPad.
    func offlineCredentials() async throws -> [OfflineCredential]
    /// Wrong PINs typed offline; idempotent per `report.id`.
    func reportOfflinePinFailures(_ report: OfflinePinFailureReport) async throws
}

public enum StaffAuthError: Error, Sendable, Hashable {
    /// The server could not be reached (or its answer was lost): the offline path applies.
    case unreachable
    /// Wrong employee or PIN (401): the server counts it.
    case wrongPin
    /// This iPad must wait before trying this PIN again (429 and `Retry-After`).
    case waiting(seconds: Int)
    /// Refused for another reason (a 403 `not_an_approver`, `approval_by_self`, ...).
    case refused(status: Int, code: String?)
}

/// An employee signed in through the server (`EmployeeSession` on the wire).
public struct EmployeeSession: Sendable, Hashable {
    /// Sent as `X-Fynlo-Employee`; valid for `expiresIn` seconds.
    public var token: String
    public var expiresIn: Int
    public var employeeID: String
    public var name: String
    public var role: StaffRole

    public init(token: String, expiresIn: Int, employeeID: String, name: String, role: StaffRole) {
        self.token = token
        self.expiresIn = expiresIn
        self.employeeID = employeeID.lowercased()
        self.name = name
        self.role = role
    }
}

/// The server's approval of one REST request (a refund): `X-Fynlo-Approval`, two minutes.
public struct ServerApproval: Sendable, Hashable {
    public var token: String
    public var expiresIn: Int

    public init(token: String, expiresIn: Int) {
        self.token = token
        self.expiresIn = expiresIn
    }
}

/// What the iPad keeps to check one employee's PIN offline (never the seed or key).
public struct OfflineCredential: Sendable, Hashable, Codable {
    public var employeeID: String
    public var name: String
    public var role: StaffRole
    /// Hex.
    public var salt: String
    public var iterations: Int
    /// Hex HMAC-SHA256 of "verify" under the employee's key for this iPad.
    public var verifier: String

    public init(employeeID: String, name: String, role: StaffRole, salt: String, iterations: Int, verifier: String) {
        self.employeeID = employeeID.lowercased()
        self.name = name
        self.role = role
        self.salt = salt
        self.iterations = iterations
        self.verifier = verifier
    }
}

/// Wrong PINs typed offline, for the server (`docs/security.md`, "Offline sign-in and
/// approvals"). Its id is fixed when it is made, so a resend is the same report.
public struct OfflinePinFailureReport: Sendable, Hashable, Codable {
    public struct Entry: Sendable, Hashable, Codable {
        public var employeeID: String
        public var failures: Int
        public var firstAtMs: Int
        public var lastAtMs: Int
        /// A right PIN followed the last of them here: the server audits, does not count.
        public var cleared: Bool

        public init(employeeID: String, failures: Int, firstAtMs: Int, lastAtMs: Int, cleared: Bool) {
            self.employeeID = employeeID.lowercased()
            self.failures = failures
            self.firstAtMs = firstAtMs
            self.lastAtMs = lastAtMs
            self.cleared = cleared
        }
    }

    public var id: String
    public var entries: [Entry]

    public init(id: String, entries: [Entry]) {
        self.id = id.lowercased()
        self.entries = entries
    }
}
