// Linux keeps URLSession in FoundationNetworking (for the QR image, which is not JSON).
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Foundation
import FynloPOSCore
import FynloSyncCore
import FynloSyncHTTP

/// The tokens a till request carries: the iPad's device token (`Authorization: Bearer`)
/// and, while someone is signed in, their employee session (`X-Fynlo-Employee`)
/// (docs/security.md). Read at every call, so a refreshed token is used at once.
public typealias TillTokens = @Sendable () async -> (device: String?, employee: String?)

/// ``PaymentsAPI`` over HTTP (docs/payments.md; server/payments/controllers.py), on
/// FynloSync's ``JSONHTTPClient``. Every mutating call sends the caller's Idempotency-Key. A
/// 401 refusing the device token is refreshed and sent again by `refresh`.
public struct HTTPPaymentsAPI: PaymentsAPI {
    private let client: JSONHTTPClient
    private let tokens: TillTokens
    private let refresh: RefreshOn401
    private let images: URLSession

    public init(client: JSONHTTPClient, tokens: @escaping TillTokens, refresh: RefreshOn401 = .never) {
        self.client = client
        self.tokens = tokens
        self.refresh = refresh
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 20
        images = URLSession(configuration: configuration)
    }

    public func quote(amount: Int) async throws -> PaymentQuote {
        let body = try await call("GET", "/api/v1/payments/quote", query: [("amount", String(amount))])
        return try PaymentQuote(json: body)
    }

    public func create(_ request: PaymentRequest, idempotencyKey: String) async throws -> PaymentView {
        try PaymentView(json: try await call("POST", "/api/v1/payments", body: request.json, key: idempotencyKey))
    }

    public func payment(_ id: String) async throws -> PaymentView {
        try PaymentView(json: try await call("GET", "/api/v1/payments/\(id)"))
    }

    public func cancel(_ id: String, idempotencyKey: String) async throws -> PaymentView {
        try PaymentView(json: try await call("POST", "/api/v1/payments/\(id)/cancel", key: idempotencyKey))
    }

    public func capture(_ id: String, idempotencyKey: String) async throws -> PaymentView {
        try PaymentView(json: try await call("POST", "/api/v1/payments/\(id)/capture", key: idempotencyKey))
    }

    public func collect(
        _ id: String, readerID: String, tipOnReader: Bool, idempotencyKey: String
    ) async throws -> PaymentView {
        let body: JSONValue = ["reader_id": .string(readerID), "tip_on_reader": .bool(tipOnReader)]
        return try PaymentView(
            json: try await call("POST", "/api/v1/payments/\(id)/collect", body: body, key: idempotencyKey))
    }

    public func qrImage(_ id: String, format: QRImageFormat) async throws -> Data {
        let url = client.baseURL.appendingPathComponent("/api/v1/payments/\(id)/qr.\(format.rawValue)")
        typealias Image = (data: Data, status: Int)
        let (data, status) = try await refresh.send(refused: { (image: Image) in image.status == 401 }) {
            var request = URLRequest(url: url)
            let (device, employee) = await tokens()
            if let device { request.setValue("Bearer \(device)", forHTTPHeaderField: "Authorization") }
            if let employee { request.setValue(employee, forHTTPHeaderField: "X-Fynlo-Employee") }
            do {
                let (data, response) = try await images.data(for: request)
                return (device, (data: data, status: (response as? HTTPURLResponse)?.statusCode ?? 0))
            } catch {
                throw PaymentsAPIError.unreachable("QR image: \(error.localizedDescription)")
            }
        }
        guard status == 200 else {
            let problem = try? JSONReader.parse(data)
            throw PaymentsAPIError.refused(
                status: status, code: problem?["code"].stringValue, detail: problem?["detail"].stringValue)
        }
        return data
    }

    public func connectionToken() async throws -> TerminalConnectionToken {
        let body = try await call("POST", "/api/v1/payments/terminal/connection-token")
        guard let secret = body["secret"].stringValue, let location = body["stripe_location"].stringValue else {
            throw PaymentsAPIError.refused(status: 200, code: "malformed_answer", detail: "no secret")
        }
        return TerminalConnectionToken(secret: secret, stripeLocation: location)
    }

    public func offlineCardLimits() async throws -> OfflineCardLimits {
        try OfflineCardLimits(json: try await call("GET", "/api/v1/payments/offline-card-limits"))
    }

    public func refund(
        _ paymentID: String, amount: Int?, reason: String, approval: String?, idempotencyKey: String
    ) async throws -> RefundView {
        var body: [String: JSONValue] = ["reason": .string(reason)]
        if let amount { body["amount"] = .int(amount) }
        let answer = try await call(
            "POST", "/api/v1/payments/\(paymentID)/refunds", body: .object(body), key: idempotencyKey,
            extra: approval.map { ["X-Fynlo-Approval": $0] } ?? [:])
        return try RefundView(json: answer)
    }

    // MARK: Plumbing

    /// One call; a 2xx answer's body, else the server's problem as ``PaymentsAPIError``.
    private func call(
        _ method: String, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil, key: String? = nil,
        extra: [String: String] = [:]
    ) async throws -> JSONValue {
        let reply: TransportReply
        do {
            reply = try await refresh.send {
                let (device, employee) = await tokens()
                var headers = extra
                if let employee { headers["X-Fynlo-Employee"] = employee }
                if let key { headers["Idempotency-Key"] = key }
                return (device, try await client.send(method, path, query: query, body: body, bearer: device, headers: headers))
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // The request or its answer was lost: the caller retries with the same key.
            throw PaymentsAPIError.unreachable("\(method) \(path): \(error)")
        }
        guard (200..<300).contains(reply.status), let answer = reply.body else {
            let problem = Problem(status: reply.status, body: reply.body)
            throw PaymentsAPIError.refused(status: reply.status, code: problem.code, detail: problem.detail)
        }
        return answer
    }
}
