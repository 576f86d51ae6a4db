// Linux keeps URLSession in FoundationNetworking; this target is the only one importing it.
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Foundation
import FynloSyncCore

/// JSON over HTTP with one long-lived session and a timeout on every request (Linux
/// URLSession has no `waitsForConnectivity`: retrying is the engine's job).
public final class JSONHTTPClient: Sendable {
    public let baseURL: URL
    private let session: URLSession
    private let timeout: TimeInterval

    public init(baseURL: URL, timeout: TimeInterval = 30) {
        self.baseURL = baseURL
        self.timeout = timeout
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout * 2
        session = URLSession(configuration: configuration)
    }

    /// One request; the reply's body is decoded as JSON when there is one. Throws
    /// ``TransportError/unreachable(_:)`` when the request or its answer was lost.
    public func send(
        _ method: String, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil,
        bearer: String? = nil, headers: [String: String] = [:]
    ) async throws -> TransportReply {
        guard var components = URLComponents(url: baseURL.appendingPathComponent(path), resolvingAgainstBaseURL: false)
        else { throw TransportError.unreachable("bad path \(path)") }
        if !query.isEmpty { components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
        guard let url = components.url else { throw TransportError.unreachable("bad query for \(path)") }
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = method
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if let bearer { request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = JSONWriter.data(body)
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: request)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw TransportError.unreachable("\(method) \(path): \(error.localizedDescription)")
        }
        guard let http = response as? HTTPURLResponse else {
            throw TransportError.unreachable("\(method) \(path): not an HTTP answer")
        }
        var decoded: JSONValue?
        if !data.isEmpty {
            do {
                decoded = try JSONReader.parse(data)
            } catch {
                throw TransportError.malformedBody(status: http.statusCode)
            }
        }
        let retryAfter = (http.value(forHTTPHeaderField: "Retry-After")).flatMap(Int.init).map { Duration.seconds($0) }
        return TransportReply(status: http.statusCode, body: decoded, retryAfter: retryAfter)
    }
}
