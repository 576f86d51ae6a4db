import Foundation
import FynloPOSCore
import FynloPOSTesting
import FynloSyncCore
import FynloSyncTesting
import Testing

/// Records that only count the syncs asked for (pokes, polls).
actor PokeCountingRecords: Records {
    private(set) var syncs = 0

    func entity(_ key: EntityKey) -> LocalEntity? { nil }
    func entities(ofType entityType: String) -> [EntityKey: LocalEntity] { [:] }
    func record(_ draft: ChangeDraft) throws -> PendingChange {
        throw LiveSocketError.failed("not used")
    }
    func syncSoon() { syncs += 1 }
}

/// Hands out the device token, counting how often it was read (once per connect).
actor TokenBox {
    private(set) var reads = 0
    func tokens() -> (device: String?, employee: String?) {
        reads += 1
        return ("device-token-\(reads)", "employee-token")
    }
}

@Suite("live updates")
struct LiveUpdatesTests {
    private func client(
        _ socket: FakeLiveSocket, records: any Records = PokeCountingRecords(), tokens: TokenBox = TokenBox(),
        sleeper: ManualSleeper, poll: (@Sendable () async -> Bool)? = nil, dropsBeforePolling: Int = 3,
        watchdog: SteppedSleeper = SteppedSleeper()
    ) -> LiveUpdates {
        var configuration = LiveUpdates.Configuration()
        configuration.dropsBeforePolling = dropsBeforePolling
        // The watchdog ticks only when a test steps it: elsewhere a socket never goes silent.
        return LiveUpdates(
            socket: socket, tokens: { await tokens.tokens() }, records: records, poll: poll,
            configuration: configuration, sleeper: sleeper, watchdog: watchdog, jitter: SeededGenerator(seed: 3))
    }

    /// Steps the watchdog `ticks` times, each once it sleeps again (it has seen the last tick).
    private func tick(_ watchdog: SteppedSleeper, _ ticks: Int) async {
        for _ in 0..<ticks {
            #expect(await watchdog.untilSleeping())
            await watchdog.step()
        }
        #expect(await watchdog.untilSleeping())
    }

    private func until(_ condition: @Sendable () async -> Bool) async -> Bool {
        for _ in 0..<10_000 {
            if await condition() { return true }
            await Task.yield()
        }
        return false
    }

    @Test func aSilentSocketIsClosedAfterTwoHeartbeatsAndTheClientReconnects() async throws {
        // Half-open: welcome (heartbeat 20 s), then nothing, and `receive()` never returns.
        let socket = FakeLiveSocket([.hold(frames: [FakeLiveSocket.welcome]), .refuse])
        let watchdog = SteppedSleeper()
        let live = client(socket, sleeper: ManualSleeper(limit: 1), watchdog: watchdog)
        let running = Task { await live.run() }
        #expect(await until { await live.currentMode() == .live })

        // Ticks of 5 s (a quarter heartbeat); the first may have held a frame, so dead once
        // 9 more are silent: 45 s, two heartbeats and the 5 s margin.
        await tick(watchdog, 9)
        #expect(await socket.closedByClient == [false])
        #expect(await socket.connectAttempts == 1)

        await watchdog.step()
        await running.value
        #expect(await socket.closedByClient == [true])
        #expect(await live.silentSockets == 1)
        #expect(await watchdog.slept == Array(repeating: .seconds(5), count: 10))
        // The dropped socket's usual path: a backoff, then a new connection.
        #expect(await socket.connectAttempts == 2)
    }

    @Test func pingsKeepASocketAlive() async throws {
        let socket = FakeLiveSocket([.hold(frames: [FakeLiveSocket.welcome])])
        let watchdog = SteppedSleeper()
        let live = client(socket, sleeper: ManualSleeper(limit: 1), watchdog: watchdog)
        let running = Task { await live.run() }
        #expect(await until { await live.currentMode() == .live })

        // A ping every heartbeat (4 ticks) for 200 s: far past 45 s, never silent that long.
        for round in 1...10 {
            await tick(watchdog, 4)
            await socket.push(FakeLiveSocket.ping())
            #expect(await until { await socket.sent.first?.count == 1 + round })  // auth, then a pong each
        }
        #expect(await socket.closedByClient == [false])
        #expect(await live.silentSockets == 0)
        #expect(await live.currentMode() == .live)

        // Then the pings stop: the socket is closed 45 to 50 s after the last one.
        await tick(watchdog, 9)
        #expect(await socket.closedByClient == [false])
        await watchdog.step()
        await running.value
        #expect(await socket.closedByClient == [true])
        #expect(await socket.connectAttempts == 2)
    }

    @Test func stoppingClosesAnOpenSocket() async throws {
        let socket = FakeLiveSocket([.hold(frames: [FakeLiveSocket.welcome])])
        let live = client(socket, sleeper: ManualSleeper(limit: 5))
        await live.start()
        #expect(await until { await live.currentMode() == .live })
        await live.stop()
        #expect(await socket.closedByClient == [true])
        #expect(await socket.connectAttempts == 1)
    }

    @Test func authGoesInTheFirstFramePingsAreAnsweredAndPokesSync() async throws {
        let socket = FakeLiveSocket([
            .open(frames: [FakeLiveSocket.welcome, FakeLiveSocket.ping(), FakeLiveSocket.poke, FakeLiveSocket.poke], closeCode: 1001)
        ])
        let records = PokeCountingRecords()
        let live = client(socket, records: records, sleeper: ManualSleeper(limit: 1))
        await live.run()

        let sent = try #require(await socket.sent.first)
        #expect(sent.count == 2)
        let auth = try JSONReader.parse(sent[0])
        #expect(auth["type"] == "auth")
        #expect(auth["token"] == "device-token-1")
        #expect(auth["employee_token"] == "employee-token")
        #expect(sent[1] == #"{"type":"pong"}"#)
        #expect(await records.syncs == 3)  // once on welcome (catch up), once per poke
    }

    @Test func aDroppedSocketReconnectsWithBackoffAndAFreshToken() async throws {
        let socket = FakeLiveSocket([.open(frames: [FakeLiveSocket.welcome], closeCode: 1001), .refuse, .refuse])
        let tokens = TokenBox()
        let sleeper = ManualSleeper(limit: 3)
        let live = client(socket, tokens: tokens, sleeper: sleeper, dropsBeforePolling: 10)
        await live.run()

        let sleeps = await sleeper.sleeps
        #expect(sleeps.count == 3)
        // 1 s doubling, with jitter: failure n waits between half and all of 2^(n-1) s.
        #expect(sleeps[0] >= .milliseconds(500) && sleeps[0] <= .seconds(1))
        #expect(sleeps[1] >= .seconds(1) && sleeps[1] <= .seconds(2))
        #expect(sleeps[2] >= .seconds(2) && sleeps[2] <= .seconds(4))
        #expect(await socket.connectAttempts == 4)
        #expect(await tokens.reads == 1)  // read only when a socket opened
        #expect(await live.polls == 0)
    }

    @Test func aSocketThatKeepsDroppingFallsBackToPollingBetweenReconnects() async throws {
        let socket = FakeLiveSocket([])  // every connect refused
        let sleeper = ManualSleeper(limit: 8)
        let records = PokeCountingRecords()
        let live = client(socket, records: records, sleeper: sleeper, dropsBeforePolling: 3)
        let modes = await live.modeUpdates()
        await live.run()

        var seen: [LiveUpdates.Mode] = []
        for await mode in modes { seen.append(mode) }
        #expect(seen.contains(.polling(reason: "The live connection keeps dropping.")))
        #expect(LiveUpdates.words(seen.first { if case .polling = $0 { true } else { false } } ?? .idle).hasPrefix("Checking for changes"))
        #expect(await live.polls >= 2)
        #expect(await records.syncs == (await live.polls))
        // Two reconnect waits before polling, then polls every 10 s between attempts.
        let sleeps = await sleeper.sleeps
        #expect(sleeps.prefix(2).allSatisfy { $0 <= .seconds(2) })
        #expect(sleeps.dropFirst(2).contains(.seconds(10)))
        #expect(await socket.connectAttempts >= 4)  // it keeps trying the socket
    }

    @Test func whereSocketsAreUnavailablePollsBackOffWhileTheyFail() async throws {
        let socket = FakeLiveSocket([.unavailable])
        let sleeper = ManualSleeper(limit: 5)
        let outcomes = PollScript([false, false, true, true])
        let live = client(socket, sleeper: sleeper, poll: { await outcomes.next() })
        await live.run()

        #expect(await sleeper.sleeps == [.seconds(10), .seconds(20), .seconds(40), .seconds(10), .seconds(10)])
        #expect(await socket.connectAttempts == 1)  // never asked again
        #expect(await live.polls == 5)
    }

    @Test func aRevokedIPadStopsForGood() async throws {
        for frames in [[FakeLiveSocket.welcome, FakeLiveSocket.revoked], [FakeLiveSocket.welcome]] {
            let socket = FakeLiveSocket([.open(frames: frames, closeCode: frames.count == 1 ? 4403 : nil)])
            let sleeper = ManualSleeper(limit: 10)
            let live = client(socket, sleeper: sleeper)
            await live.run()
            #expect(await live.currentMode() == .stopped(reason: "This iPad was revoked: enrol it again."))
            #expect(await socket.connectAttempts == 1)
            #expect(await sleeper.sleeps.isEmpty)
        }
    }

    @Test func aFirstFrameThatIsNotWelcomeIsAFailedAttempt() async throws {
        let socket = FakeLiveSocket([.open(frames: [FakeLiveSocket.poke], closeCode: nil)])
        let records = PokeCountingRecords()
        let live = client(socket, records: records, sleeper: ManualSleeper(limit: 1))
        await live.run()
        #expect(await records.syncs == 0)
        #expect(await socket.connectAttempts == 2)
    }

    @Test @MainActor func aPaymentMessageMovesThePaymentScreen() async throws {
        let rig = PaymentRig()
        let model = rig.model()
        await model.payByBank()
        let id = try #require(model.payment?.id)
        await rig.api.execute(id)

        let socket = FakeLiveSocket([
            .open(frames: [
                FakeLiveSocket.welcome,
                FakeLiveSocket.paymentStatus("0000", order: "other", state: "succeeded"),  // another payment: ignored
                FakeLiveSocket.paymentStatus(id, order: PaymentRig.orderID, state: "succeeded"),
            ], closeCode: 1001)
        ])
        let live = client(socket, records: rig.records, sleeper: ManualSleeper(limit: 1))
        let events = await live.events()
        let following = Task { await model.follow(events) }
        await live.run()
        await following.value
        #expect(model.stage == .paid)
        let polled = await rig.api.calls.filter { if case .payment = $0 { return true } else { return false } }
        #expect(polled.count == 1)  // one refresh, for its own payment only
    }

    @Test @MainActor func aLateOutcomeOverTheSocketIsShownInWords() async throws {
        let rig = PaymentRig()
        let model = rig.model()
        await model.payByBank()
        let id = try #require(model.payment?.id)
        await rig.api.approve(id)
        let socket = FakeLiveSocket([
            .open(frames: [FakeLiveSocket.welcome, FakeLiveSocket.attention(id, order: PaymentRig.orderID, why: "not_executing")], closeCode: 1001)
        ])
        let live = client(socket, records: rig.records, sleeper: ManualSleeper(limit: 1))
        let events = await live.events()
        let following = Task { await model.follow(events) }
        await live.run()
        await following.value
        #expect(model.lateNote?.contains("has not been sent") == true)
        #expect(model.stage == .awaitingBank)
    }
}

/// Poll outcomes in order (then true).
actor PollScript {
    private var outcomes: [Bool]
    init(_ outcomes: [Bool]) { self.outcomes = outcomes }
    func next() -> Bool { outcomes.isEmpty ? true : outcomes.removeFirst() }
}
