import FynloSyncCore
import Observation

/// A manager's yes to one permission, given by PIN on this iPad.
public struct ManagerApproval: Sendable, Hashable {
    public var approverID: String
    public var approverName: String
    public var permission: String
    /// Signs the approved change (its `approval` proof); `nil` when this iPad holds no
    /// offline check for the manager (then only ``server`` can be used).
    public var signer: ApprovalSigner?
    /// The server's approval token for one REST request (a refund), when it was asked for
    /// online.
    public var server: ServerApproval?

    public init(
        approverID: String, approverName: String, permission: String, signer: ApprovalSigner?, server: ServerApproval?
    ) {
        self.approverID = approverID.lowercased()
        self.approverName = approverName
        self.permission = permission
        self.signer = signer
        self.server = server
    }
}

/// One approval being asked for: what the approval sheet shows.
public struct ApprovalRequest: Sendable, Hashable, Identifiable {
    public let id: Int
    public let permission: String
    /// What the manager is shown ("Void 2 × Burger, £25.00").
    public let reason: String
    public let forServerRequest: Bool
}

/// Manager approval by PIN for what a cashier or server may only do with one (voids,
/// discounts over the threshold, price overrides, refunds), offline too.
///
/// A flow (order entry, a refund) calls ``request(_:reason:forServerRequest:)`` and awaits the
/// answer: at once if whoever is signed in holds the permission (or may not have it at all),
/// else once a manager typed their PIN on the sheet that ``pending`` opens
/// (``answer(approverID:pin:)``) or it was cancelled. It then records the change with
/// ``SignedRecords/record(_:approvedBy:)``, or sends the REST request with the
/// ``ManagerApproval/server`` token.
@MainActor @Observable
public final class Approvals {
    public enum Outcome: Sendable, Hashable {
        case approved(ManagerApproval)
        case wrongPin(triesLeft: Int)
        case waiting(seconds: Int)
        /// Only a manager or owner approves.
        case notAnApprover
        /// Nobody approves their own action.
        case bySelf
        case nobodySignedIn
        /// Offline, and this iPad holds no check for that manager.
        case unknownOffline
        /// The approval is for a request to the server (a refund), which is offline.
        case needsServer
        case failed(String)
    }

    /// What ``request(_:reason:forServerRequest:)`` answers.
    public enum Answer: Sendable, Hashable {
        /// The signed-in employee holds the permission: record the change as it is.
        case held
        case approved(ManagerApproval)
        /// Cancelled, or nobody here may do it at all: the change is not made.
        case refused
    }

    public private(set) var lastOutcome: Outcome?
    /// The approval the sheet is asking for, if any.
    public private(set) var pending: ApprovalRequest?
    private var waiting: CheckedContinuation<Answer, Never>?
    private var requests = 0
    private let session: StaffSession

    public init(session: StaffSession) {
        self.session = session
    }

    /// Whether the signed-in employee may do `permission` alone, with an approval, or not.
    public func needs(_ permission: String) -> PermissionTable.Decision {
        PermissionTable.decide(permission, for: session.current?.role)
    }

    /// The managers who can approve here offline (the approval sheet's names).
    public var approvers: [OfflineCredential] {
        session.staff.filter { $0.role.approves && $0.employeeID != session.current?.id }
    }

    /// Asks for `permission` for the signed-in employee; suspends while the sheet is open. A
    /// new request cancels one still open.
    public func request(_ permission: String, reason: String, forServerRequest: Bool = false) async -> Answer {
        switch needs(permission) {
        case .allow: return .held
        case .deny: return .refused
        case .approval: break
        }
        cancel()
        requests += 1
        pending = ApprovalRequest(id: requests, permission: permission, reason: reason, forServerRequest: forServerRequest)
        return await withCheckedContinuation { waiting = $0 }
    }

    /// A manager answers the open request with their PIN. A wrong PIN leaves it open (the
    /// sheet shows ``lastOutcome``); an approval closes it.
    @discardableResult
    public func answer(approverID: String, pin: String) async -> Outcome {
        guard let request = pending else { return .failed("No approval is being asked for.") }
        let outcome = await approve(
            request.permission, approverID: approverID, pin: pin, forServerRequest: request.forServerRequest)
        if case .approved(let approval) = outcome, pending?.id == request.id { finish(.approved(approval)) }
        return outcome
    }

    /// The sheet was dismissed: the change is not made.
    public func cancel() { finish(.refused) }

    private func finish(_ answer: Answer) {
        pending = nil
        let resumed = waiting
        waiting = nil
        resumed?.resume(returning: answer)
    }

    /// `approverID` approves `permission` with `pin`. `forServerRequest`: the approval is for
    /// a REST call (a refund), which needs the server's token, so it must be online.
    @discardableResult
    public func approve(_ permission: String, approverID: String, pin: String, forServerRequest: Bool = false) async
        -> Outcome
    {
        let outcome = await decide(permission, approverID: approverID.lowercased(), pin: pin, forServer: forServerRequest)
        lastOutcome = outcome
        return outcome
    }

    private func decide(_ permission: String, approverID: String, pin: String, forServer: Bool) async -> Outcome {
        guard let maker = session.current else { return .nobodySignedIn }
        guard approverID != maker.id else { return .bySelf }
        let known = session.credential(approverID)
        if let known, !known.role.approves { return .notAnApprover }
        if let wait = session.attempts.waitSeconds(approverID, nowMs: session.clock.nowMs()) {
            return .waiting(seconds: wait)
        }
        if let employeeSession = maker.session {
            do {
                let token = try await session.auth.approve(
                    approverID: approverID, pin: pin, permission: permission, session: employeeSession)
                await session.succeeded(approverID)
                var key = await session.key(for: approverID, pin: pin)
                if key == nil, await session.refreshCredentials() { key = await session.key(for: approverID, pin: pin) }
                // A change pushed through sync carries the approval only as a proof.
                if key == nil && !forServer { return .unknownOffline }
                return .approved(
                    ManagerApproval(
                        approverID: approverID, approverName: session.credential(approverID)?.name ?? "",
                        permission: permission,
                        signer: key.map { ApprovalSigner(approverID: approverID, permission: permission, key: $0) },
                        server: token))
            } catch StaffAuthError.wrongPin {
                return Self.approval(await session.wrong(approverID, offline: false))
            } catch StaffAuthError.waiting(let seconds) {
                await session.serverWait(approverID, seconds: seconds)
                return .waiting(seconds: seconds)
            } catch StaffAuthError.refused(_, let code) {
                switch code {
                case "approval_by_self": return .bySelf
                case "not_an_approver", "forbidden": return .notAnApprover
                default: return .failed("The server refused the approval (\(code ?? "no reason given")).")
                }
            } catch StaffAuthError.unreachable {
                // Offline: checked here below.
            } catch {
                return .failed("Approval failed: \(error)")
            }
        }
        if forServer { return .needsServer }
        switch await session.checkOffline(approverID, pin: pin) {
        case .unknown: return .unknownOffline
        case .refused(let outcome): return Self.approval(outcome)
        case .right(let credential, let key):
            guard credential.role.approves else { return .notAnApprover }
            return .approved(
                ManagerApproval(
                    approverID: approverID, approverName: credential.name, permission: permission,
                    signer: ApprovalSigner(approverID: approverID, permission: permission, key: key), server: nil))
        }
    }

    private static func approval(_ outcome: StaffSession.Outcome) -> Outcome {
        switch outcome {
        case .wrongPin(let left): .wrongPin(triesLeft: left)
        case .waiting(let seconds): .waiting(seconds: seconds)
        case .unknownOffline: .unknownOffline
        case .signedIn: .failed("unexpected sign-in")
        case .failed(let words): .failed(words)
        }
    }
}
