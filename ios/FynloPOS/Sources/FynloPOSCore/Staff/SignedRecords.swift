import FynloSyncCore

// How a change says who made it (read this before recording anything).
//
// There is one way: record through ``SignedRecords``, the ``Records`` the app builds once over
// the synced records and the staff session's ``SigningKeyring``. Every draft it records
// carries the signed-in employee as its `actor` signer; nobody signed in, it goes unsigned
// (the iPad's own rights). A change a manager approved is recorded with
// ``SignedRecords/record(_:approvedBy:)`` and the ``ManagerApproval`` that ``Approvals`` gave;
// nothing else puts signers on a draft. The store makes the proofs when it numbers the change
// (they cover its `seq` and HLC) and keeps them in the outbox, so a change made before its
// employee signed out still proves who made it when it is pushed (FynloSync README, "Signed
// changes"). Keys live only in the keyring, in memory, and are dropped on lock or sign-out.

/// The signed-in employee's key, in memory only. The staff session fills and empties it;
/// ``SignedRecords`` reads it for every change.
public actor SigningKeyring {
    private var signer: ChangeSigner?

    public init() {}

    public func current() -> ChangeSigner? { signer }

    func set(_ signer: ChangeSigner?) { self.signer = signer }
}

/// ``Records`` whose every change is signed by whoever is signed in.
public struct SignedRecords: Records {
    private let base: any Records
    private let keyring: SigningKeyring

    public init(_ base: any Records, keyring: SigningKeyring) {
        self.base = base
        self.keyring = keyring
    }

    public func entity(_ key: EntityKey) async throws -> LocalEntity? { try await base.entity(key) }

    public func entities(ofType entityType: String) async throws -> [EntityKey: LocalEntity] {
        try await base.entities(ofType: entityType)
    }

    /// Records `draft` as made by the signed-in employee (unsigned if nobody is).
    @discardableResult
    public func record(_ draft: ChangeDraft) async throws -> PendingChange {
        var signed = draft
        signed.signers = ChangeSigners(actor: await keyring.current())
        return try await base.record(signed)
    }

    /// Records `draft` as made by the signed-in employee and approved by a manager for one
    /// permission. Refused if nobody is signed in or the approver is the maker: the server
    /// would refuse the change (`approval_unproven`) and the manager's yes would be lost.
    @discardableResult
    public func record(_ draft: ChangeDraft, approvedBy approval: ManagerApproval) async throws -> PendingChange {
        guard let actor = await keyring.current() else { throw ApprovalRefused.nobodySignedIn }
        guard let approver = approval.signer else { throw ApprovalRefused.cannotSign }
        guard actor.employeeID != approver.approverID else { throw ApprovalRefused.bySelf }
        var signed = draft
        signed.signers = ChangeSigners(actor: actor, approval: approver)
        return try await base.record(signed)
    }

    public func syncSoon() async { await base.syncSoon() }
}

/// Why an approval was not used.
public enum ApprovalRefused: Error, Sendable, Hashable {
    case nobodySignedIn
    case bySelf
    /// The approval has no signer (this iPad holds no offline check for the manager).
    case cannotSign
}
