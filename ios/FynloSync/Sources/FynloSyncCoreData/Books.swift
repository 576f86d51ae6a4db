#if canImport(CoreData)
import CoreData
import FynloSyncCore

/// Reads and writes the bookkeeping entities of one context. Used only inside
/// `context.perform`, on the context's queue; never escapes it.
struct Books {
    let context: NSManagedObjectContext

    func meta(_ key: String) throws -> String? {
        try fetch(SyncBookkeepingModel.meta, NSPredicate(format: "key == %@", key)).first?.value(forKey: "value") as? String
    }

    func setMeta(_ key: String, _ value: String?) throws {
        let existing = try fetch(SyncBookkeepingModel.meta, NSPredicate(format: "key == %@", key)).first
        guard let value else {
            if let existing { context.delete(existing) }
            return
        }
        let row = existing ?? insert(SyncBookkeepingModel.meta)
        row.setValue(key, forKey: "key")
        row.setValue(value, forKey: "value")
    }

    func outbox(inBatchOnly: Bool = false) throws -> [PendingChange] {
        let predicate = inBatchOnly ? NSPredicate(format: "inBatch == YES") : nil
        return try fetch(SyncBookkeepingModel.outbox, predicate, sortedBy: "seq").map(change)
    }

    func insertOutbox(_ change: PendingChange) {
        let row = insert(SyncBookkeepingModel.outbox)
        row.setValue(Int64(change.seq), forKey: "seq")
        row.setValue(change.entityType, forKey: "entityType")
        row.setValue(change.entityID, forKey: "entityID")
        row.setValue(JSONWriter.string(change.json), forKey: "change")
        row.setValue(false, forKey: "inBatch")
    }

    func markInBatch(_ seqs: Set<Int>) throws {
        for row in try fetch(SyncBookkeepingModel.outbox, nil) where seqs.contains(seq(row)) {
            row.setValue(true, forKey: "inBatch")
        }
    }

    func clearBatch() throws {
        for row in try fetch(SyncBookkeepingModel.outbox, NSPredicate(format: "inBatch == YES")) {
            row.setValue(false, forKey: "inBatch")
        }
        try setMeta("batch_id", nil)
    }

    func deleteOutbox(through last: Int) throws {
        for row in try fetch(SyncBookkeepingModel.outbox, NSPredicate(format: "seq <= %lld", Int64(last))) {
            context.delete(row)
        }
    }

    func deleteOutbox(seq: Int) throws {
        for row in try fetch(SyncBookkeepingModel.outbox, NSPredicate(format: "seq == %lld", Int64(seq))) {
            context.delete(row)
        }
    }

    /// Ascending order: every new number is below every old one still to move.
    func renumber(seq old: Int, to new: Int) throws {
        guard let row = try fetch(SyncBookkeepingModel.outbox, NSPredicate(format: "seq == %lld", Int64(old))).first
        else { return }
        let moved = try change(row).renumbered(to: new)
        row.setValue(Int64(new), forKey: "seq")
        row.setValue(JSONWriter.string(moved.json), forKey: "change")
    }

    func insertDeadLetter(_ letter: DeadLetter) throws {
        let seqPredicate = NSPredicate(format: "seq == %lld", Int64(letter.change.seq))
        guard try fetch(SyncBookkeepingModel.deadLetter, seqPredicate).isEmpty else { return }
        let row = insert(SyncBookkeepingModel.deadLetter)
        row.setValue(Int64(letter.change.seq), forKey: "seq")
        row.setValue(JSONWriter.string(letter.change.json), forKey: "change")
        row.setValue(letter.reason, forKey: "reason")
        row.setValue(letter.detail, forKey: "detail")
        row.setValue(Int64(letter.atMs), forKey: "atMs")
    }

    func deadLetters() throws -> [DeadLetter] {
        try fetch(SyncBookkeepingModel.deadLetter, nil, sortedBy: "seq").map { row in
            DeadLetter(
                change: try change(row), reason: row.value(forKey: "reason") as? String ?? "",
                detail: row.value(forKey: "detail") as? String, atMs: Int(row.value(forKey: "atMs") as? Int64 ?? 0))
        }
    }

    func deleteDeadLetter(seq: Int) throws {
        for row in try fetch(SyncBookkeepingModel.deadLetter, NSPredicate(format: "seq == %lld", Int64(seq))) {
            context.delete(row)
        }
    }

    func confirmed(_ key: EntityKey) throws -> LocalEntity? {
        guard let row = try confirmedRow(key) else { return nil }
        return LocalEntity(
            data: try JSONReader.parse(row.value(forKey: "data") as? String ?? "{}").objectValue ?? [:],
            clock: try VectorClock(json: JSONReader.parse(row.value(forKey: "clock") as? String ?? "{}")),
            deleted: row.value(forKey: "deleted") as? Bool ?? false)
    }

    func storeConfirmed(_ state: EntityState) throws {
        let row = try confirmedRow(state.key) ?? insert(SyncBookkeepingModel.confirmed)
        row.setValue(state.key.entityType, forKey: "entityType")
        row.setValue(state.key.entityID, forKey: "entityID")
        row.setValue(JSONWriter.string(.object(state.data)), forKey: "data")
        row.setValue(JSONWriter.string(state.clock.json), forKey: "clock")
        row.setValue(state.deleted, forKey: "deleted")
    }

    func deleteConfirmed(_ key: EntityKey) throws {
        if let row = try confirmedRow(key) { context.delete(row) }
    }

    func markSeen(_ key: EntityKey) throws {
        let predicate = NSPredicate(format: "entityType == %@ AND entityID == %@", key.entityType, key.entityID)
        guard try fetch(SyncBookkeepingModel.bootstrapSeen, predicate).isEmpty else { return }
        let row = insert(SyncBookkeepingModel.bootstrapSeen)
        row.setValue(key.entityType, forKey: "entityType")
        row.setValue(key.entityID, forKey: "entityID")
    }

    func unseenConfirmedKeys() throws -> [EntityKey] {
        let seen = Set(try fetch(SyncBookkeepingModel.bootstrapSeen, nil).map(key))
        return try fetch(SyncBookkeepingModel.confirmed, nil).map(key).filter { !seen.contains($0) }
    }

    func keys(ofType entityType: String) throws -> Set<EntityKey> {
        let predicate = NSPredicate(format: "entityType == %@", entityType)
        return Set(try fetch(SyncBookkeepingModel.confirmed, predicate).map(key))
            .union(try fetch(SyncBookkeepingModel.outbox, predicate).map(key))
    }

    /// The confirmed state with pending edits on top: what the device shows.
    func shown(_ key: EntityKey, counters: CounterFields) throws -> LocalEntity? {
        let predicate = NSPredicate(format: "entityType == %@ AND entityID == %@", key.entityType, key.entityID)
        let pending = try fetch(SyncBookkeepingModel.outbox, predicate, sortedBy: "seq").map(change)
        return Replica.shown(confirmed: try confirmed(key), pending: pending, counters: counters)
    }

    func count(_ entity: String) throws -> Int {
        try context.count(for: NSFetchRequest<NSManagedObject>(entityName: entity))
    }

    func deleteAll(_ entity: String) throws {
        for row in try fetch(entity, nil) { context.delete(row) }
    }

    // MARK: Rows

    private func confirmedRow(_ key: EntityKey) throws -> NSManagedObject? {
        let predicate = NSPredicate(format: "entityType == %@ AND entityID == %@", key.entityType, key.entityID)
        return try fetch(SyncBookkeepingModel.confirmed, predicate).first
    }

    private func fetch(_ entity: String, _ predicate: NSPredicate?, sortedBy sort: String? = nil) throws -> [NSManagedObject] {
        let request = NSFetchRequest<NSManagedObject>(entityName: entity)
        request.predicate = predicate
        if let sort { request.sortDescriptors = [NSSortDescriptor(key: sort, ascending: true)] }
        return try context.fetch(request)
    }

    private func insert(_ entity: String) -> NSManagedObject {
        NSEntityDescription.insertNewObject(forEntityName: entity, into: context)
    }

    private func change(_ row: NSManagedObject) throws -> PendingChange {
        var change = try PendingChange(json: JSONReader.parse(row.value(forKey: "change") as? String ?? ""))
        change.seq = seq(row)
        return change
    }

    private func seq(_ row: NSManagedObject) -> Int { Int(row.value(forKey: "seq") as? Int64 ?? 0) }

    private func key(_ row: NSManagedObject) -> EntityKey {
        EntityKey(row.value(forKey: "entityType") as? String ?? "", row.value(forKey: "entityID") as? String ?? "")
    }
}
#endif
