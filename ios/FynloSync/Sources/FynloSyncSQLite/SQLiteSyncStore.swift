import FynloSyncCore

/// Every store port on one SQLite file: outbox, frozen batch, dead letters, confirmed
/// entities, cursor and HLC. Durable across app kills and reboots (WAL, `synchronous=FULL`:
/// a committed transaction survives a power cut), one connection owned by this actor.
///
/// Each port method is one transaction, so an enqueue is numbered and stored at once, and a
/// pulled page and its cursor land together or not at all.
public actor SQLiteSyncStore: SyncStore, EntityReader {
    public let deviceID: String
    private let connection: SQLiteConnection
    private let clock: any WallClock
    private let counters: CounterFields

    /// Opens (or creates) the store at `path` for `deviceID`. A file written for another
    /// device is refused: a re-enrolled iPad is a new actor and starts a new file.
    public init(
        path: String, deviceID: String, clock: any WallClock = SystemWallClock(),
        counters: CounterFields = .standard
    ) throws {
        self.deviceID = deviceID.lowercased()
        self.clock = clock
        self.counters = counters
        connection = try SQLiteConnection(path: path)
        try connection.query("PRAGMA journal_mode=WAL")
        try connection.execute("PRAGMA synchronous=FULL")
        try connection.execute(Self.schema)
        let owner = try Self.meta(connection, "device_id")
        if owner == nil {
            try Self.setMeta(connection, "device_id", self.deviceID)
        } else if owner != self.deviceID {
            throw SQLiteError(code: 0, message: "\(path) belongs to device \(owner!), not \(self.deviceID)")
        }
    }

    private static let schema = """
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS outbox (
            seq INTEGER PRIMARY KEY, entity_type TEXT NOT NULL, entity_id TEXT NOT NULL,
            change TEXT NOT NULL, in_batch INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX IF NOT EXISTS outbox_entity ON outbox (entity_type, entity_id, seq);
        CREATE TABLE IF NOT EXISTS dead_letters (
            seq INTEGER PRIMARY KEY, change TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT,
            at_ms INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS entities (
            entity_type TEXT NOT NULL, entity_id TEXT NOT NULL, data TEXT NOT NULL,
            clock TEXT NOT NULL, deleted INTEGER NOT NULL,
            PRIMARY KEY (entity_type, entity_id)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS bootstrap_seen (
            entity_type TEXT NOT NULL, entity_id TEXT NOT NULL,
            PRIMARY KEY (entity_type, entity_id)) WITHOUT ROWID;
        """

    // MARK: OutboxStore

    public func enqueue(_ draft: ChangeDraft) throws -> PendingChange {
        try connection.transaction {
            let seq = Int(try meta("next_seq") ?? "1") ?? 1
            var hlc = try storedHlc()
            let change = try Replica.change(
                seq: seq, draft: draft, shown: try shown(draft.key), hlc: &hlc, deviceID: deviceID,
                nowMs: clock.nowMs())
            try connection.query(
                "INSERT INTO outbox (seq, entity_type, entity_id, change) VALUES (?, ?, ?, ?)",
                [.int(seq), .text(change.entityType), .text(change.entityID), .text(JSONWriter.string(change.json))])
            try setMeta("next_seq", String(seq + 1))
            try setMeta("hlc", hlc?.description)
            return change
        }
    }

    public func pendingChanges() throws -> [PendingChange] {
        try changes("SELECT seq, change FROM outbox ORDER BY seq")
    }

    public func freezeBatch(maxItems: Int, newID: String) throws -> Batch? {
        try connection.transaction {
            if let id = try meta("batch_id") {
                return Batch(id: id, changes: try changes("SELECT seq, change FROM outbox WHERE in_batch = 1 ORDER BY seq"))
            }
            let chosen = try changes(
                "SELECT seq, change FROM outbox ORDER BY seq LIMIT ?", [.int(max(1, maxItems))])
            guard let last = chosen.last else { return nil }
            try connection.query("UPDATE outbox SET in_batch = 1 WHERE seq <= ?", [.int(last.seq)])
            try setMeta("batch_id", newID.lowercased())
            return Batch(id: newID, changes: chosen)
        }
    }

    public func acknowledge(through seq: Int, rejected: [DeadLetter]) throws {
        try connection.transaction {
            for letter in rejected where letter.change.seq <= seq {
                try insertDeadLetter(letter)
            }
            let batchFirst = try firstSeq(inBatch: true)
            try connection.query("DELETE FROM outbox WHERE seq <= ?", [.int(seq)])
            // Batches apply whole: once any of it is acknowledged, the batch is done.
            if try meta("batch_id") != nil, batchFirst.map({ $0 <= seq }) ?? true {
                try clearBatch()
            }
        }
    }

    public func unfreezeBatch(id: String) throws {
        try connection.transaction {
            if try meta("batch_id") == id.lowercased() { try clearBatch() }
        }
    }

    public func deadLetterBatch(id: String, reason: String, detail: String?, atMs: Int) throws {
        try connection.transaction {
            guard try meta("batch_id") == id.lowercased() else { return }
            for change in try changes("SELECT seq, change FROM outbox WHERE in_batch = 1 ORDER BY seq") {
                try insertDeadLetter(DeadLetter(change: change, reason: reason, detail: detail, atMs: atMs))
            }
            try connection.query("DELETE FROM outbox WHERE in_batch = 1")
            try setMeta("batch_id", nil)
        }
    }

    public func restartSequence(expected: Int) throws {
        try connection.transaction {
            try clearBatch()
            guard let first = try firstSeq(inBatch: false) else {
                let next = Int(try meta("next_seq") ?? "1") ?? 1
                try setMeta("next_seq", String(max(next, expected)))
                return
            }
            switch Replica.gapPlan(expected: expected, firstPending: first) {
            case .dropThrough(let seq):
                try connection.query("DELETE FROM outbox WHERE seq <= ?", [.int(seq)])
            case .renumber(let start):
                // Ascending order: every new number is below every old one still to move.
                let pending = try pendingChanges()
                for (offset, change) in pending.enumerated() {
                    let moved = change.renumbered(to: start + offset)
                    try connection.query(
                        "UPDATE outbox SET seq = ?, change = ? WHERE seq = ?",
                        [.int(moved.seq), .text(JSONWriter.string(moved.json)), .int(change.seq)])
                }
                try setMeta("next_seq", String(start + pending.count))
            }
        }
    }

    public func deadLetters() throws -> [DeadLetter] {
        try connection.query("SELECT seq, change, reason, detail, at_ms FROM dead_letters ORDER BY seq").map { row in
            var change = try PendingChange(json: JSONReader.parse(row[1].text ?? ""))
            change.seq = row[0].int ?? change.seq
            return DeadLetter(change: change, reason: row[2].text ?? "", detail: row[3].text, atMs: row[4].int ?? 0)
        }
    }

    public func dismissDeadLetter(seq: Int) throws {
        try connection.query("DELETE FROM dead_letters WHERE seq = ?", [.int(seq)])
    }

    public func outboxCounts() throws -> OutboxCounts {
        let pending = try connection.query("SELECT count(*) FROM outbox").first?.first?.int ?? 0
        let dead = try connection.query("SELECT count(*) FROM dead_letters").first?.first?.int ?? 0
        return OutboxCounts(pending: pending, deadLetters: dead)
    }

    // MARK: CursorStore, ChangeApplier

    public func pullPosition() throws -> PullPosition {
        PullPosition(cursor: try meta("cursor"), bootstrapping: try meta("bootstrapping") == "1")
    }

    public func applyPulled(_ page: PullResponse) throws {
        try connection.transaction {
            var hlc = try storedHlc()
            let bootstrapping = try meta("bootstrapping") == "1"
            for state in page.changes {
                hlc = Replica.received(hlc, remote: state.hlc, deviceID: deviceID, nowMs: clock.nowMs())
                try storeConfirmed(state)
                if bootstrapping {
                    try connection.query(
                        "INSERT OR IGNORE INTO bootstrap_seen (entity_type, entity_id) VALUES (?, ?)",
                        [.text(state.key.entityType), .text(state.key.entityID)])
                }
            }
            try setMeta("hlc", hlc?.description)
            try setMeta("cursor", page.cursor)
        }
    }

    public func applyPushed(_ results: [ChangeResult]) throws {
        try connection.transaction {
            var hlc = try storedHlc()
            for state in results.compactMap(\.state) {
                hlc = Replica.received(hlc, remote: state.hlc, deviceID: deviceID, nowMs: clock.nowMs())
                if Replica.shouldAdopt(pushed: state, held: try confirmed(state.key)) {
                    try storeConfirmed(state)
                }
            }
            try setMeta("hlc", hlc?.description)
        }
    }

    public func beginBootstrap() throws {
        try connection.transaction {
            try setMeta("cursor", nil)
            try setMeta("bootstrapping", "1")
            try connection.query("DELETE FROM bootstrap_seen")
        }
    }

    public func finishBootstrap() throws {
        try connection.transaction {
            guard try meta("bootstrapping") == "1" else { return }
            try connection.query("""
                DELETE FROM entities WHERE NOT EXISTS (SELECT 1 FROM bootstrap_seen AS seen
                    WHERE seen.entity_type = entities.entity_type AND seen.entity_id = entities.entity_id)
                """)
            try connection.query("DELETE FROM bootstrap_seen")
            try setMeta("bootstrapping", nil)
        }
    }

    // MARK: EntityReader

    public func entity(_ key: EntityKey) throws -> LocalEntity? {
        guard let shown = try shown(key), !shown.deleted else { return nil }
        return shown
    }

    public func entityKeys(ofType entityType: String) throws -> [EntityKey] {
        let rows = try connection.query(
            "SELECT entity_id FROM entities WHERE entity_type = ? UNION SELECT entity_id FROM outbox WHERE entity_type = ?",
            [.text(entityType), .text(entityType)])
        return try rows.compactMap { $0.first?.text }.map { EntityKey(entityType, $0) }
            .filter { try entity($0) != nil }.sorted()
    }

    public func currentHlc() throws -> Hlc? { try storedHlc() }

    /// The durability settings in force (`journal_mode`, `synchronous`), for checks.
    public func durabilitySettings() throws -> [String: String] {
        let journal = try connection.query("PRAGMA journal_mode").first?.first?.text ?? ""
        let synchronous = try connection.query("PRAGMA synchronous").first?.first?.int ?? -1
        // synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA (sqlite.org/pragma.html#pragma_synchronous).
        return ["journal_mode": journal, "synchronous": ["OFF", "NORMAL", "FULL", "EXTRA"][safe: synchronous] ?? "?"]
    }

    // MARK: Rows

    private func shown(_ key: EntityKey) throws -> LocalEntity? {
        let pending = try changes(
            "SELECT seq, change FROM outbox WHERE entity_type = ? AND entity_id = ? ORDER BY seq",
            [.text(key.entityType), .text(key.entityID)])
        return Replica.shown(confirmed: try confirmed(key), pending: pending, counters: counters)
    }

    private func confirmed(_ key: EntityKey) throws -> LocalEntity? {
        guard let row = try connection.query(
            "SELECT data, clock, deleted FROM entities WHERE entity_type = ? AND entity_id = ?",
            [.text(key.entityType), .text(key.entityID)]).first
        else { return nil }
        return LocalEntity(
            data: try JSONReader.parse(row[0].text ?? "{}").objectValue ?? [:],
            clock: try VectorClock(json: JSONReader.parse(row[1].text ?? "{}")),
            deleted: row[2].int == 1)
    }

    private func storeConfirmed(_ state: EntityState) throws {
        try connection.query(
            "INSERT OR REPLACE INTO entities (entity_type, entity_id, data, clock, deleted) VALUES (?, ?, ?, ?, ?)",
            [.text(state.key.entityType), .text(state.key.entityID), .text(JSONWriter.string(.object(state.data))),
             .text(JSONWriter.string(state.clock.json)), .int(state.deleted ? 1 : 0)])
    }

    private func changes(_ sql: String, _ arguments: [SQLiteValue] = []) throws -> [PendingChange] {
        try connection.query(sql, arguments).map { row in
            var change = try PendingChange(json: JSONReader.parse(row[1].text ?? ""))
            change.seq = row[0].int ?? change.seq
            return change
        }
    }

    private func firstSeq(inBatch: Bool) throws -> Int? {
        let sql = inBatch ? "SELECT min(seq) FROM outbox WHERE in_batch = 1" : "SELECT min(seq) FROM outbox"
        return try connection.query(sql).first?.first?.int
    }

    private func clearBatch() throws {
        try connection.query("UPDATE outbox SET in_batch = 0 WHERE in_batch = 1")
        try setMeta("batch_id", nil)
    }

    private func insertDeadLetter(_ letter: DeadLetter) throws {
        try connection.query(
            "INSERT OR IGNORE INTO dead_letters (seq, change, reason, detail, at_ms) VALUES (?, ?, ?, ?, ?)",
            [.int(letter.change.seq), .text(JSONWriter.string(letter.change.json)), .text(letter.reason),
             letter.detail.map(SQLiteValue.text) ?? .null, .int(letter.atMs)])
    }

    private func storedHlc() throws -> Hlc? {
        try meta("hlc").flatMap { try? Hlc(parsing: $0) }
    }

    private func meta(_ key: String) throws -> String? { try Self.meta(connection, key) }

    private func setMeta(_ key: String, _ value: String?) throws { try Self.setMeta(connection, key, value) }

    private static func meta(_ connection: SQLiteConnection, _ key: String) throws -> String? {
        try connection.query("SELECT value FROM meta WHERE key = ?", [.text(key)]).first?.first?.text
    }

    private static func setMeta(_ connection: SQLiteConnection, _ key: String, _ value: String?) throws {
        if let value {
            try connection.query("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [.text(key), .text(value)])
        } else {
            try connection.query("DELETE FROM meta WHERE key = ?", [.text(key)])
        }
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
