import Foundation
import FynloPOSCore
import FynloPOSTesting
import Testing

@MainActor
@Suite("device set-up")
struct SetupTests {
    @Test func enrolsOnceAndARelaunchReadsItBack() async throws {
        let keychain = MemoryKeychain()
        let setup = DeviceSetup(keychain: keychain, enrolment: FakeEnrolment(codes: ["K7QM-3XWD"]))
        await setup.load()
        #expect(setup.phase == .needsCode)

        await setup.enrol(code: " k7qm-3xwd\n", name: "Bar iPad")

        #expect(setup.phase == .enrolled)
        #expect(setup.locationName == "Soho")
        #expect(setup.credentials?.prefix == "B")
        #expect(await keychain.names() == [DeviceSetup.keychainItem])
        let relaunched = DeviceSetup(keychain: keychain, enrolment: FakeEnrolment(codes: []))
        await relaunched.load()
        #expect(relaunched.phase == .enrolled)
        #expect(relaunched.credentials == setup.credentials)
    }

    @Test func aSpentCodeOrNoNetworkSaysSoAndKeepsNothing() async throws {
        let keychain = MemoryKeychain()
        let enrolment = FakeEnrolment(codes: ["K7QM-3XWD"])
        let setup = DeviceSetup(keychain: keychain, enrolment: enrolment)
        await setup.enrol(code: "WRONG-CODE", name: "StaffTill")
        guard case .failed(let words) = setup.phase else { Issue.record("not failed: \(setup.phase)"); return }
        #expect(words.contains("not accepted"))
        await enrolment.setOnline(false)
        await setup.enrol(code: "K7QM-3XWD", name: "StaffTill")
        #expect(setup.phase == .failed("The server cannot be reached. Check the network and try again."))
        await setup.enrol(code: "  ", name: "StaffTill")
        #expect(setup.phase == .failed("Type the code from the back office."))
        #expect(await keychain.names().isEmpty)
        #expect(setup.credentials == nil)
    }

    @Test func rotatedTokensAreKept() async throws {
        let keychain = MemoryKeychain()
        let setup = DeviceSetup(keychain: keychain, enrolment: FakeEnrolment(codes: ["K7QM-3XWD"]))
        await setup.enrol(code: "K7QM-3XWD", name: "StaffTill")
        try await setup.storeTokens(access: "access-2", refresh: "refresh-2")
        let relaunched = DeviceSetup(keychain: keychain, enrolment: FakeEnrolment(codes: []))
        await relaunched.load()
        #expect(relaunched.credentials?.refreshToken == "refresh-2")
        #expect(relaunched.credentials?.deviceSecret == "secret-1")
    }
}

@MainActor
@Suite("device set-up: enrolling again")
struct SetupAgainTests {
    @Test func aFreshCodeBringsTheSameDeviceBackWithNewTokensAndSecret() async throws {
        let keychain = MemoryKeychain()
        let enrolment = FakeEnrolment(codes: ["K7QM-3XWD", "P2RT-8NVA"])
        let setup = DeviceSetup(keychain: keychain, enrolment: enrolment)
        await setup.enrol(code: "K7QM-3XWD", name: "Till")
        let first = try #require(setup.credentials)

        await setup.enrolAgain(code: "p2rt-8nva")

        #expect(setup.phase == .enrolled)
        let again = try #require(setup.credentials)
        #expect(again.deviceID == first.deviceID && again.prefix == first.prefix)
        #expect(again.deviceSecret == "secret-2" && again.refreshToken == "refresh-2")
        let relaunched = DeviceSetup(keychain: keychain, enrolment: enrolment)
        await relaunched.load()
        #expect(relaunched.credentials == again)
    }

    @Test func aRefusedCodeKeepsWhatTheIPadHad() async throws {
        let keychain = MemoryKeychain()
        let setup = DeviceSetup(keychain: keychain, enrolment: FakeEnrolment(codes: ["K7QM-3XWD"]))
        await setup.enrol(code: "K7QM-3XWD", name: "Till")
        let first = setup.credentials
        await setup.enrolAgain(code: "USED-CODE")
        guard case .failed(let words) = setup.phase else { Issue.record("\(setup.phase)"); return }
        #expect(words.contains("did not bring this iPad back"))
        #expect(setup.credentials == first)
    }
}
