/// A hybrid logical clock reading (Kulkarni et al., 2014), ordered by wall time, counter,
/// then node as bytes; mirrors server/sync/clock.py.
///
/// Its text form `"{wall_ms:013d}:{counter:05d}:{node}"` is fixed width, so comparing the
/// strings compares the readings; only that exact spelling parses.
public struct Hlc: Sendable, Hashable, Comparable, CustomStringConvertible {
    public static let maxWallMs = 9_999_999_999_999
    public static let maxCounter = 99_999

    public let wallMs: Int
    public let counter: Int
    public let node: String

    public init(wallMs: Int, counter: Int, node: String) throws {
        guard (0...Self.maxWallMs).contains(wallMs) else { throw HlcError.outOfRange("wall time") }
        guard (0...Self.maxCounter).contains(counter) else { throw HlcError.outOfRange("counter") }
        guard Self.isNode(node.utf8) else { throw HlcError.outOfRange("node") }
        self.wallMs = wallMs
        self.counter = counter
        self.node = node
    }

    /// Parses the fixed-width text form; anything else is refused.
    public init(parsing text: String) throws {
        let bytes = Array(text.utf8)
        // 13 digits, ':', 5 digits, ':', then at least one printable ASCII byte.
        guard bytes.count >= 21, bytes[13] == UInt8(ascii: ":"), bytes[19] == UInt8(ascii: ":"),
            bytes[0..<13].allSatisfy(Self.isDigit), bytes[14..<19].allSatisfy(Self.isDigit),
            Self.isNode(bytes[20...])
        else { throw HlcError.notAnHlc(text) }
        try self.init(
            wallMs: Int(String(decoding: bytes[0..<13], as: UTF8.self))!,
            counter: Int(String(decoding: bytes[14..<19], as: UTF8.self))!,
            node: String(decoding: bytes[20...], as: UTF8.self)
        )
    }

    public var description: String {
        let wall = String(wallMs)
        let count = String(counter)
        return String(repeating: "0", count: 13 - wall.count) + wall + ":"
            + String(repeating: "0", count: 5 - count.count) + count + ":" + node
    }

    public static func < (lhs: Hlc, rhs: Hlc) -> Bool {
        if lhs.wallMs != rhs.wallMs { return lhs.wallMs < rhs.wallMs }
        if lhs.counter != rhs.counter { return lhs.counter < rhs.counter }
        return Array(lhs.node.utf8).lexicographicallyPrecedes(Array(rhs.node.utf8))
    }

    /// The reading for a local event: later than `local` even if the wall clock went back.
    public static func tick(_ local: Hlc?, nowMs: Int, node: String) throws -> Hlc {
        guard let local, nowMs <= local.wallMs else {
            return try Hlc(wallMs: nowMs, counter: 0, node: node)
        }
        return try Hlc(wallMs: local.wallMs, counter: local.counter + 1, node: node)
    }

    /// The reading after seeing `remote`: later than both it and `local` (the receive rule).
    public static func receive(_ local: Hlc?, remote: Hlc, nowMs: Int, node: String) throws -> Hlc {
        let localWall = local?.wallMs ?? -1
        let localCounter = local?.counter ?? -1
        let wall = max(localWall, remote.wallMs, nowMs)
        let counter: Int
        if wall == localWall && wall == remote.wallMs {
            counter = max(localCounter, remote.counter) + 1
        } else if wall == localWall {
            counter = localCounter + 1
        } else if wall == remote.wallMs {
            counter = remote.counter + 1
        } else {
            counter = 0
        }
        return try Hlc(wallMs: wall, counter: counter, node: node)
    }

    /// Clamps a reading more than `maxDriftMs` ahead of `nowMs` (the server does this to
    /// pushed readings); returns the reading to keep and whether it was clamped.
    public func boundingDrift(nowMs: Int, maxDriftMs: Int = 60_000) throws -> (Hlc, Bool) {
        let ceiling = nowMs + maxDriftMs
        guard wallMs > ceiling else { return (self, false) }
        return (try Hlc(wallMs: ceiling, counter: counter, node: node), true)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// Printable ASCII without spaces, so text order is byte order in every language.
    private static func isNode(_ bytes: some Collection<UInt8>) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy { (0x21...0x7E).contains($0) }
    }
}

public enum HlcError: Error, Equatable, Sendable {
    case notAnHlc(String)
    case outOfRange(String)
}
