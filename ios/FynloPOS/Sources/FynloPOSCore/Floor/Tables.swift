import FynloSyncCore

// The floor: the dining tables (`floor_table`, from the back office, read only) and who sits
// at each (`table_state`, id = the table's id, written by every iPad: `status`, `covers`,
// `order_id`, last-writer-wins per field).
//
// How the screen's states map onto the entities:
//
// | Shown      | table_state                                  | its order            |
// |------------|----------------------------------------------|----------------------|
// | free       | none, deleted, or `free`                     | —                    |
// | seated     | `seated`                                     | none, open, voided   |
// | ordered    | `ordered` (or `seated` with its order sent)  | open or sent         |
// | paying     | `paying`                                     | not yet paid         |
// | paid       | any but `free`/`dirty`                       | `paid` (the server marks it when money covers it) |
// | dirty      | `dirty` (the party left, not cleared yet)    | —                    |
//
// "Paid" is read from the order, not written to the table: the server marks an order paid
// when its payments cover it, on whichever iPad took them, and every iPad sees it in its
// next pull. Clearing a table writes `free` (never a delete: a concurrent delete wins over a
// seat made meanwhile on another iPad, and would silently unseat that party).
//
// Merged tables: one party over several tables is one bill, so every table of the group
// points at the same order (`order_id`); the order's `table_id` is the group's main table,
// which holds the covers (the others hold 0). Merging therefore opens the order when none of
// the tables has one yet, and refuses two tables that each have a bill (a line's `order_id`
// never changes, so bills cannot be combined: settle or void one first). One table leaves a
// group with ``Tables/detach(_:)``; clearing any table of the group clears them all.

/// A dining table of the floor plan.
public struct DiningTable: Sendable, Hashable, Identifiable {
    public var id: String
    public var name: String
    public var seats: Int
    /// The part of the room ("Terrace", "Bar"): `floor_table.area`, set in the back office;
    /// ``mainArea`` when it is empty (a restaurant with one room).
    public var area: String

    public static let mainArea = "Floor"
}

/// What a table's `table_state` says.
public struct TableState: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        case free, seated, ordered, paying, dirty
    }

    public var tableID: String
    public var status: Status
    public var covers: Int
    public var orderID: String?

    /// A party sits there (seated, ordered or paying).
    public var isOccupied: Bool { status != .free && status != .dirty }
}

/// How a table is shown (see the table above).
public enum TableStatus: String, Sendable, Hashable {
    case free, seated, ordered, paying, paid, dirty

    public static func of(_ state: TableState?, order: OrderStatus?) -> TableStatus {
        guard let state else { return .free }
        switch state.status {
        case .free: return .free
        case .dirty: return .dirty
        case .seated, .ordered, .paying:
            if order == .paid { return .paid }
            if state.status == .paying { return .paying }
            if state.status == .ordered || order == .sent { return .ordered }
            return .seated
        }
    }
}

/// Why a floor action was refused.
public enum FloorRefusal: Error, Hashable, Sendable {
    case unknownTable(String)
    case tableTaken(String)
    case tableEmpty(String)
    case invalidCovers(Int)
    /// Two of the tables each have a bill: settle or void one before merging.
    case twoBills
    case mergeNeedsTwoTables
    /// The table shares no bill with another.
    case notMerged(String)
    /// The group's main table holds its bill: move the party to another table first.
    case mainTableOfGroup(String)
}

/// Every write to `table_state`, one function per action (the floor's one write path; order
/// entry calls ``attach(order:to:)``, ``markOrdered(order:)`` and ``release(order:)``; the
/// bill ``markPaying(order:)``).
public struct Tables: Sendable {
    let records: any Records

    public init(records: any Records) {
        self.records = records
    }

    public func plan() async throws -> [DiningTable] {
        try await records.entities(ofType: "floor_table").compactMap { key, entity -> DiningTable? in
            let data = entity.data
            guard !data.bool("archived"), let name = data.string("name") else { return nil }
            return DiningTable(
                id: key.entityID, name: name, seats: data.int("seats") ?? 0,
                area: data.string("area").flatMap { $0.isEmpty ? nil : $0 } ?? DiningTable.mainArea)
        }
    }

    public func states() async throws -> [String: TableState] {
        var states: [String: TableState] = [:]
        for (key, entity) in try await records.entities(ofType: "table_state") {
            states[key.entityID] = TableState(
                tableID: key.entityID,
                status: entity.data.string("status").flatMap(TableState.Status.init) ?? .free,
                covers: entity.data.int("covers") ?? 0, orderID: entity.data.id("order_id"))
        }
        return states
    }

    public func state(_ tableID: String) async throws -> TableState? {
        try await states()[tableID.lowercased()]
    }

    // MARK: The party

    /// Seats `covers` guests at a free (or cleared-but-dirty) table.
    public func seat(_ tableID: String, covers: Int) async throws {
        guard (1...500).contains(covers) else { throw FloorRefusal.invalidCovers(covers) }
        let current = try await state(tableID)
        if let current, current.isOccupied { throw FloorRefusal.tableTaken(tableID) }
        try await write(tableID, status: .seated, covers: covers, orderID: nil)
    }

    /// Moves the party at `from` (its status, covers and bill) to the free table `to`, and
    /// frees `from`. A table of a merged group moves alone; if it was the group's main table,
    /// the bill's `table_id` follows it.
    public func move(from: String, to: String) async throws {
        let (from, to) = (from.lowercased(), to.lowercased())
        guard let party = try await state(from), party.isOccupied else { throw FloorRefusal.tableEmpty(from) }
        if let target = try await state(to), target.isOccupied { throw FloorRefusal.tableTaken(to) }
        try await write(to, status: party.status, covers: party.covers, orderID: party.orderID)
        try await write(from, status: .free, covers: 0, orderID: nil)
        if let orderID = party.orderID,
            try await records.entity(EntityKey("order", orderID))?.data.id("table_id") == from
        {
            try await records.record(
                ChangeDraft(entityType: "order", entityID: orderID, fields: ["table_id": .string(to)]))
        }
    }

    /// Clears a table for the next party (`free`, no covers, no bill), with every table
    /// merged with it: the party has gone.
    public func clear(_ tableID: String) async throws {
        let states = try await states()
        let bill = states[tableID.lowercased()]?.orderID
        let group = bill.map { bill in states.values.filter { $0.orderID == bill }.map(\.tableID) } ?? []
        for table in Set(group + [tableID.lowercased()]).sorted() {
            try await write(table, status: .free, covers: 0, orderID: nil)
        }
    }

    /// Takes one table out of a merged group, the party staying on the others. The group's
    /// main table (the bill's `table_id`, holding the covers) cannot leave: move it first.
    public func detach(_ tableID: String) async throws {
        let tableID = tableID.lowercased()
        guard let state = try await state(tableID), let orderID = state.orderID, state.isOccupied else {
            throw FloorRefusal.notMerged(tableID)
        }
        let others = try await states().values.filter { $0.orderID == orderID && $0.tableID != tableID }
        guard !others.isEmpty else { throw FloorRefusal.notMerged(tableID) }
        if try await records.entity(EntityKey("order", orderID))?.data.id("table_id") == tableID {
            throw FloorRefusal.mainTableOfGroup(tableID)
        }
        try await write(tableID, status: .free, covers: 0, orderID: nil)
    }

    // MARK: Merging

    /// Joins `others` to `main` under `orderID` (the bill they share): every table points at
    /// it, `main` holds all the covers. Callers check the bills first (``FloorModel/merge``).
    func join(main: String, others: [String], orderID: String, status: TableState.Status, covers: Int) async throws {
        try await write(main, status: status, covers: covers, orderID: orderID)
        for table in others {
            try await write(table, status: status, covers: 0, orderID: orderID)
        }
    }

    // MARK: What order entry changes

    /// Puts an order on its tables: the table it was opened for (seating it if it was not).
    public func attach(order orderID: String, to tableID: String, covers: Int) async throws {
        if let party = try await state(tableID), party.isOccupied {
            try await write(tableID, status: party.status, covers: party.covers, orderID: orderID)
        } else {
            try await write(tableID, status: .seated, covers: covers, orderID: orderID)
        }
    }

    /// The kitchen has the order: every table of its group shows `ordered`.
    public func markOrdered(order orderID: String) async throws {
        for state in try await states().values where state.orderID == orderID.lowercased() {
            if state.status == .seated {
                try await records.record(
                    ChangeDraft(entityType: "table_state", entityID: state.tableID, fields: ["status": "ordered"]))
            }
        }
    }

    /// The bill is on the table: every table of its group shows `paying` until it is paid.
    public func markPaying(order orderID: String) async throws {
        for state in try await states().values where state.orderID == orderID.lowercased() && state.isOccupied {
            if state.status != .paying {
                try await records.record(
                    ChangeDraft(entityType: "table_state", entityID: state.tableID, fields: ["status": "paying"]))
            }
        }
    }

    /// The order was voided: its tables keep their party (seated) without a bill.
    public func release(order orderID: String) async throws {
        for state in try await states().values where state.orderID == orderID.lowercased() {
            try await write(state.tableID, status: .seated, covers: state.covers, orderID: nil)
        }
    }

    private func write(_ tableID: String, status: TableState.Status, covers: Int, orderID: String?) async throws {
        try await records.record(
            ChangeDraft(
                entityType: "table_state", entityID: tableID,
                fields: ["status": .string(status.rawValue), "covers": .int(covers), "order_id": .optional(orderID)]))
    }
}
