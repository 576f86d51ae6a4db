import Foundation

/// Offline sign-in and signed changes, as `docs/security.md` ("Offline sign-in and
/// approvals") and `server/auth/offline.py` define them:
///
/// - `seed = PBKDF2-HMAC-SHA256(PIN, salt, iterations)`, 32 bytes (the server stores it);
/// - `key = HMAC-SHA256(seed, "fynlo-offline-key-v1|" + device_id)`: one per employee per iPad;
/// - `verifier = HMAC-SHA256(key, "verify")`: what the iPad holds to check a PIN offline;
/// - `proof = HMAC-SHA256(key, purpose + "\n" + statement)`, purpose `actor` or
///   `approval:<permission>`, over the change's statement (``statement(deviceID:change:)``).
public enum OfflineProof {
    /// The server's PBKDF2 rounds (`server/auth/offline.py` `ITERATIONS`); the offline
    /// credentials carry the count, so a change there reaches the iPad with them.
    public static let iterations = 100_000
    public static let statementVersion = "fynlo-change-v1"
    public static let actorPurpose = "actor"

    public static func approvalPurpose(_ permission: String) -> String { "approval:\(permission)" }

    public static func seed(pin: String, salt: [UInt8], iterations: Int = iterations) -> [UInt8] {
        PBKDF2SHA256.derive(password: Array(pin.utf8), salt: salt, iterations: iterations)
    }

    public static func deviceKey(seed: [UInt8], deviceID: String) -> SigningKey {
        SigningKey(HMACSHA256.authenticate(Array("fynlo-offline-key-v1|\(deviceID.lowercased())".utf8), key: seed))
    }

    /// The key a PIN gives on this iPad (the slow part: PBKDF2).
    public static func key(pin: String, salt: [UInt8], iterations: Int = iterations, deviceID: String) -> SigningKey {
        deviceKey(seed: seed(pin: pin, salt: salt, iterations: iterations), deviceID: deviceID)
    }

    public static func verifier(_ key: SigningKey) -> String {
        Hex.string(HMACSHA256.authenticate(Array("verify".utf8), key: key.bytes))
    }

    /// Whether `key` matches `verifierHex`, compared in constant time.
    public static func verifies(_ key: SigningKey, verifierHex: String) -> Bool {
        guard let expected = Hex.bytes(verifierHex) else { return false }
        return Hex.constantTimeEqual(HMACSHA256.authenticate(Array("verify".utf8), key: key.bytes), expected)
    }

    /// What a proof signs: one change of one iPad exactly as pushed, its fields as canonical
    /// JSON (``JSONWriter``: keys sorted, no spaces, non-ASCII as itself).
    public static func statement(deviceID: String, change: PendingChange) -> String {
        [
            statementVersion, deviceID.lowercased(), String(change.seq), change.entityType,
            change.entityID.lowercased(), change.op.rawValue, change.hlc, JSONWriter.string(.object(change.fields)),
        ].joined(separator: "\n")
    }

    public static func proof(key: SigningKey, purpose: String, statement: String) -> String {
        Hex.string(HMACSHA256.authenticate(Array("\(purpose)\n\(statement)".utf8), key: key.bytes))
    }

    /// `change` with its `actor` and `approval` proofs made by `signers` (none: unsigned).
    public static func signed(_ change: PendingChange, by signers: ChangeSigners, deviceID: String) -> PendingChange {
        var change = change
        change.actor = nil
        change.approval = nil
        guard signers.actor != nil || signers.approval != nil else { return change }
        let signed = statement(deviceID: deviceID, change: change)
        if let actor = signers.actor {
            change.actor = ActorProof(
                employeeID: actor.employeeID, proof: proof(key: actor.key, purpose: actorPurpose, statement: signed))
        }
        if let approval = signers.approval {
            change.approval = ApprovalProof(
                approverID: approval.approverID, permission: approval.permission,
                proof: proof(key: approval.key, purpose: approvalPurpose(approval.permission), statement: signed))
        }
        return change
    }
}

/// An employee's offline key for this iPad: held in memory while they are signed in, never
/// stored, never printed.
public struct SigningKey: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var description: String { "SigningKey(redacted)" }
}

/// Who made a change: the signed-in employee and their key.
public struct ChangeSigner: Sendable, Hashable {
    public var employeeID: String
    public var key: SigningKey

    public init(employeeID: String, key: SigningKey) {
        self.employeeID = employeeID.lowercased()
        self.key = key
    }
}

/// A manager's approval of one change for one permission, with the manager's key.
public struct ApprovalSigner: Sendable, Hashable {
    public var approverID: String
    public var permission: String
    public var key: SigningKey

    public init(approverID: String, permission: String, key: SigningKey) {
        self.approverID = approverID.lowercased()
        self.permission = permission
        self.key = key
    }
}

/// Who signs a draft: the store makes the proofs when it numbers and clocks the change,
/// since the statement covers its `seq` and `hlc`.
public struct ChangeSigners: Sendable, Hashable {
    public var actor: ChangeSigner?
    public var approval: ApprovalSigner?

    public init(actor: ChangeSigner? = nil, approval: ApprovalSigner? = nil) {
        self.actor = actor
        self.approval = approval
    }

    public static let none = ChangeSigners()
}

/// The `actor` member of a pushed change: `{"employee_id", "proof"}`.
public struct ActorProof: Sendable, Hashable {
    public var employeeID: String
    public var proof: String

    public init(employeeID: String, proof: String) {
        self.employeeID = employeeID
        self.proof = proof
    }

    public var json: JSONValue { ["employee_id": .string(employeeID), "proof": .string(proof)] }

    public init(json: JSONValue) throws {
        self.init(employeeID: try json.string("employee_id"), proof: try json.string("proof"))
    }
}

/// The `approval` member of a pushed change: `{"approver_id", "permission", "proof"}`.
public struct ApprovalProof: Sendable, Hashable {
    public var approverID: String
    public var permission: String
    public var proof: String

    public init(approverID: String, permission: String, proof: String) {
        self.approverID = approverID
        self.permission = permission
        self.proof = proof
    }

    public var json: JSONValue {
        ["approver_id": .string(approverID), "permission": .string(permission), "proof": .string(proof)]
    }

    public init(json: JSONValue) throws {
        self.init(
            approverID: try json.string("approver_id"), permission: try json.string("permission"),
            proof: try json.string("proof"))
    }
}
