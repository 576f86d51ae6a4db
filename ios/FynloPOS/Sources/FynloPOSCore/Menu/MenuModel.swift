import FynloSyncCore
import Observation

/// The menu screen: categories down the side, the chosen category's dishes (86'd ones shown,
/// greyed, and refused), and the sheet that picks a dish's modifiers before it goes on the
/// order.
///
/// A service: ``reload()`` after every sync; tap a category (``select(category:)``); tap a
/// dish (``choose(_:)``): a dish with no modifier groups is ready at once, otherwise tick
/// its modifiers (``ProductChoice/toggle(_:)``) until ``ProductChoice/problems`` is empty;
/// then order entry adds ``choice``. The kitchen runs out: ``setSoldOut(_:_:)`` 86es the
/// dish on every iPad.
@MainActor
@Observable
public final class MenuModel {
    public private(set) var menu: Menu = .empty
    public private(set) var selectedCategoryID: String?
    /// The dish being configured, if any.
    public var choice: ProductChoice?
    /// Why the last tap did nothing (an 86'd dish), for the screen to say.
    public private(set) var refusal: MenuRefusal?

    private let records: any Records
    private let locationID: String?

    /// `locationID`: this iPad's location (from enrolment), to 86 a dish nobody 86'd before.
    public init(records: any Records, locationID: String? = nil) {
        self.records = records
        self.locationID = locationID
    }

    public var categories: [MenuCategory] { menu.categories }

    /// The selected category's dishes, sold-out ones included (shown unavailable).
    public var products: [MenuProduct] { menu.products(in: selectedCategoryID) }

    public func reload() async throws {
        menu = try await Menu.load(from: records)
        if selectedCategoryID == nil || !menu.categories.contains(where: { $0.id == selectedCategoryID }) {
            selectedCategoryID = menu.categories.first?.id
        }
        // A dish 86'd while its sheet was open cannot be added any more.
        if let choice, let product = menu.products[choice.product.id] {
            self.choice?.product = product
        }
    }

    /// 86es a dish here (`sold_out`), or brings it back, on every iPad at this location.
    /// Whoever is signed in may (`catalog.availability`); the server refuses a bare iPad.
    public func setSoldOut(_ productID: String, _ soldOut: Bool) async throws {
        let productID = productID.lowercased()
        guard menu.products[productID] != nil else { throw MenuRefusal.unknownProduct }
        var fields: [String: JSONValue] = ["sold_out": .bool(soldOut)]
        let id: String
        if let existing = menu.availabilityIDs[productID] {
            id = existing
        } else {
            guard let locationID, let derived = AvailabilityID.of(product: productID, at: locationID) else {
                throw MenuRefusal.unknownLocation
            }
            id = derived
            fields["product_id"] = .string(productID)  // required when the entity is new
        }
        try await records.record(ChangeDraft(entityType: "availability", entityID: id, fields: fields))
        await records.syncSoon()
        try await reload()
    }

    public func select(category id: String) {
        selectedCategoryID = id
    }

    /// Starts choosing a dish; an 86'd one is refused here, before any modifiers are picked.
    public func choose(_ product: MenuProduct) {
        guard let current = menu.products[product.id] else {
            refusal = .unknownProduct
            return
        }
        if current.availability.isSoldOut {
            refusal = .soldOut(product: current.name)
            choice = nil
            return
        }
        refusal = nil
        choice = ProductChoice(product: current, groups: menu.groups(of: current))
    }
}

/// One dish being configured: its modifier groups and what is ticked so far.
public struct ProductChoice: Sendable, Hashable {
    public var product: MenuProduct
    public var groups: [ModifierGroup]
    public private(set) var chosen: Set<String> = []
    public var quantity = 1

    public init(product: MenuProduct, groups: [ModifierGroup]) {
        self.product = product
        self.groups = groups
    }

    /// Ticks or unticks a modifier. In a one-choice group a tick replaces the other; in a
    /// group already at its maximum a further tick is ignored (the screen greys them).
    public mutating func toggle(_ modifier: MenuModifier) {
        guard let group = groups.first(where: { $0.id == modifier.groupID }) else { return }
        if chosen.contains(modifier.id) {
            chosen.remove(modifier.id)
            return
        }
        let inGroup = group.modifiers.map(\.id).filter(chosen.contains)
        if group.isSingleChoice {
            chosen.subtract(inGroup)
        } else if inGroup.count >= group.maxChoices {
            return
        }
        chosen.insert(modifier.id)
    }

    /// What stops the dish being added, group by group (empty: ready).
    public var problems: [MenuRefusal] {
        var found: [MenuRefusal] = []
        if product.availability.isSoldOut { found.append(.soldOut(product: product.name)) }
        for group in groups {
            let count = group.modifiers.filter { chosen.contains($0.id) }.count
            if count < group.minChoices { found.append(.tooFewChoices(group: group.name, min: group.minChoices)) }
            if count > group.maxChoices { found.append(.tooManyChoices(group: group.name, max: group.maxChoices)) }
        }
        return found
    }

    public var isReady: Bool { problems.isEmpty }

    /// One portion's price with the ticked modifiers, in pence.
    public var unitPrice: Int {
        product.price + groups.flatMap(\.modifiers).filter { chosen.contains($0.id) }.reduce(0) { $0 + $1.priceDelta }
    }
}
