import FynloPOSCore
@testable import FynloPOSHTTP
import FynloPOSTesting
import FynloSyncCore
import FynloSyncTesting
import Testing

/// A server as the device token sees it (docs/security.md): it accepts only the access tokens
/// it issued and has not let run out, and a refresh rotates the pair (the old refresh token is
/// spent). Counts what it was asked.
actor TokenServer {
    private var accepted: Set<String> = ["a1"]
    private var refreshToken = "r1"
    private var issued = 1
    private(set) var refreshes = 0
    /// The bearer of every call, in order.
    private(set) var bearers: [String?] = []
    /// Refuse every refresh (the iPad was revoked).
    var refusesRefresh = false
    /// Answer every call 401 (say, the employee session ran out), whatever the device token.
    var refusesEverything = false

    /// Every access token issued so far runs out.
    func expire() { accepted = [] }
    func refuseRefresh() { refusesRefresh = true }
    func refuseEverything() { refusesEverything = true }

    func answer(_ bearer: String?) -> TransportReply {
        bearers.append(bearer)
        guard !refusesEverything, let bearer, accepted.contains(bearer) else {
            return TransportReply(status: 401, body: ["code": "not_authenticated", "detail": "invalid or expired token"])
        }
        return TransportReply(status: 200, body: ["ok": true])
    }

    func refresh(_ token: String) async throws -> (access: String, refresh: String) {
        refreshes += 1
        if refusesRefresh || token != refreshToken { throw DeviceTokenProblem.refused(status: 401) }
        // The answer takes a while: calls refused meanwhile pile up behind this refresh.
        for _ in 0..<50 { await Task.yield() }
        issued += 1
        accepted.insert("a\(issued)")
        refreshToken = "r\(issued)"
        return ("a\(issued)", "r\(issued)")
    }
}

/// The pairs ``DeviceTokens`` handed to be kept (the Keychain in the app).
actor KeptPairs {
    private(set) var pairs: [String] = []
    var fails = false
    func keep(_ access: String, _ refresh: String) throws {
        if fails { throw KeychainFull() }
        pairs.append("\(access)/\(refresh)")
    }
    func fail() { fails = true }
    struct KeychainFull: Error {}
}

@Suite("refreshing the device token on a 401")
struct RefreshOn401Tests {
    let server = TokenServer()
    let kept = KeptPairs()

    func tokens() -> DeviceTokens {
        let (server, kept) = (server, kept)
        return DeviceTokens(
            access: "a1", refresh: "r1", renew: { try await server.refresh($0) },
            keep: { try await kept.keep($0, $1) })
    }

    /// One call through ``RefreshOn401``: the token read when it is sent, the server's answer.
    func call(_ tokens: DeviceTokens) async throws -> TransportReply {
        let server = server
        return try await RefreshOn401(tokens).send {
            let bearer = await tokens.access()
            return (bearer, await server.answer(bearer))
        }
    }

    @Test func aCallRefusedForAnExpiredTokenRefreshesItOnceAndIsSentAgain() async throws {
        let tokens = tokens()
        #expect(try await call(tokens).status == 200)
        await server.expire()

        #expect(try await call(tokens).status == 200)
        #expect(await server.refreshes == 1)
        #expect(await server.bearers == ["a1", "a1", "a2"])
        #expect(await kept.pairs == ["a2/r2"], "kept before it was used")
        #expect(await tokens.access() == "a2")
        #expect(await tokens.problem == nil)
    }

    @Test func concurrent401sShareOneRefresh() async throws {
        let tokens = tokens()
        await server.expire()
        let answers = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<20 { group.addTask { try await call(tokens).status } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers == Array(repeating: 200, count: 20))
        #expect(await server.refreshes == 1, "one refresh token spent, whatever the timing")
        #expect(await tokens.refreshes == 1)
        #expect(await kept.pairs == ["a2/r2"])
        // Each call sent at most twice: once with the old token, once with the new.
        let bearers = await server.bearers
        #expect(bearers.count <= 40 && bearers.filter { $0 == "a2" }.count == 20)
    }

    @Test func aSecond401IsAnsweredAsItCameAfterOneRefresh() async throws {
        let tokens = tokens()
        await server.refuseEverything()
        let reply = try await call(tokens)
        #expect(reply.status == 401 && reply.body?["code"] == "not_authenticated")
        #expect(await server.bearers == ["a1", "a2"], "sent once more, not again")
        #expect(await server.refreshes == 1)
    }

    @Test func aRefusedRefreshAnswersTheFirst401AndSaysTheIpadMustEnrolAgain() async throws {
        let tokens = tokens()
        await server.expire()
        await server.refuseRefresh()
        let reply = try await call(tokens)
        #expect(reply.status == 401)
        #expect(await server.bearers == ["a1"], "not sent again with no new token")
        #expect(await tokens.problem == .refused(status: 401))
        #expect(await tokens.access() == "a1")
        #expect(await kept.pairs.isEmpty)
        // The next 401 tries again (a refresh that was only lost would work then).
        _ = try await call(tokens)
        #expect(await server.refreshes == 2)
    }

    @Test func aNewPairThatCannotBeKeptIsNotUsed() async throws {
        let tokens = tokens()
        await kept.fail()
        await server.expire()
        #expect(try await call(tokens).status == 401)
        guard case .notKept = await tokens.problem else { Issue.record("\(await tokens.problem as Any)"); return }
        // The old pair stays: its refresh token's next use is a retry the server allows.
        #expect(await tokens.access() == "a1")
    }

    @Test func aCallRefusedWithATokenAlreadyReplacedIsSentAgainWithoutARefresh() async throws {
        let tokens = tokens()
        await server.expire()
        #expect(await tokens.refresh())  // the timer's refresh, while the call was out
        let server = server
        var sent = 0
        let reply = try await RefreshOn401(tokens).send {
            sent += 1
            // The first send still carried the token the timer replaced.
            let bearer = sent == 1 ? "a1" : await tokens.access()
            return (bearer, await server.answer(bearer))
        }
        #expect(reply.status == 200)
        #expect(await server.refreshes == 1)
    }

    @Test func onlyA401ToACallWithADeviceTokenRefreshes() async throws {
        let tokens = tokens()
        let server = server
        for status in [200, 403, 409, 500] {
            let reply = try await RefreshOn401(tokens).send { ("a1", TransportReply(status: status, body: nil)) }
            #expect(reply.status == status)
        }
        // No device token sent (enrolment): nothing to refresh.
        #expect(try await RefreshOn401(tokens).send { (nil, await server.answer(nil)) }.status == 401)
        #expect(await server.refreshes == 0)
        // The PIN check's own 401 is a wrong PIN, not the device token.
        let wrongPin = TransportReply(status: 401, body: ["detail": .string(HTTPStaffAuth.wrongPin)])
        #expect(!HTTPStaffAuth.refusesDeviceToken(wrongPin))
        #expect(HTTPStaffAuth.refusesDeviceToken(TransportReply(status: 401, body: ["detail": "invalid or expired token"])))
        #expect(!HTTPStaffAuth.refusesDeviceToken(TransportReply(status: 403, body: nil)))
    }

    @Test func theSyncTransportSendsAPushAndAPullAgainWithTheNewToken() async throws {
        let tokens = tokens()
        let server = server
        await server.expire()
        let transport = RefreshingTransport(token: { await tokens.access() }, refresh: RefreshOn401(tokens)) { bearer in
            ServerTransport(server: server, bearer: bearer)
        }
        #expect(try await transport.pull(cursor: nil, limit: 10, appVersion: "t").status == 200)
        await server.expire()
        let push = PushRequest(batch: Batch(id: "b1", changes: []), deviceID: "d1", appVersion: "t")
        #expect(try await transport.push(push).status == 200)
        #expect(await server.bearers == ["a1", "a2", "a2", "a3"])
        #expect(await server.refreshes == 2)
    }

    @Test func theTokensAreRefreshedAtLaunchAndEveryTenMinutes() async throws {
        let tokens = tokens()
        let sleeper = ManualSleeper(limit: 2)
        await tokens.start(sleeper: sleeper)
        // Three refreshes: at launch, then after each of the two sleeps the sleeper allows.
        for _ in 0..<10_000 where await tokens.access() != "a4" { await Task.yield() }
        #expect(await server.refreshes == 3)
        #expect(await sleeper.sleeps == [.seconds(600), .seconds(600)])
        #expect(await tokens.access() == "a4")
        await tokens.stop()
    }
}

/// The sync transport for one bearer, answered by the ``TokenServer``.
struct ServerTransport: SyncTransport {
    let server: TokenServer
    let bearer: String?

    func push(_ request: PushRequest) async throws -> TransportReply { await server.answer(bearer) }
    func pull(cursor: String?, limit: Int, appVersion: String) async throws -> TransportReply {
        await server.answer(bearer)
    }
}
