import Foundation
import FynloPOSCore

/// A socket that plays a script, one entry per connect: refuse, say sockets are unavailable
/// here, or open a connection that delivers frames and then closes with a code. Records
/// what the client sent on each connection.
public actor FakeLiveSocket: LiveSocket {
    public enum Scripted: Sendable {
        /// `connect()` fails (no network, refused).
        case refuse
        /// Sockets do not work on this platform.
        case unavailable
        /// Opens; delivers `frames`, then ends with `closeCode` (`nil`: the link was lost).
        case open(frames: [String], closeCode: Int?)
    }

    private var script: [Scripted]
    /// Frames the client sent, per connection opened.
    public private(set) var sent: [[String]] = []
    public private(set) var connectAttempts = 0

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
            let index = sent.count
            sent.append([])
            return FakeLiveConnection(socket: self, index: index, frames: frames, closeCode: closeCode)
        }
    }

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
    // Only `frames` and `closed` change, under the lock.
    private let lock = NSLock()
    private let socket: FakeLiveSocket
    private let index: Int
    private var frames: [String]
    private let closeCode: Int?
    private var closed = false

    init(socket: FakeLiveSocket, index: Int, frames: [String], closeCode: Int?) {
        self.socket = socket
        self.index = index
        self.frames = frames
        self.closeCode = closeCode
    }

    func send(_ text: String) async throws {
        if lock.withLock({ closed }) { throw LiveSocketClosed(code: closeCode, reason: "closed") }
        await socket.record(text, on: index)
    }

    func receive() async throws -> String {
        await Task.yield()
        let next: String? = lock.withLock { frames.isEmpty ? nil : frames.removeFirst() }
        guard let next else {
            lock.withLock { closed = true }
            throw LiveSocketClosed(code: closeCode, reason: "the script ended")
        }
        return next
    }

    func close(code: Int) async { lock.withLock { closed = true } }
}
