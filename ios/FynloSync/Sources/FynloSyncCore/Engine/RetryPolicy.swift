/// Capped exponential backoff with jitter, for transient failures only; it never gives up.
///
/// Attempt n waits between half and all of `min(maximum, initial * 2^(n-1))` ("equal
/// jitter"), so iPads that lost the network together do not return together, and never
/// less than the server's `Retry-After`.
public struct RetryPolicy: Sendable, Hashable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration = .seconds(1), maximum: Duration = .seconds(60)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The wait before retry `attempt` (1-based); `unit` is a random number in 0..<1.
    public func delay(attempt: Int, unit: Double, retryAfter: Duration? = nil) -> Duration {
        // 2^30 seconds is decades: past that the cap applies anyway, and Duration cannot overflow.
        let doublings = min(max(attempt - 1, 0), 30)
        let ceiling = min(maximum, initial * (1 << doublings))
        let jittered = ceiling / 2 + (ceiling / 2) * min(max(unit, 0), 1)
        return max(jittered, retryAfter ?? .zero)
    }
}

/// SplitMix64: a small seeded generator, so jitter (and so every backoff) replays in tests.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
