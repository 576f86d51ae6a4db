import FynloPOSCore
import FynloSyncCore
import FynloSyncHTTP

/// ``EnrolmentService`` over HTTP: `POST /api/v1/devices/enroll`, then the location's name
/// (`GET /api/v1/locations/{id}` with the new device token) for the set-up screen.
public struct HTTPEnrolment: EnrolmentService {
    private let client: JSONHTTPClient

    public init(client: JSONHTTPClient) {
        self.client = client
    }

    public func enrol(code: String, name: String) async throws -> DeviceCredentials {
        try await enrol(["code": .string(code), "name": .string(name)])
    }

    public func enrolAgain(code: String, as device: DeviceCredentials) async throws -> DeviceCredentials {
        try await enrol([
            "code": .string(code), "device_id": .string(device.deviceID),
            "device_secret": device.deviceSecret.map(JSONValue.string) ?? .null,
        ])
    }

    private func enrol(_ request: JSONValue) async throws -> DeviceCredentials {
        let reply: TransportReply
        do {
            reply = try await client.send("POST", "/api/v1/devices/enroll", body: request)
        } catch {
            throw EnrolmentError.unreachable
        }
        if reply.status >= 500 { throw EnrolmentError.unreachable }
        guard (200..<300).contains(reply.status), let body = reply.body,
            let deviceID = body["device"]["id"].stringValue, let locationID = body["device"]["location_id"].stringValue,
            let prefix = body["device"]["prefix"].stringValue, let access = body["access_token"].stringValue,
            let refresh = body["refresh_token"].stringValue
        else { throw EnrolmentError.refused(status: reply.status, code: reply.body?["code"].stringValue) }
        // The name is for show: an enrolment without it is still an enrolment.
        let location = try? await client.send("GET", "/api/v1/locations/\(locationID)", bearer: access)
        return DeviceCredentials(
            deviceID: deviceID, locationID: locationID,
            locationName: location?.status == 200 ? location?.body?["name"].stringValue : nil, prefix: prefix,
            accessToken: access, refreshToken: refresh, deviceSecret: body["device_secret"].stringValue)
    }
}
