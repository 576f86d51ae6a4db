import Foundation
import FynloPOSCore

/// A socket that plays a script, one entry per connect: refuse, say sockets are unavailable
/// here, open a connection that delivers frames and then closes with a code, or one that
/// delivers frames and then goes silent (half-open) until the client closes it or the test
/// ``push(_:)``es more. Records what the client sent on each connection.
public actor FakeLiveSocket: LiveSocket {
    public enum Scripted: Sendable {
        /// `connect()` fails (no network, refused).
        case refuse
        /// Sockets do not work on this platform.
        case unavailable
        /// Opens; delivers `frames`, then ends with `closeCode` (`nil`: the link was lost).
        case open(frames: [String], closeCode: Int?)
        /// Opens; delivers `frames`, then waits: `receive()` returns only what ``push(_:)``
        /// sends, and ends only when the client closes the socket.
        case hold(frames: [String])
    }

    private var script: [Scripted]
    /// Frames the client sent, per connection opened.
    public private(set) var sent: [[String]] = []
    public private(set) var connectAttempts = 0
    private var connections: [FakeLiveConnection] = []

    public init(_ script: [Scripted]) { self.script = script }

    public func add(_ scripted: Scripted...) { script += scripted }

    public func connect() throws -> any LiveConnection {
        connectAttempts += 1
        // An empty script refuses: the test's sleeper limit ends the loop.
        let next = script.isEmpty ? .refuse : script.removeFirst()
        switch next {
        case .refuse: throw LiveSocketError.failed("refused")
        case .unavailable: throw LiveSocketError.unavailable("no WebSocket support here")
        case .open(let frames, let closeCode):
            return opened(FakeLiveConnection(socket: self, index: sent.count, frames: frames, closeCode: closeCode))
        case .hold(let frames):
            return opened(FakeLiveConnection(socket: self, index: sent.count, frames: frames, closeCode: nil, holds: true))
        }
    }

    private func opened(_ connection: FakeLiveConnection) -> FakeLiveConnection {
        sent.append([])
        connections.append(connection)
        return connection
    }

    /// A frame from the server on the connection opened last (a ``Scripted/hold(frames:)`` one).
    public func push(_ frame: String) { connections.last?.deliver(frame) }

    /// Per connection opened: whether the client closed it.
    public var closedByClient: [Bool] { connections.map(\.closedByClient) }

    fileprivate func record(_ text: String, on index: Int) { sent[index].append(text) }

    /// Frames as the server sends them.
    public static let welcome =
        #"{"type":"welcome","channels":["fynlo.r.location.l"],"expires_at":1795700900,"heartbeat_seconds":20.0}"#
    public static func ping(_ ms: Int = 1_795_700_000_000) -> String { #"{"type":"ping","server_time":\#(ms)}"# }
    public static let poke = #"{"type":"sync.poke","restaurant_id":"r","location_id":"l"}"#
    public static let revoked = #"{"type":"device.revoked","restaurant_id":"r","device_id":"d"}"#
    public static func paymentStatus(_ paymentID: String, order: String, state: String, method: String = "open_banking") -> String {
        #"{"type":"payment.status","restaurant_id":"r","location_id":"l","payment_id":"\#(paymentID)","order_id":"\#(order)","method":"\#(method)","state":"\#(state)"}"#
    }
    public static func attention(_ paymentID: String, order: String, why: String) -> String {
        #"{"type":"payment.attention","restaurant_id":"r","location_id":"l","payment_id":"\#(paymentID)","order_id":"\#(order)","why":"\#(why)"}"#
    }
}

final class FakeLiveConnection: LiveConnection, @unchecked Sendable {
    // Only `frames`, `closed`, `clientClosed` and `waiting` change, under the lock.
    private let lock = NSLock()
    private let socket: FakeLiveSocket
    private let index: Int
    private var frames: [String]
    private let closeCode: Int?
    private let holds: Bool
    private var closed = false
    private var clientClosed = false
    /// A `receive()` waiting on a held, silent socket.
    private var waiting: CheckedContinuation<String, any Error>?

    init(socket: FakeLiveSocket, index: Int, frames: [String], closeCode: Int?, holds: Bool = false) {
        self.socket = socket
        self.index = index
        self.frames = frames
        self.closeCode = closeCode
        self.holds = holds
    }

    var closedByClient: Bool { lock.withLock { clientClosed } }

    func send(_ text: String) async throws {
        if lock.withLock({ closed }) { throw LiveSocketClosed(code: closeCode, reason: "closed") }
        await socket.record(text, on: index)
    }

    func receive() async throws -> String {
        await Task.yield()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                lock.withLock {
                    if clientClosed {
                        continuation.resume(throwing: LiveSocketClosed(code: nil, reason: "closed by the client"))
                    } else if !frames.isEmpty {
                        continuation.resume(returning: frames.removeFirst())
                    } else if holds {
                        waiting = continuation
                    } else {
                        closed = true
                        continuation.resume(throwing: LiveSocketClosed(code: closeCode, reason: "the script ended"))
                    }
                }
            }
        } onCancel: {
            Task { await self.close(code: 1000) }
        }
    }

    func deliver(_ frame: String) {
        lock.withLock {
            if let waiting {
                self.waiting = nil
                waiting.resume(returning: frame)
            } else {
                frames.append(frame)
            }
        }
    }

    func close(code: Int) async {
        lock.withLock {
            closed = true
            clientClosed = true
            waiting?.resume(throwing: LiveSocketClosed(code: nil, reason: "closed by the client"))
            waiting = nil
        }
    }
}
