import Foundation
import FynloPOSCore
import FynloPOSTesting
import FynloSyncCore
import FynloSyncTesting
import Testing

let staffTillID = "8f1d4c2a-2b4e-4f5b-9d1e-3c6a7b8c9d0e"

/// A till with its staff side wired as the app wires it, over fakes.
@MainActor
struct StaffTill {
    let auth = FakeStaffAuth(deviceID: staffTillID)
    let keychain = MemoryKeychain()
    let keyring = SigningKeyring()
    let clock = ManualClock()
    let store = InMemorySyncStore(deviceID: staffTillID)
    let session: StaffSession
    let approvals: Approvals
    let records: SignedRecords

    init() {
        session = StaffSession(
            deviceID: staffTillID, auth: auth, keychain: keychain, keyring: keyring, clock: clock, ids: SeededIDs(seed: 7))
        approvals = Approvals(session: session)
        let engine = SyncEngine(
            configuration: .init(deviceID: staffTillID, appVersion: "test"), store: store, transport: FakeTransport())
        records = SignedRecords(SyncedRecords(reader: store, engine: engine), keyring: keyring)
    }

    /// The same iPad after an app kill: what the Keychain kept, nothing in memory.
    func relaunched() async -> StaffSession {
        let again = StaffSession(deviceID: staffTillID, auth: auth, keychain: keychain, keyring: SigningKeyring(), clock: clock)
        await again.load()
        return again
    }

    /// Signs `person` in online once (which fetches the offline checks), then goes offline.
    func offlineWithChecks(signedInFirst person: FakeStaffAuth.Person = FakeStaffAuth.alex) async {
        #expect(await session.signIn(employeeID: person.id, pin: person.pin) == .signedIn)
        await session.signOut()
        await auth.setOnline(false)
    }
}

@MainActor
@Suite("staff sign-in")
struct StaffSessionTests {
    let alex = FakeStaffAuth.alex
    let maya = FakeStaffAuth.maya

    @Test func onlineSignInHoldsTheKeyAndFetchesTheOfflineChecks() async throws {
        let till = StaffTill()
        #expect(await till.session.signIn(employeeID: alex.id, pin: alex.pin) == .signedIn)
        let current = try #require(till.session.current)
        #expect(current.name == "Alex" && current.role == .cashier && current.signedInOnline && current.signs)
        #expect(await till.keyring.current() == ChangeSigner(employeeID: alex.id, key: till.auth.key(alex)))
        #expect(till.session.staff.map(\.name) == ["Maya", "Alex", "Sam", "Owen"])
        #expect(await till.auth.credentialFetches == 1)
        #expect(await till.keychain.names().contains("fynlo.staff.offline-credentials"))
        #expect((await till.relaunched()).staff == till.session.staff, "the checks outlive an app kill")
    }

    @Test func offlineSignInChecksThePinHereAndSignsWithTheSameKey() async throws {
        let till = StaffTill()
        await till.offlineWithChecks(signedInFirst: maya)
        #expect(await till.session.signIn(employeeID: alex.id, pin: alex.pin) == .signedIn)
        let current = try #require(till.session.current)
        #expect(!current.signedInOnline && current.signs && current.role == .cashier)
        #expect(await till.keyring.current()?.key == till.auth.key(alex))
        #expect(await till.auth.signIns == [maya.id], "offline: the server was not asked")
    }

    @Test func offlineWithoutAnyChecksSaysToSignInOnlineOnce() async {
        let till = StaffTill()
        await till.auth.setOnline(false)
        #expect(await till.session.signIn(employeeID: alex.id, pin: alex.pin) == .unknownOffline)
        #expect(till.session.current == nil)
    }

    @Test func wrongPinsOfflineWaitAsTheServersPolicySays() async throws {
        let till = StaffTill()
        await till.offlineWithChecks()
        for left in [4, 3, 2, 1] {
            #expect(await till.session.signIn(employeeID: alex.id, pin: "000000") == .wrongPin(triesLeft: left))
        }
        #expect(await till.session.signIn(employeeID: alex.id, pin: "000000") == .waiting(seconds: 30))
        // During the wait even the right PIN is refused, and not counted.
        till.clock.advance(by: .seconds(10))
        #expect(await till.session.signIn(employeeID: alex.id, pin: alex.pin) == .waiting(seconds: 20))
        till.clock.advance(by: .seconds(20))
        #expect(await till.session.signIn(employeeID: alex.id, pin: "111111") == .waiting(seconds: 60), "then doubled")
        till.clock.advance(by: .seconds(60))
        #expect(await till.session.signIn(employeeID: alex.id, pin: alex.pin) == .signedIn)
        // A right PIN clears the count.
        await till.session.signOut()
        #expect(await till.session.signIn(employeeID: alex.id, pin: "000000") == .wrongPin(triesLeft: 4))
        // Another employee's count is their own.
        #expect(await till.session.signIn(employeeID: maya.id, pin: maya.pin) == .signedIn)
    }

    @Test func theCountOutlivesAnAppKill() async {
        let till = StaffTill()
        await till.offlineWithChecks()
        for _ in 0..<5 { await till.session.signIn(employeeID: alex.id, pin: "000000") }
        let relaunched = await till.relaunched()
        #expect(await relaunched.signIn(employeeID: alex.id, pin: alex.pin) == .waiting(seconds: 30))
        #expect(relaunched.unreportedFailures == 5)
    }

    @Test func offlineFailuresAreReportedOnReconnectOnceEvenIfTheAnswerIsLost() async throws {
        let till = StaffTill()
        await till.offlineWithChecks()
        let start = till.clock.nowMs()
        for _ in 0..<3 { await till.session.signIn(employeeID: alex.id, pin: "000000") }
        till.clock.advance(by: .seconds(5))
        await till.session.signIn(employeeID: maya.id, pin: "999999")
        #expect(await till.session.signIn(employeeID: maya.id, pin: maya.pin) == .signedIn)
        #expect(!(await till.session.reportOfflineFailures()), "still offline")
        #expect(till.session.unreportedFailures == 4)

        await till.auth.setOnline(true)
        await till.auth.loseNextReportAnswer()
        #expect(!(await till.session.reportOfflineFailures()))
        // Failures made meanwhile wait for the next report; the lost one goes again unchanged.
        await till.auth.setOnline(false)
        await till.session.signIn(employeeID: alex.id, pin: "123987")
        await till.auth.setOnline(true)
        #expect(await till.session.reportOfflineFailures() == false, "the resent one went; one more waits")
        #expect(await till.session.reportOfflineFailures())
        #expect(till.session.unreportedFailures == 0)

        let reports = await till.auth.reports
        #expect(reports.count == 3)
        #expect(reports[0] == reports[1], "same id, same contents")
        #expect(reports[0].entries == [
            .init(employeeID: maya.id, failures: 1, firstAtMs: start + 5000, lastAtMs: start + 5000, cleared: true),
            .init(employeeID: alex.id, failures: 3, firstAtMs: start, lastAtMs: start, cleared: false),
        ].sorted { $0.employeeID < $1.employeeID })
        #expect(reports[2].id != reports[0].id)
        #expect(reports[2].entries.map(\.failures) == [1])
    }

    @Test func onlineWrongPinsAreTheServersToCountButSlowThisIPadToo() async {
        let till = StaffTill()
        #expect(await till.session.signIn(employeeID: alex.id, pin: "000000") == .wrongPin(triesLeft: 4))
        #expect(till.session.unreportedFailures == 0, "the server counted it itself")
        await till.auth.makeWait(seconds: 90)
        #expect(await till.session.signIn(employeeID: alex.id, pin: alex.pin) == .waiting(seconds: 90))
        #expect(await till.session.signIn(employeeID: alex.id, pin: alex.pin) == .waiting(seconds: 90), "not asked again")
        till.clock.advance(by: .seconds(90))
        #expect(await till.session.signIn(employeeID: alex.id, pin: alex.pin) == .signedIn)
    }

    @Test func twoMinutesIdleLocksAndDropsTheKey() async throws {
        let till = StaffTill()
        #expect(await till.session.signIn(employeeID: alex.id, pin: alex.pin) == .signedIn)
        till.clock.advance(by: .seconds(100))
        till.session.touch()
        till.clock.advance(by: .seconds(100))
        await till.session.checkIdle()
        #expect(till.session.current?.id == alex.id, "touched 100 s ago")
        till.clock.advance(by: .seconds(20))
        await till.session.checkIdle()
        #expect(till.session.current == nil)
        #expect(till.session.lockedEmployee?.id == alex.id)
        #expect(await till.keyring.current() == nil)
        #expect(await till.session.signIn(employeeID: alex.id, pin: alex.pin) == .signedIn)
        #expect(till.session.lockedEmployee == nil)
    }

    @Test func switchingUserSignsTheFirstOutWhateverTheSecondPin() async throws {
        let till = StaffTill()
        await till.session.signIn(employeeID: alex.id, pin: alex.pin)
        #expect(await till.session.switchUser(to: maya.id, pin: maya.pin) == .signedIn)
        #expect(till.session.current?.id == maya.id)
        #expect(await till.keyring.current()?.employeeID == maya.id)
        #expect(await till.session.switchUser(to: alex.id, pin: "000000") == .wrongPin(triesLeft: 4))
        #expect(till.session.current == nil && till.session.lockedEmployee == nil)
        #expect(await till.keyring.current() == nil)
    }

    @Test func checksAreFetchedAgainOnlyWhenADayOld() async {
        let till = StaffTill()
        await till.session.refreshCredentialsIfDue()
        #expect(await till.auth.credentialFetches == 1)
        till.clock.advance(by: .seconds(3600))
        await till.session.refreshCredentialsIfDue()
        #expect(await till.auth.credentialFetches == 1)
        till.clock.advance(by: .seconds(86_400))
        await till.session.refreshCredentialsIfDue()
        #expect(await till.auth.credentialFetches == 2)
    }

    @Test func aNewPinChangesTheKeyAndTheChecksFollow() async throws {
        let till = StaffTill()
        await till.session.signIn(employeeID: alex.id, pin: alex.pin)
        await till.session.signOut()
        await till.auth.setPin(alex, to: "615243")
        var changed = alex
        changed.pin = "615243"
        #expect(await till.session.signIn(employeeID: alex.id, pin: "615243") == .signedIn)
        #expect(await till.keyring.current()?.key == till.auth.key(changed))
        await till.session.signOut()
        await till.auth.setOnline(false)
        #expect(await till.session.signIn(employeeID: alex.id, pin: alex.pin) == .wrongPin(triesLeft: 4))
    }
}
