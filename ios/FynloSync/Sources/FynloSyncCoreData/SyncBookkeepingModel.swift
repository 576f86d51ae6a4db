// Apple platforms only: SwiftPM has no conditional targets, so on Linux this whole target
// compiles to an empty module.
#if canImport(CoreData)
import CoreData

/// The sync engine's own entities, to merge into the app's model:
/// `NSManagedObjectModel(byMerging: [appModel, SyncBookkeepingModel.make()])`.
///
/// Same tables as the SQLite store: outbox, dead letters, the confirmed (server) state of
/// each entity, the keys a bootstrap mentioned, and a key-value meta (next seq, HLC,
/// cursor, frozen batch id).
public enum SyncBookkeepingModel {
    public static let outbox = "FynloSyncOutboxEntry"
    public static let deadLetter = "FynloSyncDeadLetter"
    public static let confirmed = "FynloSyncConfirmedState"
    public static let bootstrapSeen = "FynloSyncBootstrapSeen"
    public static let meta = "FynloSyncMeta"

    public static func make() -> NSManagedObjectModel {
        let model = NSManagedObjectModel()
        model.entities = [
            entity(outbox, [
                ("seq", .integer64AttributeType), ("entityType", .stringAttributeType),
                ("entityID", .stringAttributeType), ("change", .stringAttributeType),
                ("inBatch", .booleanAttributeType),
            ], unique: ["seq"]),
            entity(deadLetter, [
                ("seq", .integer64AttributeType), ("change", .stringAttributeType),
                ("reason", .stringAttributeType), ("detail", .stringAttributeType), ("atMs", .integer64AttributeType),
            ], unique: ["seq"]),
            entity(confirmed, [
                ("entityType", .stringAttributeType), ("entityID", .stringAttributeType),
                ("data", .stringAttributeType), ("clock", .stringAttributeType), ("deleted", .booleanAttributeType),
            ], unique: ["entityType", "entityID"]),
            entity(bootstrapSeen, [("entityType", .stringAttributeType), ("entityID", .stringAttributeType)],
                   unique: ["entityType", "entityID"]),
            entity(meta, [("key", .stringAttributeType), ("value", .stringAttributeType)], unique: ["key"]),
        ]
        return model
    }

    private static func entity(
        _ name: String, _ attributes: [(String, NSAttributeType)], unique: [String]
    ) -> NSEntityDescription {
        let entity = NSEntityDescription()
        entity.name = name
        entity.managedObjectClassName = NSStringFromClass(NSManagedObject.self)
        entity.properties = attributes.map { name, type in
            let attribute = NSAttributeDescription()
            attribute.name = name
            attribute.attributeType = type
            // Only a dead letter's detail may be missing.
            attribute.isOptional = name == "detail"
            return attribute
        }
        // A second writer inserting the same seq fails its save instead of duplicating it.
        entity.uniquenessConstraints = [unique.map { $0 as Any }]
        return entity
    }
}
#endif
