@testable import FynloPOSCore
import FynloPOSTesting
import FynloSyncCore
import Testing

@Suite("menu: 86-ing from the iPad")
@MainActor
struct MenuAvailabilityTests {
    @Test func sha1MatchesTheStandard() {
        let hex = { (bytes: [UInt8]) in bytes.map { String(format: "%02x", $0) }.joined() }
        #expect(hex(SHA1.hash([])) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(hex(SHA1.hash(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hex(SHA1.hash([UInt8](repeating: 0x61, count: 1000))) == "291e9a6c66994949b57ba5e650361e98fc36b1ba")
    }

    /// Python: `uuid.uuid5(UUID(location), str(UUID(product)))`, as server/catalog/sync.py.
    @Test func theAvailabilityIdIsTheServersUuid5() {
        let location = "5a0c6a52-7e0a-4f35-9a51-0e3f1c2b4d6e"
        #expect(
            AvailabilityID.of(product: "0b1c2d3e-4f50-4c5e-8f9a-c3a1e6f03b2d", at: location)
                == "622383e2-7fe3-5a53-a442-e9b70d01ee42")
        #expect(
            AvailabilityID.of(product: "C3A1E6F0-3B2D-4C5E-8F9A-0B1C2D3E4F50", at: location)
                == "f7802548-a213-53bb-86dc-275f06d3a6d4")
        #expect(AvailabilityID.of(product: "not a uuid", at: location) == nil)
    }

    @Test func aDishIsEightySixedAndBroughtBack() async throws {
        var venue = VenueFixture()
        let chips = venue.product("Chips", price: 395)
        let ale = venue.product("Ale", price: 575)
        let pie = venue.product("Pie", price: 1400)
        venue.availability(of: ale, remaining: 4)
        let till = await TestTill(venue)
        let menu = till.menu()
        try await menu.reload()

        try await menu.setSoldOut(chips, true)
        try await menu.setSoldOut(ale, true)
        #expect(menu.menu.products[chips]?.availability == .soldOut)
        #expect(menu.menu.products[ale]?.availability == .soldOut)
        let changes = await till.outbox()
        // Chips had no availability yet: created under the id every iPad derives.
        #expect(changes[0].entityID == AvailabilityID.of(product: chips, at: VenueFixture.locationID))
        #expect(changes[0].fields == ["sold_out": true, "product_id": .string(chips)])
        #expect(changes[1].fields == ["sold_out": true])

        try await menu.setSoldOut(ale, false)
        #expect(menu.menu.products[ale]?.availability == .remaining(4))
        let noLocation = MenuModel(records: till.records)
        try await noLocation.reload()
        await #expect(throws: MenuRefusal.unknownLocation) {
            try await noLocation.setSoldOut(pie, true)
        }
    }
}
