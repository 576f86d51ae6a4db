/// The real-time socket behind a port: `URLSessionWebSocketTask` to `/api/v1/ws` on Apple
/// platforms (FynloPOSHTTP, `LiveWebSocket`); a scripted fake in tests. Linux has no working
/// WebSocket in URLSession (ios/FynloSync notes: swift-corelibs-foundation #4730, #5431), so
/// there ``connect()`` throws ``LiveSocketError/unavailable(_:)`` and ``LiveUpdates`` polls.
public protocol LiveSocket: Sendable {
    /// Opens a socket (no token in the URL: the first frame carries it).
    func connect() async throws -> any LiveConnection
}

/// One open socket.
public protocol LiveConnection: Sendable {
    func send(_ text: String) async throws
    /// The next text frame. Throws ``LiveSocketClosed`` when the socket ends.
    func receive() async throws -> String
    func close(code: Int) async
}

/// The socket ended: the close code the server sent (docs/realtime.md, "How a socket
/// ends"), or `nil` when the connection was lost without one.
public struct LiveSocketClosed: Error, Sendable, Hashable {
    public var code: Int?
    public var reason: String

    public init(code: Int?, reason: String = "") {
        self.code = code
        self.reason = reason
    }
}

public enum LiveSocketError: Error, Sendable, Hashable {
    /// Sockets do not work here at all (Linux's URLSession): poll instead, for good.
    case unavailable(String)
    /// This attempt failed (no network, refused, a bad first frame); try again later.
    case failed(String)
}
