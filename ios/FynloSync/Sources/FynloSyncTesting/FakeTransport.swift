import FynloSyncCore

/// A transport that answers from a script, in call order, and records every request.
/// When the script runs out it asks `fallback` (for instance a ``FakeSyncServer``).
public actor FakeTransport: SyncTransport {
    public enum Request: Sendable, Hashable {
        case push(PushRequest)
        case pull(cursor: String?, limit: Int)
    }

    public enum Scripted: Sendable {
        case reply(TransportReply)
        /// The request or its answer was lost.
        case fail(TransportError)
        /// Never answers: the caller is stuck until its task is cancelled.
        case hang
        /// Waits until the gate opens, then answers as if the script were empty.
        case after(Gate)
    }

    private var script: [Scripted]
    private let fallback: (@Sendable (Request) async throws -> TransportReply)?
    public private(set) var requests: [Request] = []

    public init(
        _ script: [Scripted] = [],
        fallback: (@Sendable (Request) async throws -> TransportReply)? = nil
    ) {
        self.script = script
        self.fallback = fallback
    }

    public func add(_ scripted: Scripted...) { script += scripted }

    public var pushes: [PushRequest] {
        requests.compactMap { if case .push(let request) = $0 { return request } else { return nil } }
    }

    public var pullCount: Int {
        requests.filter { if case .pull = $0 { return true } else { return false } }.count
    }

    public func push(_ request: PushRequest) async throws -> TransportReply {
        try await answer(.push(request))
    }

    public func pull(cursor: String?, limit: Int, appVersion: String) async throws -> TransportReply {
        try await answer(.pull(cursor: cursor, limit: limit))
    }

    private func answer(_ request: Request) async throws -> TransportReply {
        requests.append(request)
        guard !script.isEmpty else {
            guard let fallback else { throw TransportError.unreachable("the fake transport's script ran out") }
            return try await fallback(request)
        }
        switch script.removeFirst() {
        case .reply(let reply): return reply
        case .fail(let error): throw error
        case .after(let gate):
            await gate.wait()
            guard let fallback else { throw TransportError.unreachable("no fallback after the gate") }
            return try await fallback(request)
        case .hang:
            // An hour is "forever" for a test; cancellation ends it at once.
            try await Task.sleep(for: .seconds(3_600))
            throw CancellationError()
        }
    }
}

extension TransportReply {
    public static func ok(_ json: JSONValue) -> TransportReply { TransportReply(status: 200, body: json) }

    /// A problem+json refusal with the server's stable code and extra members.
    public static func problem(_ status: Int, _ code: String, _ extra: [String: JSONValue] = [:], retryAfter: Duration? = nil)
        -> TransportReply
    {
        var body: [String: JSONValue] = ["status": .int(status), "code": .string(code), "detail": .string(code)]
        body.merge(extra) { _, new in new }
        return TransportReply(status: status, body: .object(body), retryAfter: retryAfter)
    }
}

/// Holds callers until opened; lets a test act while a request is in flight.
public actor Gate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init() {}

    public func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    public func open() {
        isOpen = true
        for waiter in waiters { waiter.resume() }
        waiters = []
    }
}
