import Foundation

/// The iPad's sync loop: push the outbox in frozen batches, then pull until the server has
/// nothing more, retrying transient failures with backoff for as long as it takes.
///
/// Threading: an actor. Every `await` in it is a point where another caller may run, so
/// state that matters across one (the frozen batch) lives in the store, written before the
/// network call, and is read back after it. Only Sendable values cross in and out.
public actor SyncEngine {
    public struct Configuration: Sendable {
        /// The server-issued device id: this iPad's clock actor and HLC node.
        public var deviceID: String
        public var appVersion: String
        public var batchSize = 100
        public var pullLimit = 500
        /// A pull still going after this many pages is a server bug, not a backlog.
        public var maxPullPages = 10_000
        public var retry = RetryPolicy()

        public init(deviceID: String, appVersion: String) {
            self.deviceID = deviceID.lowercased()
            self.appVersion = appVersion
        }
    }

    private let configuration: Configuration
    private let outbox: any OutboxStore
    private let cursors: any CursorStore
    private let applier: any ChangeApplier
    private let transport: any SyncTransport
    private let clock: any WallClock
    private let sleeper: any Sleeper
    private let ids: any IDSource
    private var jitter: any RandomNumberGenerator & Sendable

    private var running: Task<SyncResult, Never>?
    private var passReadOutbox = false
    private var rerunRequested = false
    private var periodic: Task<Void, Never>?
    private var status = SyncStatus()
    private var observers: [UUID: AsyncStream<SyncStatus>.Continuation] = [:]

    /// - Parameters:
    ///   - outbox, cursors, applier: usually one store (``SyncStore``), so a pulled page and
    ///     the cursor move in one transaction.
    ///   - jitter: randomness for backoff; seed it in tests.
    public init(
        configuration: Configuration,
        outbox: any OutboxStore,
        cursors: any CursorStore,
        applier: any ChangeApplier,
        transport: any SyncTransport,
        clock: any WallClock = SystemWallClock(),
        sleeper: any Sleeper = TaskSleeper(),
        ids: any IDSource = RandomIDs(),
        jitter: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()
    ) {
        self.configuration = configuration
        self.outbox = outbox
        self.cursors = cursors
        self.applier = applier
        self.transport = transport
        self.clock = clock
        self.sleeper = sleeper
        self.ids = ids
        self.jitter = jitter
    }

    public init(
        configuration: Configuration,
        store: any SyncStore,
        transport: any SyncTransport,
        clock: any WallClock = SystemWallClock(),
        sleeper: any Sleeper = TaskSleeper(),
        ids: any IDSource = RandomIDs(),
        jitter: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()
    ) {
        self.init(
            configuration: configuration, outbox: store, cursors: store, applier: store,
            transport: transport, clock: clock, sleeper: sleeper, ids: ids, jitter: jitter)
    }

    // MARK: The app's side

    /// Records a local edit in the outbox (for stores without their own transactional write).
    @discardableResult
    public func record(_ draft: ChangeDraft) async throws -> PendingChange {
        let change = try await outbox.enqueue(draft)
        await refreshCounts()
        return change
    }

    /// Syncs now, or joins the sync already running: a tap, a poke and a timer never push
    /// twice at once. Returns when the outbox is pushed and the pull read to the end, when
    /// the app must act (``SyncResult/blocked(_:)``) or when stopped; transient failures
    /// are retried with backoff in between, without limit.
    @discardableResult
    public func requestSync() async -> SyncResult {
        if let running {
            // The running pass has already read the outbox: changes since need another pass.
            if passReadOutbox { rerunRequested = true }
            return await running.value
        }
        let task = Task { await self.runUntilSettled() }
        running = task
        return await task.value
    }

    /// Syncs every `interval` until ``stop()``; each tick joins a sync already running.
    public func startPeriodicSync(every interval: Duration) {
        periodic?.cancel()
        periodic = Task {
            while !Task.isCancelled {
                do { try await self.sleeper.sleep(for: interval) } catch { return }
                await self.requestSync()
            }
        }
    }

    /// Cancels the running sync and the timer; the outbox and any frozen batch stay as they
    /// are, to be resent by the next sync (of this engine or one opened on the same store).
    public func stop() async {
        periodic?.cancel()
        periodic = nil
        running?.cancel()
        _ = await running?.value
    }

    /// Updates for the UI, starting with the current status.
    public func statusUpdates() -> AsyncStream<SyncStatus> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: SyncStatus.self, bufferingPolicy: .bufferingNewest(32))
        let id = UUID()
        observers[id] = continuation
        continuation.yield(status)
        continuation.onTermination = { _ in Task { await self.removeObserver(id) } }
        return stream
    }

    public func currentStatus() -> SyncStatus { status }

    public func deadLetters() async throws -> [DeadLetter] { try await outbox.deadLetters() }

    public func dismissDeadLetter(seq: Int) async throws {
        try await outbox.dismissDeadLetter(seq: seq)
        await refreshCounts()
    }

    // MARK: The loop

    private func runUntilSettled() async -> SyncResult {
        var attempt = 0
        var reruns = 0
        while true {
            passReadOutbox = false
            rerunRequested = false
            do {
                try Task.checkCancellation()
                try await pass()
                // Bounded: a device typing faster than it syncs is picked up by the next sync.
                if rerunRequested && reruns < 3 {
                    reruns += 1
                    continue
                }
                await refreshCounts()
                update { $0.activity = .idle; $0.lastSyncedAtMs = self.clock.nowMs(); $0.lastError = nil }
                return finish(.synced)
            } catch SyncFailure.blocked(let reason) {
                update { $0.activity = .blocked(reason) }
                return finish(.blocked(reason))
            } catch {
                if Task.isCancelled || error is CancellationError {
                    update { $0.activity = .stopped }
                    return finish(.stopped)
                }
                attempt += 1
                var retryAfter: Duration?
                if case SyncFailure.transient(_, let after) = error { retryAfter = after }
                let delay = configuration.retry.delay(
                    attempt: attempt, unit: Double.random(in: 0..<1, using: &jitter), retryAfter: retryAfter)
                let retryAt = clock.nowMs() + Int(delay.components.seconds * 1000)
                    + Int(delay.components.attoseconds / 1_000_000_000_000_000)
                update {
                    $0.activity = .waiting(retryAtMs: retryAt, attempt: attempt)
                    $0.lastError = "\(error)"
                }
                do {
                    try await sleeper.sleep(for: delay)
                } catch {
                    update { $0.activity = .stopped }
                    return finish(.stopped)
                }
            }
        }
    }

    /// Clears the running task in the same actor turn that decides the result, so a caller
    /// arriving later starts a new sync instead of joining a finished one.
    private func finish(_ result: SyncResult) -> SyncResult {
        running = nil
        return result
    }

    private func pass() async throws {
        try await pushAll()
        try await pullAll()
    }

    // MARK: Push

    private func pushAll() async throws {
        var batchLimit = max(1, configuration.batchSize)
        var gaps = 0
        // Every round acknowledges, dead-letters, shrinks or renumbers, so this ends; the
        // bound only stops a server bug from spinning the loop.
        for _ in 0..<10_000 {
            passReadOutbox = true
            guard let batch = try await outbox.freezeBatch(maxItems: batchLimit, newID: ids.next()) else {
                return
            }
            await refreshCounts()
            update { $0.activity = .pushing }
            let request = PushRequest(batch: batch, deviceID: configuration.deviceID, appVersion: configuration.appVersion)
            let reply = try await exchange { try await self.transport.push(request) }
            let problem = Problem(status: reply.status, body: reply.body)
            switch reply.status {
            case 200:
                try await acknowledge(batch, reply)
            case 409 where problem.code == "sequence_gap":
                guard let expected = problem.expectedSeq, gaps < 3 else {
                    throw SyncFailure.transient("sequence gap without a way forward", nil)
                }
                gaps += 1
                try await outbox.restartSequence(expected: expected)
            case 413:
                if batch.changes.count > 1 {
                    // Refused whole and not applied: smaller batches under new ids are safe.
                    batchLimit = max(1, batch.changes.count / 2)
                    try await outbox.unfreezeBatch(id: batch.id)
                } else {
                    try await outbox.deadLetterBatch(
                        id: batch.id, reason: problem.code ?? "payload_too_large", detail: problem.detail,
                        atMs: clock.nowMs())
                }
            default:
                switch Self.classify(reply, problem) {
                case .failure(let failure):
                    throw failure
                case .permanent:
                    if batch.changes.count > 1 {
                        // One bad change refuses the whole batch: send one at a time to find it.
                        batchLimit = 1
                        try await outbox.unfreezeBatch(id: batch.id)
                    } else {
                        try await outbox.deadLetterBatch(
                            id: batch.id, reason: problem.code ?? "http_\(reply.status)",
                            detail: problem.detail, atMs: clock.nowMs())
                    }
                }
            }
        }
        throw SyncFailure.transient("the outbox did not drain", nil)
    }

    private func acknowledge(_ batch: Batch, _ reply: TransportReply) async throws {
        guard let body = reply.body, let response = try? PushResponse(json: body) else {
            throw SyncFailure.transient("a push answer that is not a PushResponse", nil)
        }
        guard response.batchID == batch.id else {
            throw SyncFailure.transient("the answer names batch \(response.batchID), not \(batch.id)", nil)
        }
        try await applier.applyPushed(response.results)
        let changes = Dictionary(batch.changes.map { ($0.seq, $0) }, uniquingKeysWith: { first, _ in first })
        let now = clock.nowMs()
        let rejected = response.results.filter { $0.outcome == Outcome.rejected.rawValue }.compactMap { result in
            changes[result.seq].map {
                DeadLetter(change: $0, reason: result.reason ?? "rejected", detail: result.detail, atMs: now)
            }
        }
        try await outbox.acknowledge(through: response.lastAppliedSeq, rejected: rejected)
        guard response.lastAppliedSeq >= batch.lastSeq else {
            throw SyncFailure.transient("the server acknowledged only through \(response.lastAppliedSeq)", nil)
        }
    }

    // MARK: Pull

    private func pullAll() async throws {
        var position = try await cursors.pullPosition()
        if position.cursor?.isEmpty ?? true, !position.bootstrapping {
            try await applier.beginBootstrap()
            position = PullPosition(cursor: nil, bootstrapping: true)
        }
        var restarted = false
        var lastApplied: Int?
        for _ in 0..<max(1, configuration.maxPullPages) {
            update { $0.activity = .pulling }
            let cursor = position.cursor
            let reply = try await exchange {
                try await self.transport.pull(
                    cursor: cursor, limit: self.configuration.pullLimit, appVersion: self.configuration.appVersion)
            }
            let problem = Problem(status: reply.status, body: reply.body)
            if reply.status == 410, problem.code == "resync_required", !restarted {
                // Offline longer than deletions are kept: start over from a snapshot.
                restarted = true
                try await applier.beginBootstrap()
                position = PullPosition(cursor: nil, bootstrapping: true)
                continue
            }
            guard reply.status == 200 else {
                switch Self.classify(reply, problem) {
                case .failure(let failure): throw failure
                case .permanent: throw SyncFailure.blocked(.refused(status: reply.status, code: problem.code))
                }
            }
            guard let body = reply.body, let page = try? PullResponse(json: body) else {
                throw SyncFailure.transient("a pull answer that is not a PullResponse", nil)
            }
            try await applier.applyPulled(page)
            position.cursor = page.cursor
            lastApplied = page.lastAppliedSeq
            if !page.hasMore {
                if position.bootstrapping { try await applier.finishBootstrap() }
                if let lastApplied { try await outbox.acknowledge(through: lastApplied, rejected: []) }
                return
            }
        }
        throw SyncFailure.transient("the pull did not end after \(configuration.maxPullPages) pages", nil)
    }

    // MARK: Errors

    private enum Classified {
        case failure(SyncFailure)
        /// This request will never succeed as it is.
        case permanent
    }

    private static func classify(_ reply: TransportReply, _ problem: Problem) -> Classified {
        switch reply.status {
        case 401: return .failure(.blocked(.notAuthenticated))
        case 426: return .failure(.blocked(.upgradeRequired))
        case 403: return .failure(.blocked(.refused(status: 403, code: problem.code)))
        // Timeout, conflict while another request with the key runs, too early, too many.
        case 408, 409, 425, 429, 500...599:
            return .failure(.transient("HTTP \(reply.status) \(problem.code ?? "")", reply.retryAfter))
        case 400...499: return .permanent
        default: return .failure(.transient("unexpected HTTP \(reply.status)", nil))
        }
    }

    /// One request; a lost request or answer is transient, a cancellation stops the loop.
    private func exchange(_ send: @Sendable () async throws -> TransportReply) async throws -> TransportReply {
        do {
            return try await send()
        } catch {
            if Task.isCancelled || error is CancellationError { throw CancellationError() }
            throw SyncFailure.transient("network: \(error)", nil)
        }
    }

    // MARK: Status

    private func update(_ change: (inout SyncStatus) -> Void) {
        var next = status
        change(&next)
        guard next != status else { return }
        status = next
        for observer in observers.values { observer.yield(next) }
    }

    private func refreshCounts() async {
        guard let counts = try? await outbox.outboxCounts() else { return }
        update {
            $0.pendingChanges = counts.pending
            $0.deadLetters = counts.deadLetters
        }
    }

    private func removeObserver(_ id: UUID) { observers[id] = nil }
}

/// Why a sync pass stopped early.
enum SyncFailure: Error, CustomStringConvertible {
    /// Worth retrying later: the network, a 5xx, a 429 (with its `Retry-After`).
    case transient(String, Duration?)
    case blocked(BlockReason)

    var description: String {
        switch self {
        case .transient(let why, _): return why
        case .blocked(let reason): return "blocked: \(reason)"
        }
    }
}
