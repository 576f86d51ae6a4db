import FynloSyncCore

// The menu as the iPad shows it: what the back office publishes (`category`, `product`,
// `modifier_group`, `modifier`, restaurant-wide, read only) and what this location has left
// (`availability`: `sold_out`, and `remaining` portions when counted). Archived items are
// not shown. Prices are VAT-inclusive pence; a modifier's price is added to its product's.

public struct MenuCategory: Sendable, Hashable, Identifiable {
    public var id: String
    public var name: String
    public var position: Int
}

public struct MenuProduct: Sendable, Hashable, Identifiable {
    public var id: String
    public var categoryID: String?
    public var name: String
    public var description: String
    /// VAT-inclusive pence.
    public var price: Int
    public var vatRateBp: Int
    public var position: Int
    public var modifierGroupIDs: [String]
    public var availability: Availability
}

/// Whether a product can be sold at this location now.
public enum Availability: Sendable, Hashable {
    case available
    /// 86'd: `sold_out`, or a portion count at zero.
    case soldOut
    /// Counted portions left (above zero).
    case remaining(Int)

    init(soldOut: Bool, remaining: Int?) {
        if soldOut { self = .soldOut; return }
        guard let remaining else { self = .available; return }
        self = remaining > 0 ? .remaining(remaining) : .soldOut
    }

    public var isSoldOut: Bool { self == .soldOut }

    /// Whether `quantity` more portions can be sold.
    public func allows(_ quantity: Int) -> Bool {
        switch self {
        case .available: true
        case .soldOut: false
        case .remaining(let left): quantity <= left
        }
    }
}

public struct ModifierGroup: Sendable, Hashable, Identifiable {
    public var id: String
    public var name: String
    /// At least this many choices (0: optional).
    public var minChoices: Int
    /// At most this many choices.
    public var maxChoices: Int
    /// Live modifiers, by position.
    public var modifiers: [MenuModifier]

    public var isRequired: Bool { minChoices > 0 }
    /// One choice at most: picking another replaces it (a radio group on screen).
    public var isSingleChoice: Bool { maxChoices == 1 }
}

public struct MenuModifier: Sendable, Hashable, Identifiable {
    public var id: String
    public var groupID: String
    public var name: String
    /// Pence added to (or, negative, taken off) the product's price.
    public var priceDelta: Int
    public var position: Int
}

/// Why a dish cannot be added as chosen.
public enum MenuRefusal: Error, Hashable, Sendable {
    case unknownProduct
    case soldOut(product: String)
    case notEnoughLeft(product: String, remaining: Int)
    case tooFewChoices(group: String, min: Int)
    case tooManyChoices(group: String, max: Int)
    case unknownModifier(String)
    /// This iPad does not know its location, and the dish has no availability yet.
    case unknownLocation
}

/// The whole menu at one moment, with the rules for choosing modifiers.
public struct Menu: Sendable, Hashable {
    public var categories: [MenuCategory]
    public var products: [String: MenuProduct]
    public var groups: [String: ModifierGroup]
    /// Each product's `availability` entity at this location, where one exists.
    public var availabilityIDs: [String: String]
    /// Products whose portions are counted (`remaining` set, zero included), to the id of
    /// their availability entity: selling one counts it down there.
    public var portionCounters: [String: String]

    public static let empty = Menu(
        categories: [], products: [:], groups: [:], availabilityIDs: [:], portionCounters: [:])

    /// A category's products, by position then name.
    public func products(in categoryID: String?) -> [MenuProduct] {
        products.values.filter { $0.categoryID == categoryID }
            .sorted { ($0.position, $0.name) < ($1.position, $1.name) }
    }

    /// A product's modifier groups in the order the back office lists them.
    public func groups(of product: MenuProduct) -> [ModifierGroup] {
        product.modifierGroupIDs.compactMap { groups[$0] }
    }

    /// Checks a choice of modifiers for a product (and that `quantity` can be sold), and
    /// returns the chosen modifiers as a line snapshots them, group by group.
    public func validate(
        productID: String, chosen: Set<String>, quantity: Int = 1
    ) throws(MenuRefusal) -> [LineModifier] {
        guard let product = products[productID.lowercased()] else { throw .unknownProduct }
        switch product.availability {
        case .soldOut: throw .soldOut(product: product.name)
        case .remaining(let left) where left < quantity:
            throw .notEnoughLeft(product: product.name, remaining: left)
        default: break
        }
        let groups = groups(of: product)
        let offered = Set(groups.flatMap { $0.modifiers.map(\.id) })
        if let stray = chosen.subtracting(offered).sorted().first { throw .unknownModifier(stray) }
        var picked: [LineModifier] = []
        for group in groups {
            let inGroup = group.modifiers.filter { chosen.contains($0.id) }
            if inGroup.count < group.minChoices { throw .tooFewChoices(group: group.name, min: group.minChoices) }
            if inGroup.count > group.maxChoices { throw .tooManyChoices(group: group.name, max: group.maxChoices) }
            picked += inGroup.map { LineModifier(modifierID: $0.id, name: $0.name, priceDelta: $0.priceDelta) }
        }
        return picked
    }
}

/// A modifier as an order line keeps it: a snapshot taken when the dish was ordered.
public struct LineModifier: Sendable, Hashable {
    /// `nil` for a free-text modifier ("no onions").
    public var modifierID: String?
    public var name: String
    public var priceDelta: Int

    public init(modifierID: String?, name: String, priceDelta: Int) {
        self.modifierID = modifierID
        self.name = name
        self.priceDelta = priceDelta
    }

    var json: JSONValue {
        ["modifier_id": .optional(modifierID), "name": .string(name), "price_delta": .int(priceDelta)]
    }

    init?(json: JSONValue) {
        guard let object = json.objectValue, let name = object.string("name") else { return nil }
        self.init(modifierID: object.id("modifier_id"), name: name, priceDelta: object.int("price_delta") ?? 0)
    }
}

extension Menu {
    /// The menu as this iPad holds it now.
    public static func load(from records: any Records) async throws -> Menu {
        let categories = try await records.entities(ofType: "category").compactMap { key, entity -> MenuCategory? in
            let data = entity.data
            guard !data.bool("archived"), let name = data.string("name") else { return nil }
            return MenuCategory(id: key.entityID, name: name, position: data.int("position") ?? 0)
        }
        var groups: [String: ModifierGroup] = [:]
        for (key, entity) in try await records.entities(ofType: "modifier_group") {
            let data = entity.data
            guard !data.bool("archived"), let name = data.string("name") else { continue }
            groups[key.entityID] = ModifierGroup(
                id: key.entityID, name: name, minChoices: data.int("min_choices") ?? 0,
                maxChoices: data.int("max_choices") ?? 1, modifiers: [])
        }
        for (key, entity) in try await records.entities(ofType: "modifier") {
            let data = entity.data
            guard !data.bool("archived"), let name = data.string("name"), let group = data.id("group_id"),
                groups[group] != nil
            else { continue }
            groups[group]?.modifiers.append(
                MenuModifier(
                    id: key.entityID, groupID: group, name: name, priceDelta: data.int("price_delta") ?? 0,
                    position: data.int("position") ?? 0))
        }
        for id in groups.keys {
            groups[id]?.modifiers.sort { ($0.position, $0.name) < ($1.position, $1.name) }
        }
        // Availability's id is uuid5(location, product): read the product id it carries.
        var availability: [String: (id: String, soldOut: Bool, remaining: Int?)] = [:]
        for (key, entity) in try await records.entities(ofType: "availability") {
            guard let product = entity.data.id("product_id") else { continue }
            availability[product] = (key.entityID, entity.data.bool("sold_out"), entity.data.int("remaining"))
        }
        var products: [String: MenuProduct] = [:]
        for (key, entity) in try await records.entities(ofType: "product") {
            let data = entity.data
            guard !data.bool("archived"), let name = data.string("name"), let price = data.int("price") else {
                continue
            }
            let state = availability[key.entityID]
            products[key.entityID] = MenuProduct(
                id: key.entityID, categoryID: data.id("category_id"), name: name,
                description: data.string("description") ?? "", price: price,
                vatRateBp: data.int("vat_rate_bp") ?? 2000, position: data.int("position") ?? 0,
                modifierGroupIDs: (data["modifier_group_ids"]?.arrayValue ?? []).compactMap {
                    $0.stringValue?.lowercased()
                },
                availability: Availability(soldOut: state?.soldOut ?? false, remaining: state?.remaining))
        }
        return Menu(
            categories: categories.sorted { ($0.position, $0.name) < ($1.position, $1.name) },
            products: products, groups: groups,
            availabilityIDs: availability.mapValues(\.id),
            portionCounters: availability.filter { $0.value.remaining != nil }.mapValues(\.id))
    }
}
