import Foundation

/// Where secrets live: the device's tokens and the offline PIN verifiers. The Keychain on
/// the iPad (kSecClassGenericPassword, this device only, after first unlock); a dictionary
/// in tests.
public protocol Keychain: Sendable {
    func read(_ item: String) async throws -> Data?
    func write(_ item: String, _ value: Data) async throws
    func delete(_ item: String) async throws
}
