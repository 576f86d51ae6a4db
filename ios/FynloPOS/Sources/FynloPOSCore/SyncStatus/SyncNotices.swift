import Foundation
import FynloSyncCore

/// What the server told this iPad about its own changes that the sync engine handles
/// silently: a change merged with another iPad's (push answer `merged`; the rule is in the
/// manager's conflict log, not the answer, so the words are worked out from what was sent
/// against the state that came back), and a refused change a manager dismissed (pull
/// `dismissed`).
public enum SyncNotice: Sendable, Hashable {
    case merged(sent: PendingChange, result: EntityState?)
    case dismissed(seq: Int, reason: String, at: String)
}

/// Where the notices collect, for the sync status screen to follow.
public actor SyncNoticeLog {
    private var observers: [UUID: AsyncStream<SyncNotice>.Continuation] = [:]
    private var seenMerges: Set<Int> = []
    private var seenDismissals: Set<Int> = []
    public private(set) var notices: [SyncNotice] = []

    public init() {}

    /// Every notice from now on.
    public func updates() -> AsyncStream<SyncNotice> {
        let (stream, continuation) = AsyncStream.makeStream(of: SyncNotice.self, bufferingPolicy: .bufferingNewest(64))
        let id = UUID()
        observers[id] = continuation
        continuation.onTermination = { _ in Task { await self.remove(id) } }
        return stream
    }

    /// Adds a notice once: a resent batch is answered `merged` again, and a lost pull page
    /// tells a dismissal again.
    func add(_ notice: SyncNotice) {
        switch notice {
        case .merged(let sent, _):
            guard seenMerges.insert(sent.seq).inserted else { return }
        case .dismissed(let seq, _, _):
            guard seenDismissals.insert(seq).inserted else { return }
        }
        notices.append(notice)
        for observer in observers.values { observer.yield(notice) }
    }

    private func remove(_ id: UUID) { observers[id] = nil }
}

/// The sync transport with ears: passes every request and answer through unchanged, and
/// notes `merged` outcomes of this iPad's pushes and the `dismissed` list of its pulls in a
/// ``SyncNoticeLog``. The app builds its ``SyncEngine`` on it.
public struct NoticingTransport: SyncTransport {
    private let inner: any SyncTransport
    private let log: SyncNoticeLog

    public init(_ inner: any SyncTransport, log: SyncNoticeLog) {
        self.inner = inner
        self.log = log
    }

    public func push(_ request: PushRequest) async throws -> TransportReply {
        let reply = try await inner.push(request)
        if reply.status == 200, let body = reply.body, let answer = try? PushResponse(json: body) {
            let sent = Dictionary(request.changes.map { ($0.seq, $0) }, uniquingKeysWith: { first, _ in first })
            for result in answer.results where result.outcome == Outcome.merged.rawValue {
                if let change = sent[result.seq] { await log.add(.merged(sent: change, result: result.state)) }
            }
        }
        return reply
    }

    public func pull(cursor: String?, limit: Int, appVersion: String) async throws -> TransportReply {
        let reply = try await inner.pull(cursor: cursor, limit: limit, appVersion: appVersion)
        if reply.status == 200, let dismissed = reply.body?["dismissed"].arrayValue {
            for item in dismissed {
                guard let seq = item["seq"].intValue else { continue }
                await log.add(
                    .dismissed(seq: seq, reason: item["reason"].stringValue ?? "", at: item["at"].stringValue ?? ""))
            }
        }
        return reply
    }
}

/// The sync engine as the status screen sees it (``SyncEngine`` is one).
public protocol SyncMonitor: Sendable {
    func statusUpdates() async -> AsyncStream<SyncStatus>
    func deadLetters() async throws -> [DeadLetter]
    func dismissDeadLetter(seq: Int) async throws
}

extension SyncEngine: SyncMonitor {}
