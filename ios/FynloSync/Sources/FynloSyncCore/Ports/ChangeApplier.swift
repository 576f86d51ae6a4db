/// Applies what the server decided to the local store.
///
/// A store that implements this with ``CursorStore`` applies a pulled page and moves the
/// cursor in one local transaction, and receives each state's HLC so later local writes
/// order after everything the device has seen.
public protocol ChangeApplier: Sendable {
    /// One pulled page: its states replace the confirmed ones and its cursor becomes the
    /// pull position, all or nothing. (The engine acknowledges outbox changes through the
    /// last page's `last_applied_seq` once the pull has been read to the end.)
    func applyPulled(_ page: PullResponse) async throws

    /// The states a push was answered with; one older than what is held is ignored.
    func applyPushed(_ results: [ChangeResult]) async throws

    /// Starts a first full sync: forgets the cursor and starts noting what the pull mentions.
    func beginBootstrap() async throws

    /// Ends it: drops every confirmed entity the snapshot and feed did not mention (the
    /// snapshot lists live entities only, so those were deleted meanwhile).
    func finishBootstrap() async throws
}

/// The three store ports together, as one object: the usual shape, and the one that makes
/// "apply the page and move the cursor" a single transaction.
public typealias SyncStore = OutboxStore & CursorStore & ChangeApplier
