/// A JSON value that keeps what JSON means: `1`, `1.0` and `true` are three different values.
///
/// The sync protocol compares field values "as canonical JSON" (server/sync/rules.py), and
/// Foundation's decoders blur integers, doubles and booleans, so the wire goes through
/// ``JSONReader`` and ``JSONWriter`` instead. Integers are 64-bit, as the server's counters.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public var isNull: Bool { self == .null }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var intValue: Int? {
        if case .int(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The member `key` of an object, or `.null` when absent (or when this is no object).
    public subscript(key: String) -> JSONValue {
        objectValue?[key] ?? .null
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension JSONValue: CustomStringConvertible {
    public var description: String { JSONWriter.string(self) }
}

/// A wire value that is missing a member or has one of the wrong type.
public struct JSONShapeError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension JSONValue {
    func required(_ key: String) throws -> JSONValue {
        guard let value = objectValue?[key], value != .null else {
            throw JSONShapeError("missing \(key)")
        }
        return value
    }

    func string(_ key: String) throws -> String {
        guard let value = try required(key).stringValue else {
            throw JSONShapeError("\(key) must be a string")
        }
        return value
    }

    func int(_ key: String) throws -> Int {
        guard let value = try required(key).intValue else {
            throw JSONShapeError("\(key) must be an integer")
        }
        return value
    }

    func bool(_ key: String) throws -> Bool {
        guard let value = try required(key).boolValue else {
            throw JSONShapeError("\(key) must be a boolean")
        }
        return value
    }

    func object(_ key: String) throws -> [String: JSONValue] {
        guard let value = try required(key).objectValue else {
            throw JSONShapeError("\(key) must be an object")
        }
        return value
    }

    func array(_ key: String) throws -> [JSONValue] {
        guard let value = try required(key).arrayValue else {
            throw JSONShapeError("\(key) must be an array")
        }
        return value
    }

    func optionalString(_ key: String) -> String? { self[key].stringValue }
}
