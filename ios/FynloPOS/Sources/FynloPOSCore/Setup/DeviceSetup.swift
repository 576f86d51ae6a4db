import Foundation
import Observation

/// What enrolment gives this iPad, kept in the Keychain: its identity (the id is its sync
/// clock actor and signs into every offline key; the prefix numbers its orders), where it
/// stands, its tokens, and the device secret that lets it enrol again as itself.
public struct DeviceCredentials: Sendable, Hashable, Codable {
    public var deviceID: String
    public var locationID: String
    /// The location's name as the server had it at enrolment (`nil` if it could not be read).
    public var locationName: String?
    public var prefix: String
    public var accessToken: String
    public var refreshToken: String
    /// Sent only to enrol again (`docs/security.md`, "Enrolling an iPad again").
    public var deviceSecret: String?

    public init(
        deviceID: String, locationID: String, locationName: String?, prefix: String, accessToken: String,
        refreshToken: String, deviceSecret: String?
    ) {
        self.deviceID = deviceID.lowercased()
        self.locationID = locationID.lowercased()
        self.locationName = locationName
        self.prefix = prefix
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.deviceSecret = deviceSecret
    }
}

/// `POST /api/v1/devices/enroll` (FynloPOSHTTP's `HTTPEnrolment`; a fake in tests).
public protocol EnrolmentService: Sendable {
    /// Spends a one-time code from the back office; `name` is how managers will see the iPad.
    func enrol(code: String, name: String) async throws -> DeviceCredentials
    /// Enrols `device` again as itself (its id and device secret with a fresh code): the same
    /// id, prefix and sync progress, new tokens and a new secret.
    func enrolAgain(code: String, as device: DeviceCredentials) async throws -> DeviceCredentials
}

public enum EnrolmentError: Error, Sendable, Hashable {
    case unreachable
    /// The server said no: a spent, expired or mistyped code (its problem code, if any).
    case refused(status: Int, code: String?)
}

/// The set-up screen: enrol with a code once, then the iPad knows itself at every launch.
@MainActor @Observable
public final class DeviceSetup {
    public enum Phase: Sendable, Hashable {
        /// ``load()`` has not run yet.
        case starting
        /// Not enrolled: ask a manager for a code.
        case needsCode
        case enrolling
        case enrolled
        /// The last attempt failed; the words say why, and a new code may be typed.
        case failed(String)
    }

    public static let keychainItem = "fynlo.device"

    public private(set) var phase: Phase = .starting
    public private(set) var credentials: DeviceCredentials?

    /// What the screen shows: where this iPad works.
    public var locationName: String? { credentials.map { $0.locationName ?? "Location \($0.locationID.prefix(8))" } }

    private let keychain: any Keychain
    private let enrolment: any EnrolmentService

    public init(keychain: any Keychain, enrolment: any EnrolmentService) {
        self.keychain = keychain
        self.enrolment = enrolment
    }

    /// At launch: reads what an earlier enrolment kept.
    public func load() async {
        do {
            if let data = try await keychain.read(Self.keychainItem) {
                credentials = try JSONDecoder().decode(DeviceCredentials.self, from: data)
                phase = .enrolled
            } else {
                phase = .needsCode
            }
        } catch {
            phase = .failed("This iPad's enrolment could not be read; enrol it again.")
        }
    }

    /// Enrols with a code typed by a manager and keeps the answer in the Keychain.
    public func enrol(code: String, name: String) async {
        let code = code.trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
        guard !code.isEmpty else {
            phase = .failed("Type the code from the back office.")
            return
        }
        phase = .enrolling
        do {
            let enrolled = try await enrolment.enrol(code: code, name: name)
            try await keychain.write(Self.keychainItem, try JSONEncoder().encode(enrolled))
            credentials = enrolled
            phase = .enrolled
        } catch EnrolmentError.unreachable {
            phase = .failed("The server cannot be reached. Check the network and try again.")
        } catch EnrolmentError.refused {
            phase = .failed("That code was not accepted: it may be mistyped, used or expired. Ask for a new one.")
        } catch {
            phase = .failed("Enrolment failed: \(error)")
        }
    }

    /// When the tokens can no longer be refreshed (the family was revoked, 90 days offline):
    /// a fresh code from a manager brings this iPad back as the same device, so its outbox
    /// and order numbers stay valid (`docs/security.md`, "Enrolling an iPad again").
    public func enrolAgain(code: String) async {
        guard let device = credentials, device.deviceSecret != nil else {
            // Without its secret this install can only become a new device.
            await enrol(code: code, name: "iPad")
            return
        }
        let code = code.trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
        phase = .enrolling
        do {
            let again = try await enrolment.enrolAgain(code: code, as: device)
            guard again.deviceID == device.deviceID else {
                phase = .failed("The server enrolled another device; this iPad keeps its own.")
                return
            }
            try await keychain.write(Self.keychainItem, try JSONEncoder().encode(again))
            credentials = again
            phase = .enrolled
        } catch EnrolmentError.unreachable {
            phase = .failed("The server cannot be reached. Check the network and try again.")
        } catch EnrolmentError.refused {
            phase = .failed(
                "That code did not bring this iPad back: it may be used, expired, for another iPad, or this iPad "
                    + "was revoked (a manager makes a code for this device).")
        } catch {
            phase = .failed("Enrolment failed: \(error)")
        }
    }

    /// Keeps rotated tokens (a refresh spends the old refresh token).
    public func storeTokens(access: String, refresh: String) async throws {
        guard var updated = credentials else { return }
        updated.accessToken = access
        updated.refreshToken = refresh
        try await keychain.write(Self.keychainItem, try JSONEncoder().encode(updated))
        credentials = updated
    }
}
