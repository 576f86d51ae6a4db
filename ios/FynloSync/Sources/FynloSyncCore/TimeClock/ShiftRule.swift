/// Shifts derived from punches: the rule of docs/time-clock.md, step for step the server's
/// (`server/timeclock/shifts.py`), so an iPad shows the shifts the back office will pay.
/// `shared/schema/vectors/timeclock.json` holds the cases both must derive exactly.
///
/// Punches come from any iPad, often offline, so they may contradict each other. None is
/// dropped: each one moves the employee's state (out → in → on break → in → out) or is kept
/// as a flag for a manager. The result depends only on the set of punches and corrections
/// (not their order, nor how often one arrived) and, for a shift still open, on `now`.
/// Times are whole Unix seconds, so hours add up to the second.
public enum ShiftRule {
    /// The restaurant's limit for a forgotten clock-out when it has not set one.
    public static let defaultAutoCloseAfter: Duration = .seconds(16 * 3600)

    /// The punches that count, once each (by id), with corrections applied in the order
    /// they were made, sorted by second, kind, HLC, then id.
    public static func effective(punches: [Punch], corrections: [PunchCorrection] = []) -> [Punch] {
        var byID: [String: Punch] = [:]
        // A later delivery of an id replaces an earlier one, as the server's dict does; for an
        // immutable punch both are the same anyway.
        for punch in punches { byID[punch.id] = punch }
        let ordered = corrections.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        for correction in ordered {
            if correction.action == .add, let punch = correction.punch {
                byID[punch.id] = punch
            } else if let id = correction.punchID, byID[id] != nil {
                if correction.action == .void {
                    byID[id] = nil
                } else if correction.action == .move, let at = correction.at {
                    byID[id]?.at = at
                }
            }
        }
        // HLCs and ids are ASCII, where Swift's and Python's string orders are the same.
        return byID.values.sorted { a, b in (a.at, a.kind.rank, a.hlc, a.id) < (b.at, b.kind.rank, b.hlc, b.id) }
    }

    /// One employee's shifts from their punches and the managers' corrections.
    /// - Parameters:
    ///   - now: Unix seconds; decides whether an open shift is still open.
    ///   - autoCloseAfter: the restaurant's `auto_close_after_minutes` (whole seconds count).
    public static func derive(
        punches: [Punch], corrections: [PunchCorrection] = [], now: Int,
        autoCloseAfter: Duration = defaultAutoCloseAfter
    ) -> DerivedShifts {
        let limit = Int(autoCloseAfter.components.seconds)
        var shifts: [Shift] = []
        var ignored: [FlaggedPunch] = []
        var open: OpenShift?
        for punch in effective(punches: punches, corrections: corrections) {
            // A punch after the limit finds the forgotten shift closed and the employee out.
            if let shift = open, punch.at >= shift.startedAt + limit {
                shifts.append(shift.closed(at: shift.startedAt + limit, auto: true))
                open = nil
            }
            guard var shift = open else {
                if punch.kind == .clockIn {
                    open = OpenShift(punch)
                } else {
                    ignored.append(FlaggedPunch(punchID: punch.id, flag: .notClockedIn))
                }
                continue
            }
            if shift.take(punch) {
                shifts.append(shift.closed(at: punch.at, auto: false))
                open = nil
            } else {
                open = shift
            }
        }
        if let shift = open {
            let limitReached = now >= shift.startedAt + limit
            shifts.append(limitReached ? shift.closed(at: shift.startedAt + limit, auto: true) : shift.stillOpen())
        }
        return DerivedShifts(shifts: shifts, ignored: ignored)
    }
}

public enum ShiftFlag: String, Sendable, Hashable, CaseIterable {
    /// Clocked in while in (two iPads offline): the earlier clock-in stands.
    case duplicateClockIn = "duplicate_clock_in"
    /// A break or clock-out while out: ignored.
    case notClockedIn = "not_clocked_in"
    case breakWhileOnBreak = "break_while_on_break"
    case breakEndWithoutBreak = "break_end_without_break"
    /// Nobody clocked out: closed at the restaurant's limit.
    case autoClosed = "auto_closed"
}

/// A punch kept for a manager to resolve, and why.
public struct FlaggedPunch: Sendable, Hashable {
    public var punchID: String
    public var flag: ShiftFlag

    public init(punchID: String, flag: ShiftFlag) {
        self.punchID = punchID
        self.flag = flag
    }
}

public struct Break: Sendable, Hashable {
    /// Unix seconds.
    public var startedAt: Int
    /// `nil` while the employee is still on it.
    public var endedAt: Int?
    public var paid: Bool
    public var breakTypeID: String?
}

/// Seconds of a shift by type; paid time is `regular + paidBreaks`.
public struct Hours: Sendable, Hashable {
    public var regular = 0
    public var paidBreaks = 0
    public var unpaidBreaks = 0

    public init(regular: Int = 0, paidBreaks: Int = 0, unpaidBreaks: Int = 0) {
        self.regular = regular
        self.paidBreaks = paidBreaks
        self.unpaidBreaks = unpaidBreaks
    }

    public var paid: Int { regular + paidBreaks }

    public static func + (lhs: Hours, rhs: Hours) -> Hours {
        Hours(
            regular: lhs.regular + rhs.regular, paidBreaks: lhs.paidBreaks + rhs.paidBreaks,
            unpaidBreaks: lhs.unpaidBreaks + rhs.unpaidBreaks)
    }
}

/// One stretch of work; its id is the id of the clock-in that opened it.
public struct Shift: Sendable, Hashable {
    public var id: String
    public var employeeID: String
    public var locationID: String?
    public var jobRoleID: String?
    /// Unix seconds.
    public var startedAt: Int
    /// `nil` while the employee is still in.
    public var endedAt: Int?
    public var breaks: [Break]
    /// Every punch that counted towards it, in order.
    public var punchIDs: [String]
    public var flags: [FlaggedPunch]
    public var declaredTips: Int
    public var autoClosed: Bool

    /// Its hours by type, up to `now` (Unix seconds) if it is still open.
    public func hours(until now: Int) -> Hours {
        // An open shift asked about before its own start (`now` too early) has none.
        let end = max(startedAt, endedAt ?? now)
        var hours = Hours()
        for item in breaks {
            let last = item.endedAt.map { min(end, $0) } ?? end
            let length = max(0, last - max(startedAt, item.startedAt))
            if item.paid { hours.paidBreaks += length } else { hours.unpaidBreaks += length }
        }
        hours.regular = end - startedAt - hours.paidBreaks - hours.unpaidBreaks
        return hours
    }
}

public struct DerivedShifts: Sendable, Hashable {
    public var shifts: [Shift]
    /// Flags of punches that belong to no shift (a clock-out while out).
    public var ignored: [FlaggedPunch]

    /// Where the employee stands after the last punch, for the clock-in screen: only the
    /// last shift can still be open, and one past the limit has been closed already.
    public var status: ClockStatus {
        guard let last = shifts.last, last.endedAt == nil else { return .out }
        if let onBreak = last.breaks.last, onBreak.endedAt == nil {
            return .onBreak(shiftID: last.id, since: onBreak.startedAt, paid: onBreak.paid)
        }
        return .clockedIn(shiftID: last.id, since: last.startedAt)
    }
}

/// Whether an employee is out, in or on a break, as the shift rule reads their punches.
public enum ClockStatus: Sendable, Hashable {
    case out
    /// `since`: when the shift started (Unix seconds).
    case clockedIn(shiftID: String, since: Int)
    /// `since`: when the break started (Unix seconds).
    case onBreak(shiftID: String, since: Int, paid: Bool)

    /// The punches that move the employee on from here: what the clock-in screen offers.
    /// Any other is still taken if made (on another iPad, say), and flagged.
    public var nextKinds: [PunchKind] {
        switch self {
        case .out: [.clockIn]
        case .clockedIn: [.breakStart, .clockOut]
        case .onBreak: [.breakEnd, .clockOut]
        }
    }
}

/// A shift being read, punch by punch.
private struct OpenShift {
    let first: Punch
    var breaks: [Break] = []
    var onBreak: Break?
    var punchIDs: [String]
    var flags: [FlaggedPunch] = []
    var declaredTips = 0

    init(_ clockIn: Punch) {
        first = clockIn
        punchIDs = [clockIn.id]
    }

    var startedAt: Int { first.at }

    /// Applies one punch; true when it ends the shift.
    mutating func take(_ punch: Punch) -> Bool {
        switch punch.kind {
        case .clockIn:
            flags.append(FlaggedPunch(punchID: punch.id, flag: .duplicateClockIn))
        case .breakStart:
            if onBreak != nil {
                flags.append(FlaggedPunch(punchID: punch.id, flag: .breakWhileOnBreak))
            } else {
                onBreak = Break(startedAt: punch.at, endedAt: nil, paid: punch.paid, breakTypeID: punch.breakTypeID)
                punchIDs.append(punch.id)
            }
        case .breakEnd:
            if var ended = onBreak {
                ended.endedAt = punch.at
                breaks.append(ended)
                onBreak = nil
                punchIDs.append(punch.id)
            } else {
                flags.append(FlaggedPunch(punchID: punch.id, flag: .breakEndWithoutBreak))
            }
        case .clockOut:
            declaredTips = punch.declaredTips
            punchIDs.append(punch.id)
            return true
        }
        return false
    }

    /// Closed at `end`: a clock-out ends a break still running at the same moment.
    func closed(at end: Int, auto: Bool) -> Shift {
        var all = breaks
        if var running = onBreak {
            running.endedAt = end
            all.append(running)
        }
        let closing = auto ? [FlaggedPunch(punchID: first.id, flag: .autoClosed)] : []
        return shift(endedAt: end, breaks: all, flags: flags + closing, auto: auto)
    }

    func stillOpen() -> Shift {
        shift(endedAt: nil, breaks: breaks + (onBreak.map { [$0] } ?? []), flags: flags, auto: false)
    }

    private func shift(endedAt: Int?, breaks: [Break], flags: [FlaggedPunch], auto: Bool) -> Shift {
        Shift(
            id: first.id, employeeID: first.employeeID, locationID: first.locationID,
            jobRoleID: first.jobRoleID, startedAt: startedAt, endedAt: endedAt, breaks: breaks,
            punchIDs: punchIDs, flags: flags, declaredTips: declaredTips, autoClosed: auto)
    }
}
