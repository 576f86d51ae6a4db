import Foundation
import FynloSyncCore

/// A wall clock that moves only when told (or when a ``ManualSleeper`` sleeps).
public final class ManualClock: WallClock, @unchecked Sendable {
    // A lock, not an actor: `nowMs()` is synchronous. Only `now` is guarded by it.
    private let lock = NSLock()
    private var now: Int

    public init(nowMs: Int = 1_767_225_600_000) { now = nowMs }

    public func nowMs() -> Int { lock.withLock { now } }

    public func advance(by duration: Duration) {
        let (seconds, attoseconds) = duration.components
        lock.withLock { now += Int(seconds) * 1_000 + Int(attoseconds / 1_000_000_000_000_000) }
    }
}

/// Returns at once, noting each wait and moving a ``ManualClock`` on by it, so backoff tests
/// run instantly. After `limit` waits it throws `CancellationError`: a test loop that
/// would retry forever ends instead.
public actor ManualSleeper: Sleeper {
    public private(set) var sleeps: [Duration] = []
    private let clock: ManualClock?
    private let limit: Int

    public init(clock: ManualClock? = nil, limit: Int = 100) {
        self.clock = clock
        self.limit = limit
    }

    public func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        guard sleeps.count < limit else { throw CancellationError() }
        sleeps.append(duration)
        clock?.advance(by: duration)
        // Let other tasks run, as a real sleep would.
        await Task.yield()
    }
}

/// Batch ids from a seed, so a run replays exactly.
public final class SeededIDs: IDSource, @unchecked Sendable {
    private let lock = NSLock()
    private var generator: SeededGenerator

    public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    public func next() -> String {
        lock.withLock {
            var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
            bytes[6] = (bytes[6] & 0x0F) | 0x40  // version 4
            bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
            let uuid = UUID(uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
            return uuid.uuidString.lowercased()
        }
    }
}
