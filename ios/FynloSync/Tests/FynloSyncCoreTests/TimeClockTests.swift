import FynloSyncCore
import Testing

@Suite("time clock: status, reading the store, specs")
struct TimeClockTests {
    static let employee = uuid(0xe1)
    static let nine = 1_796_461_200  // 2026-12-05T09:00:00Z

    func punch(_ id: Int, _ kind: PunchKind, minutes: Int, paid: Bool = false) -> Punch {
        Punch(id: uuid(id), employeeID: Self.employee, kind: kind, at: Self.nine + 60 * minutes, paid: paid)
    }

    @Test func statusFollowsTheLastShift() {
        let records = TimeClockRecords(punches: [punch(1, .clockIn, minutes: 0)], corrections: [])
        let shiftID = uuid(1)
        #expect(records.status(now: Self.nine + 60) == .clockedIn(shiftID: shiftID, since: Self.nine))
        #expect(records.status(now: Self.nine + 60).nextKinds == [.breakStart, .clockOut])

        var onBreak = records
        onBreak.punches.append(punch(2, .breakStart, minutes: 120, paid: true))
        #expect(
            onBreak.status(now: Self.nine + 3 * 3600) == .onBreak(shiftID: shiftID, since: Self.nine + 7200, paid: true))
        #expect(onBreak.status(now: Self.nine + 3 * 3600).nextKinds == [.breakEnd, .clockOut])

        var out = onBreak
        out.punches.append(punch(3, .clockOut, minutes: 180))
        #expect(out.status(now: Self.nine + 4 * 3600) == .out)
        #expect(out.status(now: Self.nine + 4 * 3600).nextKinds == [.clockIn])
        // A forgotten clock-out: out once the limit has passed.
        #expect(records.status(now: Self.nine + 16 * 3600) == .out)
    }

    @Test func readsPunchesAndCorrectionsFromTheStore() async throws {
        let store = InMemorySyncStore(deviceID: "ipad-1")
        let other = uuid(0xe2)
        func state(_ type: String, _ id: String, _ data: [String: JSONValue]) -> EntityState {
            EntityState(entityType: type, entityID: id, data: data, clock: VectorClock(["server": 1]))
        }
        func punchData(_ employee: String, _ kind: String, _ at: String) -> [String: JSONValue] {
            ["employee_id": .string(employee), "kind": .string(kind), "at": .string(at), "device_id": .string(uuid(0xa1))]
        }
        await store.applyPulled(PullResponse(changes: [
            state("time_punch", uuid(1), punchData(Self.employee, "clock_in", "2026-12-05T09:00:00.250+01:00")),
            state("time_punch", uuid(2), punchData(other, "clock_in", "2026-12-05T08:00:00Z")),
            // The server's correction as its table keeps it: an added punch in its own fields.
            state("time_punch_correction", uuid(901), [
                "action": "add", "punch_id": .string(uuid(3)), "employee_id": .string(Self.employee),
                "kind": "clock_out", "at": "2026-12-05T12:00:00Z", "declared_tips": 300,
                "created_at": "2026-12-06T09:00:00.123456Z", "reason": "forgot to clock out",
            ]),
            state("time_punch_correction", uuid(902), [
                "action": "add", "punch_id": .string(uuid(4)), "employee_id": .string(other),
                "kind": "clock_out", "at": "2026-12-05T12:00:00Z", "created_at": "2026-12-06T09:00:00Z",
            ]),
        ], cursor: "1", hasMore: false, phase: "feed", lastAppliedSeq: 0))
        // A punch made offline on this iPad, not yet pushed, counts too.
        var breakStart = punchData(Self.employee, "break_start", "2026-12-05T10:00:00Z")
        breakStart["paid"] = true
        _ = try await store.enqueue(
            ChangeDraft(entityType: "time_punch", entityID: uuid(5), fields: breakStart))

        let records = try await store.timeClockRecords(employeeID: Self.employee.uppercased(), locationID: "loc-a")
        #expect(records.punches.map(\.id).sorted() == [uuid(1), uuid(5)])
        #expect(records.punches.allSatisfy { $0.locationID == "loc-a" && $0.hlc.isEmpty })
        #expect(records.corrections.map(\.id) == [uuid(901)])
        let added = try #require(records.corrections.first?.punch)
        #expect(added.kind == .clockOut && added.declaredTips == 300 && added.id == uuid(3))

        let shifts = records.derive(now: Self.nine + 24 * 3600).shifts
        #expect(shifts.count == 1)
        #expect(shifts.first?.startedAt == Self.nine - 3600)  // 09:00:00.250+01:00, whole seconds
        #expect(shifts.first?.endedAt == Self.nine + 3 * 3600)
        #expect(shifts.first?.hours(until: 0) == Hours(regular: 2 * 3600, paidBreaks: 2 * 3600))
        #expect(shifts.first?.declaredTips == 300)
    }

    @Test func aPunchIsNeverEditedNorDeleted() throws {
        let fields: [String: JSONValue] = [
            "employee_id": .string(Self.employee), "kind": "clock_in", "at": "2026-12-05T09:00:00Z",
            "device_id": .string(uuid(0xa1)),
        ]
        func push(_ op: ChangeOp, _ fields: [String: JSONValue], current: Version?) -> Decision {
            ConflictResolver.resolve(
                spec: .timePunch, current: current,
                change: Change(
                    op: op, fields: fields, clock: ["ipad-2": 1], hlc: "1796461200000:00000:ipad-2", device: "ipad-2"))
        }
        let made = try #require(push(.upsert, fields, current: nil).version)
        #expect(push(.upsert, fields, current: made).outcome == .duplicate)
        #expect(push(.upsert, ["kind": "clock_out"], current: made).reason == "immutable")
        #expect(push(.delete, [:], current: made).reason == "delete_not_allowed")
        #expect(push(.upsert, ["kind": "clock_in"], current: nil).reason == "missing_fields")
    }

    @Test func timesAreReadExactly() {
        #expect(RFC3339.seconds("2026-12-05T17:00:00Z") == 1_796_490_000)
        #expect(RFC3339.seconds("2026-12-05T18:30:00.999999+01:30") == 1_796_490_000)
        #expect(RFC3339.microseconds("2026-12-05T17:00:00.1234567Z") == 1_796_490_000_123_456)
        #expect(RFC3339.seconds("1969-12-31T23:59:59.5Z") == -1)
        #expect(RFC3339.seconds("2024-02-29T00:00:00-00:00") == 1_709_164_800)
        #expect(RFC3339.string(seconds: 1_709_164_800) == "2024-02-29T00:00:00Z")
        #expect(RFC3339.string(seconds: -1) == "1969-12-31T23:59:59Z")
        let bad = [
            "2026-12-05T17:00:00", "2026-02-29T00:00:00Z", "2026-12-05T24:00:00Z", "2026-12-05T17:00:00.Z",
            "2026-12-05 17:00Z", "",
        ]
        for bad in bad {
            #expect(RFC3339.microseconds(bad) == nil, "\(bad) must not parse")
        }
    }
}

/// `00000000-0000-4000-8000-` and `number` in hex, as the vectors' ids.
func uuid(_ number: Int) -> String {
    let digits = String(number, radix: 16)
    return "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - digits.count) + digits
}
