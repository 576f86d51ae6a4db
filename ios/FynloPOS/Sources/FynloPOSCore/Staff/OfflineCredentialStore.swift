import Foundation

/// The offline PIN checks this iPad holds (from `GET /api/v1/employees/offline-credentials`),
/// and the wrong PINs it counts, both in the Keychain: they outlive an app kill, and the
/// verifiers are what a thief would try PINs against (`docs/security.md`).
struct StaffVault {
    static let credentialsItem = "fynlo.staff.offline-credentials"
    static let attemptsItem = "fynlo.staff.pin-attempts"

    struct Credentials: Codable, Sendable, Hashable {
        var fetchedAtMs: Int
        var employees: [OfflineCredential]
    }

    let keychain: any Keychain

    func credentials() async -> Credentials? {
        guard let data = try? await keychain.read(Self.credentialsItem) else { return nil }
        return try? JSONDecoder().decode(Credentials.self, from: data)
    }

    func store(_ credentials: Credentials) async throws {
        try await keychain.write(Self.credentialsItem, try JSONEncoder().encode(credentials))
    }

    func attempts() async -> PinAttempts {
        guard let data = try? await keychain.read(Self.attemptsItem),
            let attempts = try? JSONDecoder().decode(PinAttempts.self, from: data)
        else { return PinAttempts() }
        return attempts
    }

    func store(_ attempts: PinAttempts) async throws {
        try await keychain.write(Self.attemptsItem, try JSONEncoder().encode(attempts))
    }
}
