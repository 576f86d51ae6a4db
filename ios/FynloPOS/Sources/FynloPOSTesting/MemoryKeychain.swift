import Foundation
import FynloPOSCore

/// A ``Keychain`` in memory, for tests and previews.
public actor MemoryKeychain: Keychain {
    private var items: [String: Data] = [:]

    public init() {}

    public func read(_ item: String) -> Data? { items[item] }
    public func write(_ item: String, _ value: Data) { items[item] = value }
    public func delete(_ item: String) { items[item] = nil }
    public func names() -> [String] { items.keys.sorted() }
}
