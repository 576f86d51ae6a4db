import Foundation
import FynloSyncCore

/// The iPad's real-time client (docs/realtime.md): one socket to `/api/v1/ws`, kept open.
///
/// - Connecting: opens the socket, sends `auth` with the device token (and the signed-in
///   employee's) as the first frame, and waits for `welcome`; then syncs once, since
///   anything may have changed while it was away.
/// - Listening: answers `ping` with `pong`; a `sync.poke` asks ``Records/syncSoon()``; every
///   message goes to ``events()`` (the payment screens follow `payment.status` there).
/// - Watching: `receive()` can wait for ever on a half-open socket (Wi-Fi gone, a NAT that
///   forgot us), which neither end notices. The server pings every `heartbeat_seconds`
///   (from `welcome`), so a socket silent for two heartbeats and a margin is dead: it is
///   closed and goes the way of any dropped socket (reconnect, then polling).
/// - Losing it: reconnects with exponential backoff and jitter (1 s doubling to 60 s, as
///   the docs ask). After `dropsBeforePolling` failures in a row, or at once where sockets
///   are unavailable (Linux), it also polls: a sync every `pollEvery` while it waits, the
///   interval doubling up to `pollMaximum` while polls fail. A socket is only a hint; the
///   pull is the truth, so a dropped socket costs latency, never data.
/// - Revoked (`device.revoked`, close 4403): stops for good; the iPad must enrol again.
public actor LiveUpdates {
    public enum Mode: Sendable, Hashable {
        case idle
        case connecting(attempt: Int)
        /// The socket is up: messages arrive within milliseconds.
        case live
        /// No socket: syncing every so often instead (the payment screen polls faster).
        case polling(reason: String)
        /// Revoked, or stopped by the app.
        case stopped(reason: String)
    }

    /// The mode in words, for the sync status strip.
    public nonisolated static func words(_ mode: Mode) -> String {
        switch mode {
        case .idle: "Live updates off"
        case .connecting(let attempt): attempt > 1 ? "Reconnecting live updates…" : "Connecting live updates…"
        case .live: "Live updates on"
        case .polling(let reason): "Checking for changes every few seconds (\(reason))"
        case .stopped(let reason): reason
        }
    }

    public struct Configuration: Sendable {
        public var reconnect = RetryPolicy(initial: .seconds(1), maximum: .seconds(60))
        /// Socket failures in a row before polling starts alongside the reconnects.
        public var dropsBeforePolling = 3
        public var pollEvery: Duration = .seconds(10)
        public var pollMaximum: Duration = .seconds(60)
        /// Added to two heartbeats before a silent socket counts as dead (a ping late on a
        /// slow link is not a dead socket).
        public var heartbeatMargin: Duration = .seconds(5)
        /// The heartbeat assumed until `welcome` says the server's (its default, 20 s).
        public var heartbeatBeforeWelcome: Duration = .seconds(20)

        public init() {}
    }

    public typealias Tokens = @Sendable () async -> (device: String?, employee: String?)

    private let socket: any LiveSocket
    private let tokens: Tokens
    private let records: any Records
    private let poll: @Sendable () async -> Bool
    private let configuration: Configuration
    private let sleeper: any Sleeper
    private let watchdog: any Sleeper
    private var jitter: any RandomNumberGenerator & Sendable

    private var mode: Mode = .idle
    private var runner: Task<Void, Never>?
    private var eventObservers: [UUID: AsyncStream<LiveEvent>.Continuation] = [:]
    private var modeObservers: [UUID: AsyncStream<Mode>.Continuation] = [:]
    private var welcomed = false
    /// The socket open now, so ``stop()`` can close it (a pending `receive()` may not end on
    /// cancellation alone).
    private var current: (any LiveConnection)?
    /// The server's heartbeat for the socket open now.
    private var heartbeat: Duration = .seconds(20)
    /// Watchdog ticks since a frame last arrived (see ``watch(_:)``).
    private var silentTicks = 0
    public private(set) var connections = 0
    /// Sockets closed because nothing came for two heartbeats.
    public private(set) var silentSockets = 0
    public private(set) var polls = 0

    /// - Parameters:
    ///   - tokens: the current device token and employee session (read at every connect, so a
    ///     refreshed token is used after a 4401).
    ///   - poll: one sync when polling; true if it reached the server (default:
    ///     ``Records/syncSoon()``, which never waits; the app passes `engine.requestSync()`).
    ///   - sleeper: the waits between reconnects and polls.
    ///   - watchdog: the heartbeat watchdog's ticks, which run alongside a session (default:
    ///     `sleeper`); apart so a test can move them on their own.
    public init(
        socket: any LiveSocket, tokens: @escaping Tokens, records: any Records,
        poll: (@Sendable () async -> Bool)? = nil, configuration: Configuration = Configuration(),
        sleeper: any Sleeper = TaskSleeper(), watchdog: (any Sleeper)? = nil,
        jitter: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()
    ) {
        self.socket = socket
        self.tokens = tokens
        self.records = records
        self.poll = poll ?? { await records.syncSoon(); return true }
        self.configuration = configuration
        self.sleeper = sleeper
        self.watchdog = watchdog ?? sleeper
        self.jitter = jitter
    }

    // MARK: The app's side

    /// Starts the client in the background (once).
    public func start() {
        guard runner == nil else { return }
        runner = Task { await self.run() }
    }

    /// Stops it: the socket is closed, the streams end.
    public func stop() async {
        runner?.cancel()
        await current?.close(code: 1000)
        _ = await runner?.value
        runner = nil
    }

    /// Every message the socket brings, to each subscriber.
    public func events() -> AsyncStream<LiveEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: LiveEvent.self, bufferingPolicy: .bufferingNewest(64))
        let id = UUID()
        eventObservers[id] = continuation
        continuation.onTermination = { _ in Task { await self.removeEventObserver(id) } }
        return stream
    }

    /// The mode now and on every change.
    public func modeUpdates() -> AsyncStream<Mode> {
        let (stream, continuation) = AsyncStream.makeStream(of: Mode.self, bufferingPolicy: .bufferingNewest(16))
        let id = UUID()
        modeObservers[id] = continuation
        continuation.yield(mode)
        continuation.onTermination = { _ in Task { await self.removeModeObserver(id) } }
        return stream
    }

    public func currentMode() -> Mode { mode }

    // MARK: The loop

    /// Runs until cancelled, revoked, or the sleeper gives up (in tests); then ends the streams.
    public func run() async {
        var failures = 0
        var pollDelay = configuration.pollEvery
        defer { finishStreams() }
        while !Task.isCancelled {
            set(.connecting(attempt: failures + 1))
            welcomed = false
            do {
                try await session()
            } catch let closed as LiveSocketClosed where closed.code == 4403 {
                set(.stopped(reason: "This iPad was revoked: enrol it again."))
                return
            } catch LiveSocketError.unavailable(let why) {
                // Never coming: poll for as long as the app runs.
                set(.polling(reason: why))
                while !Task.isCancelled {
                    guard await pollOnce(&pollDelay) else { return }
                }
                break
            } catch is CancellationError {
                break
            } catch {
                // A socket that was up and then dropped starts the count again.
                failures = welcomed ? 1 : failures + 1
            }
            if case .stopped = mode { return }
            if Task.isCancelled { break }
            let wait = configuration.reconnect.delay(
                attempt: max(failures, 1), unit: Double.random(in: 0..<1, using: &jitter))
            if failures >= configuration.dropsBeforePolling {
                set(.polling(reason: "The live connection keeps dropping."))
                // Poll while waiting for the next reconnect.
                var waited = Duration.zero
                while waited < wait {
                    let before = pollDelay
                    guard await pollOnce(&pollDelay) else { return }
                    waited += before
                }
            } else {
                do { try await sleeper.sleep(for: wait) } catch { return }
            }
        }
        set(.stopped(reason: "Stopped."))
    }

    /// One connection, from `auth` to its end (which always throws).
    private func session() async throws {
        let connection = try await socket.connect()
        connections += 1
        current = connection
        heartbeat = configuration.heartbeatBeforeWelcome
        silentTicks = 0
        // The wait for `welcome` is watched too: a socket can die before it.
        let watching = Task { await self.watch(connection) }
        defer {
            watching.cancel()
            current = nil
        }
        do {
            let (device, employee) = await tokens()
            guard let device else { throw LiveSocketError.failed("no device token yet") }
            try await connection.send(LiveFrame.auth(deviceToken: device, employeeToken: employee))
            guard case .welcome(_, _, let seconds)? = LiveEvent(frame: try await receive(connection)) else {
                throw LiveSocketError.failed("the first frame was not welcome")
            }
            if seconds > 0 { heartbeat = .milliseconds(Int(seconds * 1000)) }
            welcomed = true
            set(.live)
            // Whatever happened while the socket was down comes with the pull.
            await records.syncSoon()
            while true {
                try Task.checkCancellation()
                guard let event = LiveEvent(frame: try await receive(connection)) else { continue }
                switch event {
                case .ping:
                    try await connection.send(LiveFrame.pong)
                case .syncPoke:
                    await records.syncSoon()
                case .deviceRevoked:
                    await connection.close(code: 1000)
                    throw LiveSocketClosed(code: 4403, reason: "revoked")
                default:
                    break
                }
                publish(event)
            }
        } catch {
            if !(error is LiveSocketClosed) { await connection.close(code: 1000) }
            throw error
        }
    }

    /// The next frame; any frame, a ping or not, shows the socket is alive.
    private func receive(_ connection: any LiveConnection) async throws -> String {
        let frame = try await connection.receive()
        silentTicks = 0
        return frame
    }

    /// The heartbeat watchdog, for one socket: ticks every quarter heartbeat and closes the
    /// socket once no frame came for two heartbeats and the margin. The tick a frame came in
    /// is not counted as silent (the frame may have come at its very end), so the socket is
    /// closed between that long and a tick more after the last frame: 45 to 50 seconds at
    /// the server's 20-second heartbeat. Closing it ends the pending `receive()` with an
    /// error, and the loop reconnects (and polls if it keeps failing) as for any drop.
    private func watch(_ connection: any LiveConnection) async {
        while true {
            let tick = max(heartbeat / 4, .milliseconds(250))
            do { try await watchdog.sleep(for: tick) } catch { return }
            guard !Task.isCancelled else { return }
            silentTicks += 1
            if tick * (silentTicks - 1) >= heartbeat * 2 + configuration.heartbeatMargin {
                silentSockets += 1
                await connection.close(code: 1000)
                return
            }
        }
    }

    /// Sleeps the poll interval, then syncs; the interval doubles while polls fail.
    private func pollOnce(_ delay: inout Duration) async -> Bool {
        do { try await sleeper.sleep(for: delay) } catch { return false }
        polls += 1
        if await poll() {
            delay = configuration.pollEvery
        } else {
            delay = min(delay * 2, configuration.pollMaximum)
        }
        return !Task.isCancelled
    }

    // MARK: Streams

    private func set(_ next: Mode) {
        guard next != mode else { return }
        mode = next
        for observer in modeObservers.values { observer.yield(next) }
    }

    private func publish(_ event: LiveEvent) {
        for observer in eventObservers.values { observer.yield(event) }
    }

    private func finishStreams() {
        for observer in eventObservers.values { observer.finish() }
        for observer in modeObservers.values { observer.finish() }
        eventObservers = [:]
        modeObservers = [:]
    }

    private func removeEventObserver(_ id: UUID) { eventObservers[id] = nil }
    private func removeModeObserver(_ id: UUID) { modeObservers[id] = nil }
}
