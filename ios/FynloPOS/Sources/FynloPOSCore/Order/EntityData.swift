import Foundation
import FynloSyncCore

/// Reading an entity's `data` as the wire gives it: absent and `null` are the same.
extension Dictionary where Key == String, Value == JSONValue {
    func string(_ key: String) -> String? { self[key]?.stringValue }
    func int(_ key: String) -> Int? { self[key]?.intValue }
    func bool(_ key: String) -> Bool { self[key]?.boolValue ?? false }
    /// A UUID field, lowercased as entity ids are.
    func id(_ key: String) -> String? { string(key)?.lowercased() }
}

extension JSONValue {
    /// `.null` for `nil`, so an optional field is written as null, clearing it.
    static func optional(_ value: Int?) -> JSONValue { value.map(JSONValue.int) ?? .null }
    static func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
}

/// An instant as the server takes it: RFC 3339 in UTC, to the second.
enum WireTime {
    static func string(ms: Int) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
