import FynloSyncCore

/// Wraps a real transport to take the network away and to lose answers: the faults the
/// integration tests inflict on a device talking to the real server.
public actor FlakyTransport: SyncTransport {
    private let inner: any SyncTransport
    public private(set) var online = true
    private var answersToLose = 0
    public private(set) var pushes: [PushRequest] = []
    public private(set) var lostAnswers = 0

    public init(_ inner: any SyncTransport) { self.inner = inner }

    public func setOnline(_ online: Bool) { self.online = online }

    /// The next `count` pushes reach the server, but their answers are lost on the way back.
    public func loseNextPushAnswers(_ count: Int) { answersToLose = count }

    public func push(_ request: PushRequest) async throws -> TransportReply {
        guard online else { throw TransportError.unreachable("offline") }
        pushes.append(request)
        let reply = try await inner.push(request)
        if answersToLose > 0 {
            answersToLose -= 1
            lostAnswers += 1
            throw TransportError.unreachable("the answer was lost")
        }
        return reply
    }

    public func pull(cursor: String?, limit: Int, appVersion: String) async throws -> TransportReply {
        guard online else { throw TransportError.unreachable("offline") }
        return try await inner.pull(cursor: cursor, limit: limit, appVersion: appVersion)
    }
}
