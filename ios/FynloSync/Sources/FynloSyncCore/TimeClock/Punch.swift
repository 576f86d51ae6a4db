/// What a punch says; in one second they count in this order (`rank`).
public enum PunchKind: String, Sendable, Hashable, CaseIterable {
    case clockIn = "clock_in"
    case breakStart = "break_start"
    case breakEnd = "break_end"
    case clockOut = "clock_out"

    var rank: Int {
        switch self {
        case .clockIn: 0
        case .breakStart: 1
        case .breakEnd: 2
        case .clockOut: 3
        }
    }
}

/// One `time_punch`: a fact an iPad recorded. Ids are lowercased UUID text, as entity ids.
public struct Punch: Sendable, Hashable {
    public var id: String
    public var employeeID: String
    /// The location of the iPad that punched: the entity's, not a data field.
    public var locationID: String?
    public var kind: PunchKind
    /// Unix seconds. The rule ignores fractions of a second, so they are dropped on reading.
    public var at: Int
    /// The HLC of the change that made the punch: orders two of one kind in one second.
    public var hlc: String
    /// For a break start: whether the break is paid (the break type's, when punched).
    public var paid: Bool
    public var breakTypeID: String?
    /// For a clock-in: the role worked (`nil`: the employee's current one).
    public var jobRoleID: String?
    /// For a clock-out: cash tips declared, in minor units.
    public var declaredTips: Int
    public var deviceID: String?

    public init(
        id: String, employeeID: String, locationID: String? = nil, kind: PunchKind, at: Int,
        hlc: String = "", paid: Bool = false, breakTypeID: String? = nil, jobRoleID: String? = nil,
        declaredTips: Int = 0, deviceID: String? = nil
    ) {
        self.id = id.lowercased()
        self.employeeID = employeeID.lowercased()
        self.locationID = locationID?.lowercased()
        self.kind = kind
        self.at = at
        self.hlc = hlc
        self.paid = paid
        self.breakTypeID = breakTypeID?.lowercased()
        self.jobRoleID = jobRoleID?.lowercased()
        self.declaredTips = declaredTips
        self.deviceID = deviceID?.lowercased()
    }

    /// A punch from a `time_punch` entity's `data`. The id, location and HLC belong to the
    /// entity rather than its data; any not given are read from `data`, as the shared
    /// vectors write them (`id`, `location_id`, `hlc`).
    public init(
        entityID: String? = nil, data: [String: JSONValue], locationID: String? = nil, hlc: String? = nil
    ) throws {
        let json = JSONValue.object(data)
        let kindName = try json.string("kind")
        guard let kind = PunchKind(rawValue: kindName) else { throw JSONShapeError("unknown punch kind \(kindName)") }
        self.init(
            id: try entityID ?? json.string("id"), employeeID: try json.string("employee_id"),
            locationID: locationID ?? json.optionalString("location_id"), kind: kind,
            at: try Self.seconds(json, "at"), hlc: hlc ?? json.optionalString("hlc") ?? "",
            paid: json["paid"].boolValue ?? false, breakTypeID: json.optionalString("break_type_id"),
            jobRoleID: json.optionalString("job_role_id"), declaredTips: json["declared_tips"].intValue ?? 0,
            deviceID: json.optionalString("device_id"))
    }

    static func seconds(_ json: JSONValue, _ key: String) throws -> Int {
        guard let seconds = RFC3339.seconds(try json.string(key)) else {
            throw JSONShapeError("\(key) must be an RFC 3339 time with an offset")
        }
        return seconds
    }
}

/// A manager's change to the punches, never an edit of one: `void` hides the punch
/// `punchID`, `move` gives it the time `at`, `add` is `punch`, made by the manager.
public struct PunchCorrection: Sendable, Hashable {
    public enum Action: String, Sendable, Hashable {
        case add, move, void
    }

    public var id: String
    public var action: Action
    /// Microseconds since the Unix epoch: corrections apply in the order they were made,
    /// and two made in one second must still apply in the server's order.
    public var createdAt: Int
    public var punchID: String?
    /// For `move`: the punch's new time, in Unix seconds.
    public var at: Int?
    /// For `add`.
    public var punch: Punch?

    public init(
        id: String, action: Action, createdAt: Int, punchID: String? = nil, at: Int? = nil, punch: Punch? = nil
    ) {
        self.id = id.lowercased()
        self.action = action
        self.createdAt = createdAt
        self.punchID = punchID?.lowercased()
        self.at = at
        self.punch = punch
    }

    /// A correction from a `time_punch_correction` entity's `data` (`id` read from it when
    /// `entityID` is not given). An added punch is read from a nested `punch` object, as the
    /// shared vectors write it, or else from the correction's own fields, as the server's
    /// table keeps it (`punch_id`, `employee_id`, `kind`, `at`, `paid`, …).
    public init(entityID: String? = nil, data: [String: JSONValue], locationID: String? = nil) throws {
        let json = JSONValue.object(data)
        let actionName = try json.string("action")
        guard let action = Action(rawValue: actionName) else { throw JSONShapeError("unknown correction \(actionName)") }
        guard let createdAt = RFC3339.microseconds(try json.string("created_at")) else {
            throw JSONShapeError("created_at must be an RFC 3339 time with an offset")
        }
        let punchID = json.optionalString("punch_id")
        var punch: Punch?
        if action == .add {
            punch = try json["punch"].objectValue.map { try Punch(data: $0, locationID: locationID) }
                ?? Punch(entityID: try json.string("punch_id"), data: data, locationID: locationID, hlc: "")
        }
        self.init(
            id: try entityID ?? json.string("id"), action: action, createdAt: createdAt, punchID: punchID,
            at: json["at"].isNull ? nil : try Punch.seconds(json, "at"), punch: punch)
    }
}
