import Foundation
import FynloSyncCore
import Observation

/// Who is working the till: PIN sign-in (through the server when it answers, against this
/// iPad's offline checks when it does not), the idle lock, switching user, and the wrong
/// PINs counted here and reported when the server is back (`docs/security.md`, "Offline
/// sign-in and approvals" and "PINs").
///
/// The signed-in employee's key (derived from their PIN: ``OfflineProof``) goes into the
/// ``SigningKeyring`` that ``SignedRecords`` signs with, and nowhere else; it is dropped when
/// the iPad locks (2 minutes without a ``touch()``) or they sign out.
@MainActor @Observable
public final class StaffSession {
    public struct Employee: Sendable, Hashable {
        public var id: String
        public var name: String
        public var role: StaffRole
        /// The server's session (`X-Fynlo-Employee`) when the PIN was checked online.
        public var session: EmployeeSession?
        /// Whether this employee's changes are signed (their offline check was on this iPad).
        public var signs: Bool

        public var signedInOnline: Bool { session != nil }
    }

    public enum Outcome: Sendable, Hashable {
        case signedIn
        /// Wrong PIN; `triesLeft` before this iPad has to wait.
        case wrongPin(triesLeft: Int)
        /// This iPad waits before trying that PIN again.
        case waiting(seconds: Int)
        /// Offline, and this iPad holds no check for that employee: they sign in online once.
        case unknownOffline
        case failed(String)
    }

    /// Locks after this long without a ``touch()`` (`docs/security.md`).
    public static let idleLimitMs = 120_000
    /// Offline checks are fetched again after each sign-in and at least this often.
    public static let credentialsMaxAgeMs = 86_400_000

    public private(set) var current: Employee?
    /// Who was signed in when the iPad locked (the lock screen names them).
    public private(set) var lockedEmployee: Employee?
    /// Everyone who can sign in here offline (the PIN pad's names).
    public private(set) var staff: [OfflineCredential] = []
    public private(set) var credentialsFetchedAtMs: Int?
    public private(set) var lastOutcome: Outcome?
    /// Wrong PINs typed offline that the server has not acknowledged yet.
    public private(set) var unreportedFailures = 0

    public let deviceID: String
    let auth: any StaffAuth
    let keyring: SigningKeyring
    let clock: any WallClock
    private let ids: any IDSource
    private let vault: StaffVault
    private(set) var attempts = PinAttempts()
    private var lastActivityMs = 0

    public init(
        deviceID: String, auth: any StaffAuth, keychain: any Keychain, keyring: SigningKeyring,
        clock: any WallClock = SystemWallClock(), ids: any IDSource = RandomIDs()
    ) {
        self.deviceID = deviceID.lowercased()
        self.auth = auth
        self.keyring = keyring
        self.clock = clock
        self.ids = ids
        vault = StaffVault(keychain: keychain)
    }

    /// At launch: the offline checks and wrong-PIN counts kept in the Keychain.
    public func load() async {
        if let kept = await vault.credentials() {
            staff = kept.employees
            credentialsFetchedAtMs = kept.fetchedAtMs
        }
        attempts = await vault.attempts()
        countUnreported()
    }

    // MARK: Signing in and out

    /// Signs `employeeID` in with `pin`: on the server if it answers, else offline.
    @discardableResult
    public func signIn(employeeID: String, pin: String) async -> Outcome {
        let id = employeeID.lowercased()
        if let wait = attempts.waitSeconds(id, nowMs: clock.nowMs()) { return finish(.waiting(seconds: wait)) }
        let session: EmployeeSession
        do {
            session = try await auth.signIn(employeeID: id, pin: pin)
        } catch StaffAuthError.unreachable {
            return await signInOffline(id, pin: pin)
        } catch StaffAuthError.wrongPin {
            return finish(await wrong(id, offline: false))
        } catch StaffAuthError.waiting(let seconds) {
            attempts.serverWait(id, seconds: seconds, nowMs: clock.nowMs())
            await saveAttempts()
            return finish(.waiting(seconds: seconds))
        } catch {
            return finish(.failed("Sign-in failed: \(error)"))
        }
        attempts.succeeded(id)
        await saveAttempts()
        // Fresh checks after each sign-in; then the key this PIN gives here, to sign with.
        await refreshCredentials()
        var key = await key(for: id, pin: pin)
        if key == nil, await refreshCredentials() { key = await self.key(for: id, pin: pin) }
        await begin(
            Employee(id: id, name: session.name, role: session.role, session: session, signs: key != nil), key: key)
        await reportOfflineFailures()
        return finish(.signedIn)
    }

    private func signInOffline(_ id: String, pin: String) async -> Outcome {
        switch await checkOffline(id, pin: pin) {
        case .unknown: return finish(.unknownOffline)
        case .refused(let outcome): return finish(outcome)
        case .right(let credential, let key):
            await begin(Employee(id: id, name: credential.name, role: credential.role, session: nil, signs: true), key: key)
            return finish(.signedIn)
        }
    }

    /// Locks the till: the key is dropped; the lock screen asks the same (or another) PIN.
    public func lock() async {
        guard let current else { return }
        lockedEmployee = current
        self.current = nil
        await keyring.set(nil)
    }

    public func signOut() async {
        current = nil
        lockedEmployee = nil
        await keyring.set(nil)
    }

    /// Another employee takes the till: whoever was signed in is signed out first, whatever
    /// the new PIN's outcome.
    @discardableResult
    public func switchUser(to employeeID: String, pin: String) async -> Outcome {
        await signOut()
        return await signIn(employeeID: employeeID, pin: pin)
    }

    // MARK: The idle lock

    /// Any activity on the till (a tap): the idle lock starts counting again.
    public func touch() { if current != nil { lastActivityMs = clock.nowMs() } }

    /// Locks if nobody has touched the till for ``idleLimitMs``; the app calls it from a
    /// timer (every few seconds) and when it comes to the foreground.
    public func checkIdle() async {
        guard current != nil, clock.nowMs() - lastActivityMs >= Self.idleLimitMs else { return }
        await lock()
    }

    // MARK: Offline checks and reports

    /// Fetches the offline checks now; `false` if the server did not answer (the kept ones stay).
    @discardableResult
    public func refreshCredentials() async -> Bool {
        guard let employees = try? await auth.offlineCredentials() else { return false }
        let fetched = StaffVault.Credentials(fetchedAtMs: clock.nowMs(), employees: employees)
        try? await vault.store(fetched)
        staff = employees
        credentialsFetchedAtMs = fetched.fetchedAtMs
        return true
    }

    /// At launch and from the app's daily timer: fetches the checks if a day old or missing.
    public func refreshCredentialsIfDue() async {
        guard let fetched = credentialsFetchedAtMs, clock.nowMs() - fetched < Self.credentialsMaxAgeMs else {
            await refreshCredentials()
            return
        }
    }

    /// Sends wrong PINs typed offline (call when the server answers again: after a sync, an
    /// online sign-in). The same report is resent until acknowledged; `true` once nothing
    /// waits.
    @discardableResult
    public func reportOfflineFailures() async -> Bool {
        guard let report = attempts.reportToSend(newID: ids.next()) else { return true }
        await saveAttempts()
        do {
            try await auth.reportOfflinePinFailures(report)
        } catch {
            return false
        }
        attempts.reported(report.id)
        await saveAttempts()
        return attempts.frozen == nil && attempts.unreportedEntries.isEmpty
    }

    // MARK: Shared with approvals

    enum OfflineCheck {
        case right(OfflineCredential, SigningKey)
        case refused(Outcome)
        /// No check for that employee here.
        case unknown
    }

    func credential(_ employeeID: String) -> OfflineCredential? {
        staff.first { $0.employeeID == employeeID.lowercased() }
    }

    /// Checks a PIN against this iPad's offline check, counting a wrong one.
    func checkOffline(_ id: String, pin: String) async -> OfflineCheck {
        if let wait = attempts.waitSeconds(id, nowMs: clock.nowMs()) { return .refused(.waiting(seconds: wait)) }
        guard let credential = credential(id) else { return .unknown }
        guard let key = await Self.derive(pin: pin, credential: credential, deviceID: deviceID),
            OfflineProof.verifies(key, verifierHex: credential.verifier)
        else { return .refused(await wrong(id, offline: true)) }
        attempts.succeeded(id)
        await saveAttempts()
        return .right(credential, key)
    }

    /// The key `pin` gives `id` here, if it matches this iPad's check (the PIN was already
    /// checked by the server).
    func key(for id: String, pin: String) async -> SigningKey? {
        guard let credential = credential(id),
            let key = await Self.derive(pin: pin, credential: credential, deviceID: deviceID),
            OfflineProof.verifies(key, verifierHex: credential.verifier)
        else { return nil }
        return key
    }

    func wrong(_ id: String, offline: Bool) async -> Outcome {
        let now = clock.nowMs()
        attempts.failed(id, nowMs: now, offline: offline)
        await saveAttempts()
        if let wait = attempts.waitSeconds(id, nowMs: now) { return .waiting(seconds: wait) }
        return .wrongPin(triesLeft: max(0, PinAttempts.free - attempts.failures(id, nowMs: now)))
    }

    func serverWait(_ id: String, seconds: Int) async {
        attempts.serverWait(id, seconds: seconds, nowMs: clock.nowMs())
        await saveAttempts()
    }

    func succeeded(_ id: String) async {
        attempts.succeeded(id)
        await saveAttempts()
    }

    /// PBKDF2 at the credential's rounds, off the main actor (tens of milliseconds on an iPad).
    nonisolated static func derive(pin: String, credential: OfflineCredential, deviceID: String) async -> SigningKey? {
        guard let salt = Hex.bytes(credential.salt), credential.iterations >= 1 else { return nil }
        let iterations = credential.iterations
        return await Task.detached(priority: .userInitiated) {
            OfflineProof.key(pin: pin, salt: salt, iterations: iterations, deviceID: deviceID)
        }.value
    }

    // MARK: Internals

    private func begin(_ employee: Employee, key: SigningKey?) async {
        current = employee
        lockedEmployee = nil
        lastActivityMs = clock.nowMs()
        await keyring.set(key.map { ChangeSigner(employeeID: employee.id, key: $0) })
    }

    private func finish(_ outcome: Outcome) -> Outcome {
        lastOutcome = outcome
        return outcome
    }

    private func saveAttempts() async {
        try? await vault.store(attempts)
        countUnreported()
    }

    private func countUnreported() {
        unreportedFailures = attempts.unreportedEntries.reduce(0) { $0 + $1.failures }
            + (attempts.frozen?.entries.reduce(0) { $0 + $1.failures } ?? 0)
    }
}
