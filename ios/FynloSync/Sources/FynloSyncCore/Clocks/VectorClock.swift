/// An entity's vector clock: actor (a server-issued device id, or `"server"`) to counter.
///
/// Mirrors server/sync/clock.py: a missing actor counts as 0, so zero entries carry no
/// information; ``compare(_:_:)`` ignores them and ``merged(with:)`` drops them.
public struct VectorClock: Sendable, Hashable {
    public private(set) var counters: [String: Int]

    public init(_ counters: [String: Int] = [:]) { self.counters = counters }

    public subscript(actor: String) -> Int { counters[actor] ?? 0 }

    /// How `self` relates to `other` (`.before`: `other` has seen everything `self` has).
    public func compare(_ other: VectorClock) -> ClockOrdering {
        var selfAhead = false
        var otherAhead = false
        for actor in Set(counters.keys).union(other.counters.keys) {
            let mine = self[actor]
            let theirs = other[actor]
            if mine > theirs { selfAhead = true }
            if theirs > mine { otherAhead = true }
        }
        switch (selfAhead, otherAhead) {
        case (true, true): return .concurrent
        case (true, false): return .after
        case (false, true): return .before
        case (false, false): return .equal
        }
    }

    /// The pointwise maximum: the least clock that has seen both. Zero entries are dropped.
    public func merged(with other: VectorClock) -> VectorClock {
        var result: [String: Int] = [:]
        for actor in Set(counters.keys).union(other.counters.keys) {
            let count = max(self[actor], other[actor])
            if count > 0 { result[actor] = count }
        }
        return VectorClock(result)
    }

    /// A copy with `actor`'s counter one higher: a new event by `actor`.
    public func incremented(for actor: String) -> VectorClock {
        var copy = counters
        copy[actor] = self[actor] + 1
        return VectorClock(copy)
    }

    /// Without the entries of retired actors (devices that can never write again).
    public func folded(retired: some Collection<String>) -> VectorClock {
        VectorClock(counters.filter { !retired.contains($0.key) })
    }

    /// Whether every counter is a whole number from 0, as the server requires (else `bad_clock`).
    public var isWellFormed: Bool {
        counters.count <= 256 && counters.allSatisfy { !$0.key.isEmpty && $0.value >= 0 }
    }

    public var json: JSONValue { .object(counters.mapValues { .int($0) }) }

    /// Reads a clock from the wire; counters must be integers.
    public init(json: JSONValue) throws {
        guard let object = json.objectValue else { throw JSONShapeError("a clock must be an object") }
        var counters: [String: Int] = [:]
        for (actor, count) in object {
            guard let value = count.intValue else {
                throw JSONShapeError("the counter for \(actor) must be an integer")
            }
            counters[actor] = value
        }
        self.init(counters)
    }
}

/// How one clock relates to another; spelled as on the wire and in the vectors.
public enum ClockOrdering: String, Sendable {
    case equal, before, after, concurrent
}
