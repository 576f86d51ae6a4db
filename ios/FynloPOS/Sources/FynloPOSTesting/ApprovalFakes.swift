import FynloPOSCore
import FynloSyncCore

/// An ``ApprovalGate`` that answers as told and remembers every question, and every change
/// recorded under an approval it gave: for tests and previews. Approved changes go into
/// `records` as they are (the real gate's grant signs them; see Order/Approval.swift).
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

    /// A change recorded under an approval.
    public struct Approved: Sendable, Hashable {
        public var seq: Int
        public var key: EntityKey
        public var fields: [String: JSONValue]
        public var permission: Permission
        public var approverID: String
    }

    public private(set) var answer: Answer
    public private(set) var questions: [Question] = []
    public private(set) var approved: [Approved] = []
    private let records: any Records

    public init(_ answer: Answer = .refuse, records: any Records) {
        self.answer = answer
        self.records = records
    }

    public func answer(_ answer: Answer) { self.answer = answer }

    public func approval(for permission: Permission, reason: String) async throws -> Approval? {
        questions.append(Question(permission: permission, reason: reason))
        switch answer {
        case .held: return .held
        case .refuse: return nil
        case .approve(let approverID):
            let records = records
            return .approved(
                ApprovalGrant(permission: permission, approverID: approverID) { draft in
                    let change = try await records.record(draft)
                    await self.note(
                        Approved(
                            seq: change.seq, key: change.key, fields: change.fields, permission: permission,
                            approverID: approverID))
                    return change
                })
        }
    }

    private func note(_ change: Approved) { approved.append(change) }
}
