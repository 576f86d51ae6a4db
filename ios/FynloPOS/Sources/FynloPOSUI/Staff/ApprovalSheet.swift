#if canImport(SwiftUI)
import FynloPOSCore
import SwiftUI

/// The manager's approval sheet for the request ``Approvals/pending`` holds (a void, a big
/// discount, an open price, a refund): a manager picks their name and types their PIN
/// (``Approvals/answer(approverID:pin:)``, offline too); Cancel refuses the change
/// (``Approvals/cancel()``). A wrong PIN leaves the sheet open with ``Approvals/lastOutcome``.
struct ApprovalSheet: View {
    let approvals: Approvals
    let request: ApprovalRequest
    @State private var approver: String?
    @State private var busy = false

    var body: some View {
        VStack(spacing: 20) {
            Text("Manager approval").font(.title.bold())
            Text(request.reason).font(.title3).multilineTextAlignment(.center)
            if approvals.approvers.isEmpty {
                Text("No manager can approve on this iPad yet (their offline check is fetched after they sign in here once).")
                    .foregroundStyle(.secondary)
            }
            HStack(spacing: 12) {
                ForEach(approvals.approvers, id: \.employeeID) { manager in
                    Button(manager.name) { approver = manager.employeeID }
                        .buttonStyle(.bordered)
                        .tint(approver == manager.employeeID ? Color.accentColor : Color.gray)
                        .touchTarget(Till.bigTouch)
                }
            }
            if let outcome = approvals.lastOutcome, !Self.isApproval(outcome) {
                Text(Self.words(outcome)).foregroundStyle(.red).multilineTextAlignment(.center)
            }
            PinPad(busy: busy || approver == nil) { pin in
                guard let approver else { return }
                busy = true
                Task {
                    await approvals.answer(approverID: approver, pin: pin)
                    busy = false
                }
            }
            Button("Cancel", role: .cancel) { approvals.cancel() }
                .touchTarget()
        }
        .padding(32)
        .frame(minWidth: 480)
        .interactiveDismissDisabled(busy)
    }

    static func isApproval(_ outcome: Approvals.Outcome) -> Bool {
        if case .approved = outcome { return true }
        return false
    }

    static func words(_ outcome: Approvals.Outcome) -> String {
        switch outcome {
        case .approved(let approval): "Approved by \(approval.approverName)."
        case .wrongPin(let left): "Wrong PIN. \(left) \(left == 1 ? "try" : "tries") left before a wait."
        case .waiting(let seconds): "Too many wrong PINs: wait \(SyncWords.duration(seconds))."
        case .notAnApprover: "Only a manager or owner can approve this."
        case .bySelf: "Nobody approves their own change: another manager must."
        case .nobodySignedIn: "Nobody is signed in."
        case .unknownOffline: "Offline, and this iPad cannot check that manager's PIN yet."
        case .needsServer: "This approval needs the server, which cannot be reached."
        case .failed(let words): words
        }
    }
}
#endif
