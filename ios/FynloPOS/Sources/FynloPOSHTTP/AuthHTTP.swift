import Foundation
import FynloPOSCore
import FynloSyncCore
import FynloSyncHTTP

/// ``StaffAuth`` over HTTP, with the iPad's device token (`token` is asked for each request,
/// so a refreshed token is used at once; a 401 refusing it is refreshed and sent again by
/// `refresh`). A lost request or a 5xx is ``StaffAuthError/unreachable``: the session then
/// checks PINs offline.
public struct HTTPStaffAuth: StaffAuth {
    private let client: JSONHTTPClient
    private let token: @Sendable () async -> String
    private let refresh: RefreshOn401

    public init(
        client: JSONHTTPClient, token: @escaping @Sendable () async -> String, refresh: RefreshOn401 = .never
    ) {
        self.client = client
        self.token = token
        self.refresh = refresh
    }

    /// Whether a 401 refuses the device token: any but the PIN check's own ("employee or PIN
    /// is wrong", which a new device token would not change).
    static func refusesDeviceToken(_ reply: TransportReply) -> Bool {
        reply.status == 401 && reply.body?["detail"].stringValue != wrongPin
    }

    static let wrongPin = "employee or PIN is wrong"


    public func signIn(employeeID: String, pin: String) async throws -> EmployeeSession {
        let body = try await call(
            "POST", "/api/v1/auth/pin", body: ["employee_id": .string(employeeID), "pin": .string(pin)])
        guard let token = body["employee_token"].stringValue, let id = body["employee_id"].stringValue,
            let role = body["role"].stringValue.flatMap(StaffRole.init(rawValue:))
        else { throw StaffAuthError.refused(status: 200, code: "malformed_session") }
        return EmployeeSession(
            token: token, expiresIn: body["expires_in"].intValue ?? 0, employeeID: id,
            name: body["name"].stringValue ?? "", role: role)
    }

    public func approve(approverID: String, pin: String, permission: String, session: EmployeeSession) async throws
        -> ServerApproval
    {
        let body = try await call(
            "POST", "/api/v1/auth/approvals",
            body: ["employee_id": .string(approverID), "pin": .string(pin), "permission": .string(permission)],
            headers: ["X-Fynlo-Employee": session.token])
        guard let token = body["approval_token"].stringValue else {
            throw StaffAuthError.refused(status: 200, code: "malformed_approval")
        }
        return ServerApproval(token: token, expiresIn: body["expires_in"].intValue ?? 0)
    }

    public func offlineCredentials() async throws -> [OfflineCredential] {
        let body = try await call("GET", "/api/v1/employees/offline-credentials")
        return (body["employees"].arrayValue ?? []).compactMap { entry in
            guard let id = entry["employee_id"].stringValue, let role = entry["role"].stringValue.flatMap(StaffRole.init),
                let salt = entry["salt"].stringValue, let iterations = entry["iterations"].intValue,
                let verifier = entry["verifier"].stringValue
            else { return nil }
            return OfflineCredential(
                employeeID: id, name: entry["name"].stringValue ?? "", role: role, salt: salt, iterations: iterations,
                verifier: verifier)
        }
    }

    public func reportOfflinePinFailures(_ report: OfflinePinFailureReport) async throws {
        let entries: [JSONValue] = report.entries.map { entry in
            [
                "employee_id": .string(entry.employeeID), "failures": .int(entry.failures),
                "first_at": .string(Self.instant(entry.firstAtMs)), "last_at": .string(Self.instant(entry.lastAtMs)),
                "cleared": .bool(entry.cleared),
            ]
        }
        _ = try await call(
            "POST", "/api/v1/employees/offline-pin-failures",
            body: ["report_id": .string(report.id), "employees": .array(entries)])
    }

    /// One request; its body on 2xx, else the refusal as a ``StaffAuthError``.
    private func call(
        _ method: String, _ path: String, body: JSONValue? = nil, headers: [String: String] = [:]
    ) async throws -> JSONValue {
        let reply: TransportReply
        do {
            reply = try await refresh.send(refused: Self.refusesDeviceToken) {
                let bearer = await token()
                return (bearer, try await client.send(method, path, body: body, bearer: bearer, headers: headers))
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw StaffAuthError.unreachable
        }
        switch reply.status {
        case 200..<300:
            return reply.body ?? .null
        case 401 where !Self.refusesDeviceToken(reply):
            // Only the PIN check says this; any other 401 is the device token (refreshed above).
            throw StaffAuthError.wrongPin
        case 400 where reply.body?["field"].stringValue == "pin":
            // Not a PIN this restaurant allows (too short): wrong, as the server would say.
            throw StaffAuthError.wrongPin
        case 429:
            let seconds = reply.retryAfter.map { Int($0.components.seconds) } ?? 30
            throw StaffAuthError.waiting(seconds: max(1, seconds))
        case 500...:
            throw StaffAuthError.unreachable
        default:
            // A 403 names why in `reason` (not_an_approver, approval_by_self, ...).
            let code = reply.body?["reason"].stringValue ?? reply.body?["code"].stringValue
            throw StaffAuthError.refused(status: reply.status, code: code)
        }
    }

    /// Milliseconds since the epoch as the server reads instants (ISO 8601, UTC).
    static func instant(_ ms: Int) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
