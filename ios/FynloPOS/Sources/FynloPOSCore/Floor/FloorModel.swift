import Observation

/// The floor screen: every table by area with who sits there, and what a host does with a
/// party: seat it, move it, merge tables for it, clear the table when it has gone.
///
/// A service: ``reload()`` after every sync; ``seat(_:covers:)`` a walk-in; order entry opens
/// the table's bill; a party that wants the window is ``move(from:to:)``-ed; a party of ten
/// gets two tables ``merge(main:with:)``-ed under one bill (and ``detach(_:)`` one when it is
/// not needed); once the bill shows ``TableStatus/paid`` and they leave, ``clear(_:)``. What
/// each state means in entities: Floor/Tables.swift.
@MainActor
@Observable
public final class FloorModel {
    public struct Table: Sendable, Hashable, Identifiable {
        public var table: DiningTable
        public var status: TableStatus
        public var covers: Int
        public var orderID: String?
        public var orderNumber: String?
        /// The other tables sharing this table's bill (merged), by name.
        public var mergedWith: [String]

        public var id: String { table.id }
    }

    public struct Area: Sendable, Hashable, Identifiable {
        public var name: String
        public var tables: [Table]
        public var id: String { name }
    }

    public private(set) var areas: [Area] = []

    private let records: any Records
    private let tables: Tables
    private let orders: Orders

    public init(records: any Records, orders: Orders) {
        self.records = records
        self.tables = Tables(records: records)
        self.orders = orders
    }

    public var allTables: [Table] { areas.flatMap(\.tables) }

    public func table(_ id: String) -> Table? { allTables.first { $0.id == id.lowercased() } }

    public func reload() async throws {
        let plan = try await tables.plan()
        let states = try await tables.states()
        var orderFacts: [String: (number: String, status: OrderStatus?)] = [:]
        for orderID in Set(states.values.compactMap(\.orderID)) {
            let data = try await records.entity(.init("order", orderID))?.data
            orderFacts[orderID] = (data?.string("number") ?? "", data?.string("status").flatMap(OrderStatus.init))
        }
        let names = Dictionary(plan.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        let rows = plan.map { table -> Table in
            let state = states[table.id]
            guard let party = state, party.isOccupied else {
                return Table(
                    table: table, status: TableStatus.of(state, order: nil), covers: 0, orderID: nil, orderNumber: nil,
                    mergedWith: [])
            }
            let order = party.orderID.flatMap { orderFacts[$0] }
            // Merged: the other tables pointing at the same bill.
            let group = party.orderID.map { bill in
                states.values.filter { $0.orderID == bill && $0.tableID != table.id && $0.isOccupied }
                    .compactMap { names[$0.tableID] }.sorted()
            } ?? []
            return Table(
                table: table, status: TableStatus.of(party, order: order?.status), covers: party.covers,
                orderID: party.orderID, orderNumber: order?.number, mergedWith: group)
        }
        areas = Dictionary(grouping: rows, by: \.table.area).map { name, tables in
            let byName = tables.sorted { $0.table.name.localizedStandardCompare($1.table.name) == .orderedAscending }
            return Area(name: name, tables: byName)
        }.sorted { $0.name < $1.name }
    }

    public func seat(_ tableID: String, covers: Int) async throws {
        try await tables.seat(tableID.lowercased(), covers: covers)
        try await settle()
    }

    public func move(from: String, to: String) async throws {
        try await tables.move(from: from, to: to)
        try await settle()
    }

    /// Joins `others` to `main` for one party with one bill: the bill `main` or one of the
    /// others already has, or a new one. Covers add up on `main`.
    public func merge(main: String, with others: [String]) async throws {
        let main = main.lowercased()
        let others = others.map { $0.lowercased() }.filter { $0 != main }
        guard !others.isEmpty else { throw FloorRefusal.mergeNeedsTwoTables }
        let known = Set(try await tables.plan().map(\.id))
        for id in [main] + others where !known.contains(id) { throw FloorRefusal.unknownTable(id) }
        let states = try await tables.states()
        let group = ([main] + others).map { states[$0] }
        let bills = Set(group.compactMap { $0?.orderID })
        guard bills.count <= 1 else { throw FloorRefusal.twoBills }
        let covers = group.reduce(0) { $0 + ($1?.covers ?? 0) }
        let liveStatuses = group.compactMap { $0 }.filter(\.isOccupied).map(\.status)
        let status: TableState.Status =
            liveStatuses.contains(.paying) ? .paying : liveStatuses.contains(.ordered) ? .ordered : .seated
        let orderID: String
        if let existing = bills.first {
            orderID = existing
            try await orders.update(orderID, ["table_id": .string(main), "covers": .int(covers)])
        } else {
            orderID = try await orders.open(tableID: main, covers: covers)
        }
        try await tables.join(main: main, others: others, orderID: orderID, status: status, covers: covers)
        try await settle()
    }

    /// Takes one table out of a merged group (the party needs less room).
    public func detach(_ tableID: String) async throws {
        try await tables.detach(tableID)
        try await settle()
    }

    /// The party has gone: their table, and any merged with it, is free.
    public func clear(_ tableID: String) async throws {
        try await tables.clear(tableID.lowercased())
        try await settle()
    }

    private func settle() async throws {
        await records.syncSoon()
        try await reload()
    }
}
