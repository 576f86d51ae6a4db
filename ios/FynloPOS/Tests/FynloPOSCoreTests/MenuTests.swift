import FynloPOSCore
import FynloPOSTesting
import FynloSyncCore
import Testing

/// A small menu: burgers with a required cooking (one of three) and up to two paid extras;
/// drinks, one 86'd and one counted down to its last two portions.
struct MenuVenue {
    var venue = VenueFixture()
    let mains: String, drinks: String
    let burger: String, cooking: String, rare: String, medium: String, wellDone: String
    let extras: String, cheese: String, bacon: String, egg: String
    let cola: String, lemonade: String, specialAle: String, oldDish: String

    init() {
        drinks = venue.category("Drinks", position: 2)
        mains = venue.category("Mains", position: 1)
        cooking = venue.group("Cooking", min: 1, max: 1)
        rare = venue.modifier("Rare", in: cooking, position: 1)
        medium = venue.modifier("Medium", in: cooking, position: 2)
        wellDone = venue.modifier("Well done", in: cooking, position: 3)
        extras = venue.group("Extras", min: 0, max: 2)
        cheese = venue.modifier("Cheese", in: extras, delta: 100, position: 1)
        bacon = venue.modifier("Bacon", in: extras, delta: 150, position: 2)
        egg = venue.modifier("Egg", in: extras, delta: 120, position: 3)
        burger = venue.product("Burger", price: 1250, category: mains, groups: [cooking, extras])
        oldDish = venue.product("Last season's special", price: 900, category: mains, archived: true)
        cola = venue.product("Cola", price: 325, category: drinks, position: 1)
        lemonade = venue.product("Lemonade", price: 350, category: drinks, position: 2)
        specialAle = venue.product("Special ale", price: 575, category: drinks, position: 3)
        venue.availability(of: lemonade, soldOut: true)
        venue.availability(of: specialAle, remaining: 2)
    }
}

@Suite("menu")
@MainActor
struct MenuTests {
    @Test func categoriesAndDishesReadAsTheBackOfficePublishedThem() async throws {
        let fixture = MenuVenue()
        let menu = await TestTill(fixture.venue).menu()
        try await menu.reload()

        #expect(menu.categories.map(\.name) == ["Mains", "Drinks"])
        #expect(menu.selectedCategoryID == fixture.mains)
        #expect(menu.products.map(\.name) == ["Burger"])  // the archived dish is not shown
        menu.select(category: fixture.drinks)
        #expect(menu.products.map(\.name) == ["Cola", "Lemonade", "Special ale"])
        let burger = try #require(menu.menu.products[fixture.burger])
        let groups = menu.menu.groups(of: burger)
        #expect(groups.map(\.name) == ["Cooking", "Extras"])
        #expect(groups[0].isRequired && groups[0].isSingleChoice)
        #expect(!groups[1].isRequired && groups[1].maxChoices == 2)
        #expect(groups[0].modifiers.map(\.name) == ["Rare", "Medium", "Well done"])
    }

    @Test func eightySixedDishesAreShownUnavailableAndRefused() async throws {
        let fixture = MenuVenue()
        let menu = await TestTill(fixture.venue).menu()
        try await menu.reload()
        menu.select(category: fixture.drinks)
        let byName = Dictionary(uniqueKeysWithValues: menu.products.map { ($0.name, $0.availability) })

        #expect(byName == ["Cola": .available, "Lemonade": .soldOut, "Special ale": .remaining(2)])
        menu.choose(try #require(menu.menu.products[fixture.lemonade]))
        #expect(menu.choice == nil)
        #expect(menu.refusal == .soldOut(product: "Lemonade"))
        menu.choose(try #require(menu.menu.products[fixture.cola]))
        #expect(menu.choice?.isReady == true)
        #expect(menu.refusal == nil)
    }

    @Test func aCountAtZeroIsEightySixedToo() async throws {
        var fixture = MenuVenue()
        let pie = fixture.venue.product("Pie", price: 1400, category: fixture.mains)
        fixture.venue.availability(of: pie, remaining: 0)
        let menu = await TestTill(fixture.venue).menu()
        try await menu.reload()

        #expect(menu.menu.products[pie]?.availability == .soldOut)
        #expect(throws: MenuRefusal.soldOut(product: "Pie")) {
            try menu.menu.validate(productID: pie, chosen: [])
        }
    }

    @Test func aRequiredGroupNeedsItsChoiceAndAGroupHoldsNoMoreThanItsMaximum() async throws {
        let fixture = MenuVenue()
        let menu = await TestTill(fixture.venue).menu()
        try await menu.reload()
        let validate = { (chosen: Set<String>) throws(MenuRefusal) in
            _ = try menu.menu.validate(productID: fixture.burger, chosen: chosen)
        }

        #expect(throws: MenuRefusal.tooFewChoices(group: "Cooking", min: 1)) { try validate([fixture.cheese]) }
        #expect(throws: MenuRefusal.tooManyChoices(group: "Cooking", max: 1)) { try validate([fixture.rare, fixture.medium]) }
        #expect(throws: MenuRefusal.tooManyChoices(group: "Extras", max: 2)) {
            try validate([fixture.rare, fixture.cheese, fixture.bacon, fixture.egg])
        }
        #expect(throws: MenuRefusal.unknownModifier(fixture.venue.entities[0].entityID)) {
            try validate([fixture.rare, fixture.venue.entities[0].entityID])
        }
        let picked = try menu.menu.validate(productID: fixture.burger, chosen: [fixture.bacon, fixture.medium])
        #expect(picked.map(\.name) == ["Medium", "Bacon"])
        #expect(picked.map(\.priceDelta) == [0, 150])
    }

    @Test func tickingModifiersFollowsEachGroupsRules() async throws {
        let fixture = MenuVenue()
        let menu = await TestTill(fixture.venue).menu()
        try await menu.reload()
        menu.choose(try #require(menu.menu.products[fixture.burger]))
        var choice = try #require(menu.choice)
        let modifier = { (id: String) in choice.groups.flatMap(\.modifiers).first { $0.id == id }! }

        #expect(choice.problems == [.tooFewChoices(group: "Cooking", min: 1)])
        choice.toggle(modifier(fixture.rare))
        choice.toggle(modifier(fixture.wellDone))  // one choice: replaces rare
        #expect(choice.chosen == [fixture.wellDone])
        choice.toggle(modifier(fixture.cheese))
        choice.toggle(modifier(fixture.bacon))
        choice.toggle(modifier(fixture.egg))  // the group is full: ignored
        #expect(choice.chosen == [fixture.wellDone, fixture.cheese, fixture.bacon])
        #expect(choice.isReady)
        #expect(choice.unitPrice == 1250 + 100 + 150)
        choice.toggle(modifier(fixture.cheese))
        #expect(choice.chosen == [fixture.wellDone, fixture.bacon])
    }

    @Test func aDishEightySixedOnAnotherIpadIsRefusedWhenAdded() async throws {
        let fixture = MenuVenue()
        let till = await TestTill(fixture.venue)
        let menu = till.menu()
        try await menu.reload()
        menu.choose(try #require(menu.menu.products[fixture.cola]))
        let entry = till.entry()
        try await entry.openCounterSale()
        // The bar 86es cola; the pull lands while the waiter's sheet is open.
        var later = VenueFixture(seed: 5)
        later.availability(of: fixture.cola, soldOut: true)
        await later.seed(till.store)

        await #expect(throws: OrderRefusal.menu(.soldOut(product: "Cola"))) {
            try await entry.add(try #require(menu.choice))
        }
        #expect(entry.order?.lines.isEmpty == true)
    }

    @Test func countedPortionsCountDownAndRunOut() async throws {
        let fixture = MenuVenue()
        let till = await TestTill(fixture.venue)
        let menu = till.menu()
        try await menu.reload()
        let entry = till.entry()
        try await entry.openCounterSale()
        menu.choose(try #require(menu.menu.products[fixture.specialAle]))
        var choice = try #require(menu.choice)
        choice.quantity = 3

        await #expect(throws: OrderRefusal.menu(.notEnoughLeft(product: "Special ale", remaining: 2))) {
            try await entry.add(choice)
        }
        choice.quantity = 2
        try await entry.add(choice)
        let counted = await till.outbox().filter { $0.entityType == "availability" }
        #expect(counted.map(\.fields) == [["remaining": -2]])  // a counter: the delta
        try await menu.reload()
        #expect(menu.menu.products[fixture.specialAle]?.availability == .soldOut)
        // Taken back before the kitchen saw it: the portions return.
        try await entry.voidLine(try #require(entry.order?.lines.first?.id))
        try await menu.reload()
        #expect(menu.menu.products[fixture.specialAle]?.availability == .remaining(2))
    }
}
