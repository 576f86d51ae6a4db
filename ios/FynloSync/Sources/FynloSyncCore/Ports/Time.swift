import Foundation

/// The wall clock, in milliseconds since the Unix epoch (named so as not to shadow the
/// standard library's `Clock`). Injected, so tests control HLC readings and backoff.
public protocol WallClock: Sendable {
    func nowMs() -> Int
}

public struct SystemWallClock: WallClock {
    public init() {}
    public func nowMs() -> Int { Int((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}

/// Waiting between retries. Injected, so backoff tests run instantly.
public protocol Sleeper: Sendable {
    /// Throws `CancellationError` when the waiting task is cancelled.
    func sleep(for duration: Duration) async throws
}

public struct TaskSleeper: Sleeper {
    public init() {}
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

/// Where batch ids come from (seeded in tests, so runs replay).
public protocol IDSource: Sendable {
    func next() -> String
}

public struct RandomIDs: IDSource {
    public init() {}
    public func next() -> String { UUID().uuidString.lowercased() }
}
