/// The durable outbox: local changes numbered 1, 2, 3, ... with no gaps, across batches and
/// restarts, frozen into batches that are resent unchanged until acknowledged.
///
/// Every method is one local transaction. `enqueue` belongs in the same transaction as the
/// domain write it records (the Core Data adapter does both in one `save()`).
public protocol OutboxStore: Sendable {
    /// Numbers, clocks and stores a local edit; returns the change as it will be sent.
    func enqueue(_ draft: ChangeDraft) async throws -> PendingChange

    /// Every change not yet acknowledged, in `seq` order.
    func pendingChanges() async throws -> [PendingChange]

    /// The batch in flight if there is one (same id, same changes); otherwise up to
    /// `maxItems` pending changes frozen under `newID`; `nil` when nothing is pending.
    func freezeBatch(maxItems: Int, newID: String) async throws -> Batch?

    /// Forgets changes through `seq` (the server has them); a batch they cover is done.
    /// `rejected` changes move to the dead-letter list in the same transaction.
    func acknowledge(through seq: Int, rejected: [DeadLetter]) async throws

    /// Unfreezes a batch the server refused whole without applying it (413, a 4xx), so its
    /// changes can be sent in smaller batches under new ids.
    func unfreezeBatch(id: String) async throws

    /// Moves a batch the server refused for good to the dead-letter list.
    func deadLetterBatch(id: String, reason: String, detail: String?, atMs: Int) async throws

    /// Follows a 409 `sequence_gap`: drops the batch, then forgets what the server has or
    /// renumbers what it lost (see ``Replica/gapPlan(expected:firstPending:)``).
    func restartSequence(expected: Int) async throws

    func deadLetters() async throws -> [DeadLetter]

    /// How many changes wait to be sent and how many were refused for good (for the UI).
    func outboxCounts() async throws -> OutboxCounts

    /// The app showed a dead letter and the user dismissed it.
    func dismissDeadLetter(seq: Int) async throws
}

public struct OutboxCounts: Sendable, Hashable {
    public var pending: Int
    public var deadLetters: Int

    public init(pending: Int, deadLetters: Int) {
        self.pending = pending
        self.deadLetters = deadLetters
    }
}
