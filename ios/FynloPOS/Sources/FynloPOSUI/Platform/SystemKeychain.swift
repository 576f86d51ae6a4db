#if canImport(Security)
import Foundation
import FynloPOSCore
import Security

/// The core's ``Keychain`` port over the system Keychain: one generic password per item
/// (`kSecClassGenericPassword`, service + account), readable after the first unlock and
/// never leaving this device (`kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly`: not in
/// backups, not on a restored iPad, which must enrol again). It holds the device's tokens
/// and secret and the offline PIN verifiers (`docs/security.md`).
///
/// Never compiled on this project's Linux CI: a first build on a Mac must check it.
public struct SystemKeychain: Keychain {
    public let service: String

    public init(service: String = "com.fynlo.pos") {
        self.service = service
    }

    public func read(_ item: String) async throws -> Data? {
        var query = base(item)
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        var result: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &result)
        switch status {
        case errSecSuccess: return result as? Data
        case errSecItemNotFound: return nil
        default: throw KeychainError(status: status)
        }
    }

    public func write(_ item: String, _ value: Data) async throws {
        let attributes: [String: Any] = [
            kSecValueData as String: value,
            kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
        ]
        let updated = SecItemUpdate(base(item) as CFDictionary, attributes as CFDictionary)
        if updated == errSecSuccess { return }
        guard updated == errSecItemNotFound else { throw KeychainError(status: updated) }
        let added = SecItemAdd(base(item).merging(attributes) { $1 } as CFDictionary, nil)
        guard added == errSecSuccess else { throw KeychainError(status: added) }
    }

    public func delete(_ item: String) async throws {
        let status = SecItemDelete(base(item) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else { throw KeychainError(status: status) }
    }

    /// One item: this app's service, the item's name as the account. On a Mac the
    /// data-protection keychain (the iOS one), not the login keychain's file.
    private func base(_ item: String) -> [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: item,
            kSecUseDataProtectionKeychain as String: true,
        ]
    }
}

/// A Keychain call failed with this `OSStatus`.
public struct KeychainError: Error, Sendable, Hashable, CustomStringConvertible {
    public let status: OSStatus

    public var description: String {
        (SecCopyErrorMessageString(status, nil) as String?) ?? "Keychain error \(status)"
    }
}
#endif
