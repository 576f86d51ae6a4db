import FynloSyncCore

/// What enrolment gives an iPad: its identity (id = clock actor, prefix = order numbers)
/// and its tokens. Keep it in the Keychain; a re-enrolled iPad is a new device.
public struct DeviceEnrolment: Sendable, Hashable {
    public var deviceID: String
    public var locationID: String
    public var prefix: String
    public var accessToken: String
    public var refreshToken: String
}

/// Refused by the server: its HTTP status and problem code.
public struct ServerRefusal: Error, Sendable, CustomStringConvertible {
    public let status: Int
    public let body: JSONValue?
    // Only the problem code: a body may carry tokens, which must never reach a log.
    public var description: String { "HTTP \(status) \(body?["code"].stringValue ?? "")" }
}

extension JSONHTTPClient {
    /// `POST /api/v1/devices/enroll`: spends a one-time code from the back office.
    public func enrol(code: String, name: String = "iPad") async throws -> DeviceEnrolment {
        let reply = try await send("POST", "/api/v1/devices/enroll", body: ["code": .string(code), "name": .string(name)])
        guard (200..<300).contains(reply.status), let body = reply.body,
            let device = body["device"].objectValue, let id = device["id"]?.stringValue,
            let location = device["location_id"]?.stringValue, let prefix = device["prefix"]?.stringValue,
            let access = body["access_token"].stringValue, let refresh = body["refresh_token"].stringValue
        else { throw ServerRefusal(status: reply.status, body: reply.body) }
        return DeviceEnrolment(
            deviceID: id.lowercased(), locationID: location.lowercased(), prefix: prefix, accessToken: access,
            refreshToken: refresh)
    }

    /// `POST /api/v1/auth/refresh`: a new token pair for a refresh token (rotated once used).
    public func refreshTokens(_ refreshToken: String) async throws -> (access: String, refresh: String) {
        let reply = try await send("POST", "/api/v1/auth/refresh", body: ["refresh_token": .string(refreshToken)])
        guard (200..<300).contains(reply.status), let access = reply.body?["access_token"].stringValue,
            let refresh = reply.body?["refresh_token"].stringValue
        else { throw ServerRefusal(status: reply.status, body: reply.body) }
        return (access, refresh)
    }
}
