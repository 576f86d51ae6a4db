import FynloPOSCore
import FynloSyncCore

/// An ``ApprovalGate`` that answers as told and remembers every question, for tests and
/// previews.
public actor ScriptedApprovalGate: ApprovalGate {
    public enum Answer: Sendable {
        /// The signed-in employee holds every permission (a manager on the till).
        case held
        /// A manager with this id approves.
        case approve(approverID: String)
        /// Nobody approves (cancelled, a wrong PIN).
        case refuse
    }

    public struct Question: Sendable, Hashable {
        public var permission: Permission
        public var reason: String
    }

    public var answer: Answer
    public private(set) var questions: [Question] = []

    public init(_ answer: Answer = .refuse) {
        self.answer = answer
    }

    public func answer(_ answer: Answer) { self.answer = answer }

    public func approval(for permission: Permission, reason: String) async throws -> Approval? {
        questions.append(Question(permission: permission, reason: reason))
        switch answer {
        case .held: return .held
        case .refuse: return nil
        case .approve(let approverID):
            return .approved(
                ApprovalGrant(permission: permission, approverID: approverID) { statement in
                    "signed(\(approverID), approval:\(permission.rawValue), \(statement))"
                })
        }
    }
}

/// ``Records`` that keep each approval beside the change it approved, as the real signing
/// store will (which also puts it on the push); everything else goes to `base`.
public actor ApprovalRecordingRecords: Records {
    public struct Approved: Sendable, Hashable {
        public var seq: Int
        public var key: EntityKey
        public var fields: [String: JSONValue]
        public var permission: Permission
        public var approverID: String
        public var proof: String
    }

    private let base: any Records
    public private(set) var approved: [Approved] = []

    public init(_ base: any Records) {
        self.base = base
    }

    public func entity(_ key: EntityKey) async throws -> LocalEntity? { try await base.entity(key) }

    public func entities(ofType entityType: String) async throws -> [EntityKey: LocalEntity] {
        try await base.entities(ofType: entityType)
    }

    @discardableResult
    public func record(_ draft: ChangeDraft) async throws -> PendingChange { try await base.record(draft) }

    @discardableResult
    public func record(_ draft: ChangeDraft, approvedBy grant: ApprovalGrant) async throws -> PendingChange {
        let change = try await base.record(draft)
        approved.append(
            Approved(
                seq: change.seq, key: change.key, fields: change.fields, permission: grant.permission,
                approverID: grant.approverID, proof: grant.sign("\(change.seq)\n\(change.key)\n\(change.hlc)")))
        return change
    }

    public func syncSoon() async {}
}
