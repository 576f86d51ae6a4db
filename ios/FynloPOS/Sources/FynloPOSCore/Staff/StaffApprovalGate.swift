import FynloSyncCore

/// The staff side's answer to order entry's ``ApprovalGate``: the manager's PIN sheet
/// (``Approvals``), and an approved change recorded through ``SignedRecords`` so it carries
/// both the maker's and the approver's proofs.
public struct StaffApprovalGate: ApprovalGate {
    private let approvals: Approvals
    private let records: SignedRecords

    public init(approvals: Approvals, records: SignedRecords) {
        self.approvals = approvals
        self.records = records
    }

    public func approval(for permission: Permission, reason: String) async throws -> Approval? {
        switch await approvals.request(permission.rawValue, reason: reason) {
        case .held:
            return .held
        case .refused:
            return nil
        case .approved(let manager):
            let records = records
            return .approved(ApprovalGrant(permission: permission, approverID: manager.approverID) {
                try await records.record($0, approvedBy: manager)
            })
        }
    }
}
