import Foundation
import FynloPOSCore

/// The real-time socket (`/api/v1/ws`) over `URLSessionWebSocketTask`.
///
/// Apple platforms only. On Linux, URLSession's WebSocket needs a libcurl built with
/// WebSocket support, which the swift.org toolchains do not ship (swift-corelibs-foundation
/// #4730, #5431; ios/FynloSync notes §2), so there ``connect()`` says the socket is
/// unavailable and ``LiveUpdates`` polls instead. The Darwin branch is never compiled on
/// this project's Linux CI: a first build on a Mac must check it.
public struct LiveWebSocket: LiveSocket {
    private let url: URL

    /// - Parameter baseURL: the server (`https://…`); the socket goes to `wss://…/api/v1/ws`.
    public init(baseURL: URL) {
        var components = URLComponents(url: baseURL.appendingPathComponent("/api/v1/ws"), resolvingAgainstBaseURL: false)
        components?.scheme = baseURL.scheme == "http" ? "ws" : "wss"
        url = components?.url ?? baseURL
    }

    #if canImport(Darwin)
    public func connect() async throws -> any LiveConnection {
        let session = URLSession(configuration: .ephemeral)
        let task = session.webSocketTask(with: url)
        task.resume()
        return WebSocketConnection(task: task, session: session)
    }
    #else
    public func connect() async throws -> any LiveConnection {
        throw LiveSocketError.unavailable("URLSession has no working WebSocket on this platform")
    }
    #endif
}

#if canImport(Darwin)
/// One `URLSessionWebSocketTask`. The task is thread-safe; nothing else here changes.
final class WebSocketConnection: LiveConnection, @unchecked Sendable {
    private let task: URLSessionWebSocketTask
    private let session: URLSession

    init(task: URLSessionWebSocketTask, session: URLSession) {
        self.task = task
        self.session = session
    }

    func send(_ text: String) async throws {
        do {
            try await task.send(.string(text))
        } catch {
            throw closed(error)
        }
    }

    func receive() async throws -> String {
        do {
            switch try await task.receive() {
            case .string(let text): return text
            case .data(let data): return String(decoding: data, as: UTF8.self)
            @unknown default: return ""
            }
        } catch {
            throw closed(error)
        }
    }

    func close(code: Int) async {
        task.cancel(with: URLSessionWebSocketTask.CloseCode(rawValue: code) ?? .normalClosure, reason: nil)
        session.finishTasksAndInvalidate()
    }

    /// The server's close code (4401, 4403, …) when it sent one; else the link was lost.
    private func closed(_ error: any Error) -> LiveSocketClosed {
        let code = task.closeCode == .invalid ? nil : task.closeCode.rawValue
        return LiveSocketClosed(code: code, reason: error.localizedDescription)
    }
}
#endif
