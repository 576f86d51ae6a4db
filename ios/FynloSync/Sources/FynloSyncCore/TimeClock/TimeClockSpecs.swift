/// The time clock's synced entities (docs/time-clock.md, server/timeclock/sync.py): punches
/// an iPad makes and never edits, and the corrections only the server writes.
extension EntitySpec {
    /// Append-only: an edit is refused `immutable`, a delete `delete_not_allowed`, so two
    /// iPads never merge a punch; each adds its own and the shift rule reads them all.
    public static let timePunch: EntitySpec = {
        var spec = EntitySpec(entityType: "time_punch")
        spec.immutable = true
        spec.requiredOnCreate = ["employee_id", "kind", "at", "device_id"]
        return spec
    }()

    /// A manager's change to the punches, made in the back office; iPads read it to derive
    /// the same shifts as the server.
    public static let timePunchCorrection: EntitySpec = {
        var spec = EntitySpec(entityType: "time_punch_correction")
        spec.pushable = false
        return spec
    }()
}
