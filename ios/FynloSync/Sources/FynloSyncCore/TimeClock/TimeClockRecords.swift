/// One employee's punches and the managers' corrections, as an iPad holds them: what the
/// clock-in screen and the iPad's timesheet derive shifts from.
public struct TimeClockRecords: Sendable, Hashable {
    public var punches: [Punch]
    public var corrections: [PunchCorrection]

    public init(punches: [Punch], corrections: [PunchCorrection]) {
        self.punches = punches
        self.corrections = corrections
    }

    public func derive(now: Int, autoCloseAfter: Duration = ShiftRule.defaultAutoCloseAfter) -> DerivedShifts {
        ShiftRule.derive(punches: punches, corrections: corrections, now: now, autoCloseAfter: autoCloseAfter)
    }

    /// Out, in or on a break now (Unix seconds): which punches the clock-in screen offers.
    public func status(now: Int, autoCloseAfter: Duration = ShiftRule.defaultAutoCloseAfter) -> ClockStatus {
        derive(now: now, autoCloseAfter: autoCloseAfter).status
    }
}

extension EntityReader {
    /// The employee's punches and corrections this iPad shows: the server's with this
    /// iPad's punches not yet pushed on top, so a clock-in made offline counts at once.
    ///
    /// The store keeps an entity's data, not the HLC of the change that made it, so punches
    /// read here carry none: two of one kind in one second (two iPads clocking one person in
    /// at the same second) are ordered by id, where the server orders them by HLC. The
    /// server's shifts are the record; this is the iPad's reading until it syncs.
    /// - Parameter locationID: this iPad's location, given to every punch (they are
    ///   location-scoped, so the iPad holds its own location's only).
    public func timeClockRecords(employeeID: String, locationID: String? = nil) async throws -> TimeClockRecords {
        let employee = employeeID.lowercased()
        var punches: [Punch] = []
        for key in try await entityKeys(ofType: EntitySpec.timePunch.entityType) {
            guard let entity = try await entity(key) else { continue }
            let punch = try Punch(entityID: key.entityID, data: entity.data, locationID: locationID, hlc: "")
            if punch.employeeID == employee { punches.append(punch) }
        }
        var corrections: [PunchCorrection] = []
        for key in try await entityKeys(ofType: EntitySpec.timePunchCorrection.entityType) {
            guard let entity = try await entity(key) else { continue }
            let correction = try PunchCorrection(entityID: key.entityID, data: entity.data, locationID: locationID)
            // A void or a move of someone else's punch changes nothing here; a punch added
            // for someone else must not count.
            if correction.punch.map({ $0.employeeID == employee }) ?? true { corrections.append(correction) }
        }
        return TimeClockRecords(punches: punches, corrections: corrections)
    }
}
