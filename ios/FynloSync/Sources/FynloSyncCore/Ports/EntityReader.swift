/// Reading what the device shows (for the app's screens and for tests).
public protocol EntityReader: Sendable {
    /// The entity with pending local changes on top; `nil` if unknown or deleted.
    func entity(_ key: EntityKey) async throws -> LocalEntity?
    /// Keys of every entity of a type the device shows, sorted.
    func entityKeys(ofType entityType: String) async throws -> [EntityKey]
    /// The device's hybrid logical clock as last stored.
    func currentHlc() async throws -> Hlc?
}
