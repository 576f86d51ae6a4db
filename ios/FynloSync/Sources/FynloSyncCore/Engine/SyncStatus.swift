/// What the sync engine is doing, published as an `AsyncStream` for the UI.
public struct SyncStatus: Sendable, Hashable {
    public enum Activity: Sendable, Hashable {
        case idle
        case pushing
        case pulling
        /// A transient failure; the next attempt starts at `retryAtMs` (wall clock).
        case waiting(retryAtMs: Int, attempt: Int)
        /// Retrying will not help until the app acts (sign in again, update the app).
        case blocked(BlockReason)
        case stopped
    }

    public var activity: Activity
    public var pendingChanges: Int
    /// Changes the server refused for good; the app lists them (``SyncEngine/deadLetters()``).
    public var deadLetters: Int
    public var lastSyncedAtMs: Int?
    public var lastError: String?

    public init(
        activity: Activity = .idle, pendingChanges: Int = 0, deadLetters: Int = 0,
        lastSyncedAtMs: Int? = nil, lastError: String? = nil
    ) {
        self.activity = activity
        self.pendingChanges = pendingChanges
        self.deadLetters = deadLetters
        self.lastSyncedAtMs = lastSyncedAtMs
        self.lastError = lastError
    }
}

/// Why syncing stopped until the app does something. The outbox is kept in every case.
public enum BlockReason: Sendable, Hashable {
    /// 401: refresh the device token; if that fails the iPad was revoked: enrol again.
    case notAuthenticated
    /// 426: the server does not speak this schema version: update the app.
    case upgradeRequired
    /// Another refusal that applies to every request (403 `device_mismatch`, a 400 on pull).
    case refused(status: Int, code: String?)
}

/// How one `requestSync()` ended.
public enum SyncResult: Sendable, Hashable {
    /// Everything pending was pushed (or dead-lettered) and the pull read to the end.
    case synced
    case blocked(BlockReason)
    /// Cancelled by ``SyncEngine/stop()`` (or the sleeper gave up, in tests).
    case stopped
}
