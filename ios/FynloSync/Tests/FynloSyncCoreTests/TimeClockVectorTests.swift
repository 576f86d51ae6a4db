import FynloSyncCore
import FynloSyncTesting
import Testing

@Suite("shared vectors: timeclock.json")
struct TimeClockVectorTests {
    @Test func fileIsVersionOneWithEveryCase() throws {
        let file = try VectorLoader.load("timeclock.json")
        #expect(file["version"] == 1)
        #expect(VectorCase.all("timeclock.json", "cases").count >= 9)
    }

    @Test func theSpecsAreTheServers() throws {
        let specs = try VectorLoader.load("timeclock.json")["specs"]
        #expect(try EntitySpec(json: specs["time_punch"]) == .timePunch)
        #expect(try EntitySpec(json: specs["time_punch_correction"]) == .timePunchCorrection)
    }

    @Test(arguments: VectorCase.all("timeclock.json", "cases"))
    func deriveGivesThePythonShifts(_ vector: VectorCase) throws {
        let input = try TimeClockInput(vector.json)
        let derived = ShiftRule.derive(
            punches: input.punches, corrections: input.corrections, now: input.now, autoCloseAfter: input.limit)
        #expect(TimeClockJSON.of(derived, now: input.now) == vector.json["expect"])
    }

    @Test(arguments: VectorCase.all("timeclock.json", "cases"))
    func anyDeliveryOrderGivesTheSameShifts(_ vector: VectorCase) throws {
        let input = try TimeClockInput(vector.json)
        let once = ShiftRule.derive(
            punches: input.punches, corrections: input.corrections, now: input.now, autoCloseAfter: input.limit)
        var random = SeededGenerator(seed: 18)
        for _ in 0..<20 {
            let resent = input.punches.filter { _ in Bool.random(using: &random) }
            let delivered = ShiftRule.derive(
                punches: (input.punches + resent).shuffled(using: &random),
                corrections: input.corrections.shuffled(using: &random), now: input.now, autoCloseAfter: input.limit)
            #expect(delivered == once)
        }
    }
}

/// A vector case read as the rule's input.
struct TimeClockInput {
    var punches: [Punch]
    var corrections: [PunchCorrection]
    var now: Int
    var limit: Duration

    init(_ json: JSONValue) throws {
        punches = try (json["punches"].arrayValue ?? []).map { try Punch(data: try #require($0.objectValue)) }
        corrections = try (json["corrections"].arrayValue ?? []).map {
            try PunchCorrection(data: try #require($0.objectValue))
        }
        let now = try #require(json["now"].stringValue.flatMap(RFC3339.seconds))
        let minutes = try #require(json["auto_close_after_minutes"].intValue)
        self.now = now
        limit = .seconds(60 * minutes)
    }
}

/// Derived shifts written as the vectors' `expect`, so they compare by meaning.
enum TimeClockJSON {
    static func of(_ derived: DerivedShifts, now: Int) -> JSONValue {
        func time(_ seconds: Int?) -> JSONValue { seconds.map { .string(RFC3339.string(seconds: $0)) } ?? .null }
        func flags(_ flagged: [FlaggedPunch]) -> JSONValue {
            .array(flagged.map { ["punch_id": .string($0.punchID), "flag": .string($0.flag.rawValue)] })
        }
        return [
            "shifts": .array(derived.shifts.map { shift in
                let hours = shift.hours(until: now)
                return [
                    "id": .string(shift.id), "started_at": time(shift.startedAt), "ended_at": time(shift.endedAt),
                    "breaks": .array(shift.breaks.map {
                        ["started_at": time($0.startedAt), "ended_at": time($0.endedAt), "paid": .bool($0.paid)]
                    }),
                    "seconds": [
                        "regular": .int(hours.regular), "paid_breaks": .int(hours.paidBreaks),
                        "unpaid_breaks": .int(hours.unpaidBreaks),
                    ],
                    "flags": flags(shift.flags), "auto_closed": .bool(shift.autoClosed),
                    "declared_tips": .int(shift.declaredTips), "punch_ids": .array(shift.punchIDs.map(JSONValue.string)),
                ]
            }),
            "ignored": flags(derived.ignored),
        ]
    }
}

@Suite("time clock: the shift rule's properties")
struct ShiftRulePropertyTests {
    static let start = 1_796_457_600  // 2026-12-05T08:00:00Z
    static let limit = Duration.seconds(16 * 3600)

    /// Up to 14 punches of any kind within 40 hours, as the server's Hypothesis test draws them.
    static func punches(_ random: inout SeededGenerator) -> [Punch] {
        (0..<Int.random(in: 0...14, using: &random)).map { index in
            Punch(
                id: uuid(1000 + index), employeeID: TimeClockTests.employee,
                kind: PunchKind.allCases.randomElement(using: &random)!,
                at: start + Int.random(in: 0...(40 * 3600), using: &random),
                hlc: ["", "a", "b"].randomElement(using: &random)!, paid: Bool.random(using: &random))
        }
    }

    @Test func orderAndDuplicateDeliveriesDeriveTheSameShifts() {
        var random = SeededGenerator(seed: 1812)
        for _ in 0..<300 {
            let punches = Self.punches(&random)
            let resent = (0..<Int.random(in: 0...5, using: &random)).compactMap { _ in
                punches.randomElement(using: &random)
            }
            let corrections = punches.prefix(2).enumerated().map { index, punch in
                PunchCorrection(
                    id: uuid(900 + index), action: index == 0 ? .move : .void,
                    createdAt: (Self.start + 50 * 3600) * 1_000_000, punchID: punch.id, at: punch.at + 600)
            }
            let now = Self.start + 50 * 3600
            let once = ShiftRule.derive(
                punches: punches, corrections: corrections, now: now, autoCloseAfter: Self.limit)
            let delivered = ShiftRule.derive(
                punches: (punches + resent).shuffled(using: &random),
                corrections: corrections.shuffled(using: &random), now: now, autoCloseAfter: Self.limit)
            #expect(delivered == once)
        }
    }

    @Test func hoursAreNeverNegativeAndAddUpAndNoPunchIsLost() {
        var random = SeededGenerator(seed: 1813)
        for _ in 0..<300 {
            let punches = Self.punches(&random)
            let now = Self.start + 3600 * Int.random(in: 0...60, using: &random)
            let derived = ShiftRule.derive(punches: punches, now: now, autoCloseAfter: Self.limit)
            for shift in derived.shifts {
                let hours = shift.hours(until: now)
                #expect(min(hours.regular, hours.paidBreaks, hours.unpaidBreaks) >= 0)
                let end = shift.endedAt ?? max(now, shift.startedAt)
                #expect(hours.regular + hours.paidBreaks + hours.unpaidBreaks == end - shift.startedAt)
                #expect((shift.endedAt ?? shift.startedAt) - shift.startedAt <= 16 * 3600)
            }
            var accounted = Set(derived.shifts.flatMap { $0.punchIDs + $0.flags.map(\.punchID) })
            accounted.formUnion(derived.ignored.map(\.punchID))
            #expect(accounted == Set(punches.map(\.id)))
        }
    }
}
