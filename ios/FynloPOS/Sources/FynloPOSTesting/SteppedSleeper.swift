import FynloSyncCore

/// A sleeper whose sleeps end only when the test says: ``step()`` ends the oldest one. For
/// work that runs alongside other work (the live socket's heartbeat watchdog), where a
/// sleeper that returns at once would race it. Cancelling a sleeping task ends its sleep
/// with `CancellationError`, as `Task.sleep` does.
public actor SteppedSleeper: Sleeper {
    private var sleeping: [(id: Int, duration: Duration, wake: CheckedContinuation<Void, any Error>)] = []
    private var cancelled: Set<Int> = []
    private var nextID = 0
    /// The sleeps ``step()`` ended, in order.
    public private(set) var slept: [Duration] = []

    public init() {}

    public func sleep(for duration: Duration) async throws {
        nextID += 1
        let id = nextID
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (wake: CheckedContinuation<Void, any Error>) in
                // Runs on this actor before the cancellation handler's hop can: a task
                // cancelled already is woken at once.
                if cancelled.contains(id) || Task.isCancelled {
                    wake.resume(throwing: CancellationError())
                } else {
                    sleeping.append((id, duration, wake))
                }
            }
        } onCancel: {
            Task { await self.cancel(id) }
        }
    }

    /// Ends the oldest sleep; false when nothing sleeps.
    @discardableResult
    public func step() -> Bool {
        guard !sleeping.isEmpty else { return false }
        let first = sleeping.removeFirst()
        slept.append(first.duration)
        first.wake.resume()
        return true
    }

    public var pending: Int { sleeping.count }

    /// Waits until something sleeps here (true), or gives up after many turns (false).
    public nonisolated func untilSleeping() async -> Bool {
        for _ in 0..<10_000 {
            if await pending > 0 { return true }
            await Task.yield()
        }
        return false
    }

    private func cancel(_ id: Int) {
        if let index = sleeping.firstIndex(where: { $0.id == id }) {
            sleeping.remove(at: index).wake.resume(throwing: CancellationError())
        } else {
            cancelled.insert(id)
        }
    }
}
