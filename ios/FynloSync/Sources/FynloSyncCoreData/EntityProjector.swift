#if canImport(CoreData)
import CoreData
import FynloSyncCore

/// How synced entities appear in the app's own Core Data objects (orders, lines, ...).
///
/// The store keeps the server's confirmed state in its bookkeeping entities and calls the
/// projector with what the device should show (the confirmed state with pending local
/// edits on top), always on the context's queue and inside the store's transaction.
public protocol EntityProjector: Sendable {
    /// Writes `shown` into the domain object for `key`, creating it if needed; `nil` (or a
    /// deleted state) removes it. Identify rows by a `syncID: UUID` attribute, never by
    /// `NSManagedObjectID` URIs, which change between stores.
    func project(_ shown: LocalEntity?, for key: EntityKey, in context: NSManagedObjectContext) throws
}
#endif
