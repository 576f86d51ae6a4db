import FynloSyncCore

/// A frame from `/api/v1/ws` (docs/realtime.md; `shared/schema/realtime/server-message.json`).
/// A socket message is a hint: the state itself comes from the pull or the REST API.
public enum LiveEvent: Sendable, Hashable {
    /// Authenticated: the channels this socket hears, when its tokens expire (Unix s), and
    /// how often the server pings.
    case welcome(channels: [String], expiresAt: Int, heartbeatSeconds: Double)
    /// Heartbeat: answered with `{"type":"pong"}`.
    case ping(serverTimeMs: Int)
    /// Something changed at the location (`nil`: the whole restaurant): pull now.
    case syncPoke(locationID: String?)
    case orderStatus(orderID: String, status: String)
    /// A payment moved: a QR paid or expired, a card declined, staff cancelled it.
    case paymentStatus(paymentID: String, orderID: String, method: String, state: String)
    /// A payment a manager must decide on (`late_success`, `settlement_stalled`, …).
    case paymentAttention(paymentID: String, orderID: String, why: String)
    /// This iPad was revoked: do not reconnect; enrol again.
    case deviceRevoked
    /// A message this build does not act on (device presence, conflicts for managers, new types).
    case other(type: String)

    /// Reads one text frame; `nil` if it is not a JSON object with a `type`.
    public init?(frame: String) {
        guard let json = try? JSONReader.parse(frame), let type = json["type"].stringValue else { return nil }
        let text = { (key: String) in json[key].stringValue ?? "" }
        switch type {
        case "welcome":
            let heartbeat = json["heartbeat_seconds"].intValue.map(Double.init) ?? {
                if case .double(let value) = json["heartbeat_seconds"] { return value }
                return 20
            }()
            self = .welcome(
                channels: (json["channels"].arrayValue ?? []).compactMap(\.stringValue),
                expiresAt: json["expires_at"].intValue ?? 0, heartbeatSeconds: heartbeat)
        case "ping":
            self = .ping(serverTimeMs: json["server_time"].intValue ?? 0)
        case "sync.poke":
            self = .syncPoke(locationID: json["location_id"].stringValue)
        case "order.status":
            self = .orderStatus(orderID: text("order_id").lowercased(), status: text("status"))
        case "payment.status":
            self = .paymentStatus(
                paymentID: text("payment_id").lowercased(), orderID: text("order_id").lowercased(),
                method: text("method"), state: text("state"))
        case "payment.attention":
            self = .paymentAttention(
                paymentID: text("payment_id").lowercased(), orderID: text("order_id").lowercased(), why: text("why"))
        case "device.revoked":
            self = .deviceRevoked
        default:
            self = .other(type: type)
        }
    }
}

/// The frames the iPad sends (`client-message.json`).
public enum LiveFrame {
    /// The first frame, within 5 seconds of opening: no token ever goes in the URL.
    public static func auth(deviceToken: String, employeeToken: String?) -> String {
        JSONWriter.string([
            "type": "auth", "token": .string(deviceToken),
            "employee_token": employeeToken.map(JSONValue.string) ?? .null,
        ])
    }

    public static let pong = #"{"type":"pong"}"#
}
