import FynloSyncCore
import FynloSyncTesting
import Testing

/// One named case of a vector file, so each shows up under its own name.
struct VectorCase: Sendable, CustomTestStringConvertible {
    let name: String
    let json: JSONValue
    var testDescription: String { name }

    static func all(_ file: String, _ section: String) -> [VectorCase] {
        // A missing file fails the test that asks for it, with the loader's message.
        guard let cases = (try? VectorLoader.load(file))?[section].arrayValue else {
            return [VectorCase(name: "missing \(file) \(section)", json: .null)]
        }
        return cases.enumerated().map { index, json in
            VectorCase(name: json["name"].stringValue ?? "\(section)[\(index)]", json: json)
        }
    }
}

func clock(_ json: JSONValue) throws -> VectorClock { try VectorClock(json: json) }

@Suite("shared vectors: clocks.json")
struct ClockVectorTests {
    static let flipped: [String: String] = [
        "equal": "equal", "before": "after", "after": "before", "concurrent": "concurrent",
    ]

    @Test func fileIsVersionOne() throws {
        #expect(try VectorLoader.load("clocks.json")["version"] == 1)
    }

    @Test(arguments: VectorCase.all("clocks.json", "compare"))
    func compare(_ vector: VectorCase) throws {
        let a = try clock(vector.json["a"])
        let b = try clock(vector.json["b"])
        let expected = try #require(vector.json["expected"].stringValue)
        #expect(a.compare(b).rawValue == expected)
        #expect(b.compare(a).rawValue == Self.flipped[expected])
    }

    @Test(arguments: VectorCase.all("clocks.json", "merge"))
    func merge(_ vector: VectorCase) throws {
        let a = try clock(vector.json["a"])
        let b = try clock(vector.json["b"])
        let expected = try clock(vector.json["expected"])
        #expect(a.merged(with: b) == expected)
        #expect(b.merged(with: a) == expected)
    }

    @Test(arguments: VectorCase.all("clocks.json", "increment"))
    func increment(_ vector: VectorCase) throws {
        let actor = try #require(vector.json["actor"].stringValue)
        #expect(try clock(vector.json["clock"]).incremented(for: actor) == clock(vector.json["expected"]))
    }

    @Test(arguments: VectorCase.all("clocks.json", "fold"))
    func fold(_ vector: VectorCase) throws {
        let retired = (vector.json["retired"].arrayValue ?? []).compactMap(\.stringValue)
        #expect(try clock(vector.json["clock"]).folded(retired: retired) == clock(vector.json["expected"]))
    }

    @Test(arguments: VectorCase.all("clocks.json", "hlc_order"))
    func hlcOrder(_ vector: VectorCase) throws {
        let aText = try #require(vector.json["a"].stringValue)
        let bText = try #require(vector.json["b"].stringValue)
        let a = try Hlc(parsing: aText)
        let b = try Hlc(parsing: bText)
        let byReading = a < b ? "before" : a > b ? "after" : "equal"
        let byText = Array(aText.utf8).lexicographicallyPrecedes(Array(bText.utf8))
            ? "before" : aText == bText ? "equal" : "after"
        #expect(byReading == vector.json["expected"].stringValue)
        #expect(byText == byReading)
        #expect(a.description == aText)
    }

    @Test func hlcInvalid() throws {
        let texts = try #require(try VectorLoader.load("clocks.json")["hlc_invalid"].arrayValue)
        #expect(texts.count >= 10)
        for text in texts.compactMap(\.stringValue) {
            #expect(throws: HlcError.self, "\(text) must not parse") { try Hlc(parsing: text) }
        }
    }

    @Test(arguments: VectorCase.all("clocks.json", "hlc_drift"))
    func hlcDrift(_ vector: VectorCase) throws {
        let hlc = try Hlc(parsing: try #require(vector.json["hlc"].stringValue))
        let (bounded, clamped) = try hlc.boundingDrift(
            nowMs: try #require(vector.json["now_ms"].intValue),
            maxDriftMs: try #require(vector.json["max_drift_ms"].intValue))
        #expect(bounded.description == vector.json["expected"].stringValue)
        #expect(clamped == vector.json["clamped"].boolValue)
    }

    @Test(arguments: VectorCase.all("clocks.json", "hlc_tick"))
    func hlcTick(_ vector: VectorCase) throws {
        let local = try vector.json["local"].stringValue.map(Hlc.init(parsing:))
        let ticked = try Hlc.tick(
            local, nowMs: try #require(vector.json["now_ms"].intValue),
            node: try #require(vector.json["node"].stringValue))
        #expect(ticked.description == vector.json["expected"].stringValue)
    }

    @Test(arguments: VectorCase.all("clocks.json", "hlc_receive"))
    func hlcReceive(_ vector: VectorCase) throws {
        let local = try vector.json["local"].stringValue.map(Hlc.init(parsing:))
        let received = try Hlc.receive(
            local, remote: try Hlc(parsing: try #require(vector.json["remote"].stringValue)),
            nowMs: try #require(vector.json["now_ms"].intValue), node: try #require(vector.json["node"].stringValue))
        #expect(received.description == vector.json["expected"].stringValue)
    }
}

@Suite("shared vectors: conflicts.json")
struct ConflictVectorTests {
    @Test func fileCoversEveryOutcome() throws {
        let cases = VectorCase.all("conflicts.json", "cases")
        #expect(cases.count >= 20)
        let outcomes = Set(cases.compactMap { $0.json["expected"]["outcome"].stringValue })
        #expect(outcomes == ["applied", "merged", "stale", "duplicate", "rejected"])
    }

    @Test(arguments: VectorCase.all("conflicts.json", "cases"))
    func resolveGivesThePythonDecision(_ vector: VectorCase) throws {
        let spec = try EntitySpec(json: vector.json["spec"])
        let current = try version(vector.json["current"])
        let change = vector.json["change"]
        let decision = ConflictResolver.resolve(
            spec: spec, current: current,
            change: Change(
                op: try #require(ChangeOp(rawValue: change["op"].stringValue ?? "")),
                fields: change["fields"].objectValue ?? [:], clock: change["clock"],
                hlc: try #require(change["hlc"].stringValue), device: change["device"].stringValue ?? ""))
        let expected = vector.json["expected"]
        #expect(decision.outcome.rawValue == expected["outcome"].stringValue)
        #expect(decision.rule == expected["rule"].stringValue)
        #expect(decision.reason == expected["reason"].stringValue)
        #expect(decision.version == (try version(expected)))
        for word in (expected["detail_mentions"].arrayValue ?? []).compactMap(\.stringValue) {
            #expect(decision.detail?.contains(word) == true, "detail should mention \(word)")
        }
    }

    /// A stored version as the vectors write it; all-null members mean "no version".
    private func version(_ json: JSONValue) throws -> Version? {
        guard let data = json["data"].objectValue else { return nil }
        return Version(
            data: data, clock: try VectorClock(json: json["clock"]),
            fieldHlcs: (json["field_hlcs"].objectValue ?? [:]).compactMapValues(\.stringValue),
            deleted: json["deleted"].boolValue ?? false)
    }
}

@Suite("shared vectors: pricing.json")
struct PricingVectorTests {
    @Test(arguments: VectorCase.all("pricing.json", "cases"))
    func priceGivesThePythonTotals(_ vector: VectorCase) throws {
        let input = vector.json["input"]
        let lines = try (input["lines"].arrayValue ?? []).map { json -> Pricing.Line in
            var line = Pricing.Line(
                lineID: try #require(json["line_id"].stringValue), unitPrice: try #require(json["unit_price"].intValue),
                quantity: try #require(json["quantity"].intValue), vatRateBp: try #require(json["vat_rate_bp"].intValue))
            line.modifierDeltas = (json["modifier_deltas"].arrayValue ?? []).compactMap(\.intValue)
            line.discount = discount(json["discount"])
            line.voided = json["voided"].boolValue ?? false
            return line
        }
        let totals = Pricing.price(
            lines, orderDiscount: discount(input["order_discount"]),
            serviceChargeBp: input["service_charge_bp"].intValue ?? 0, tip: input["tip"].intValue ?? 0)
        var parts: [Pricing.SplitPart]?
        let split = input["split"]
        if split["kind"] == "equal" {
            parts = Pricing.splitEqually(totals, parts: try #require(split["parts"].intValue))
        } else if split["kind"] == "by_items" {
            let groups = (split["groups"].arrayValue ?? []).map { ($0.arrayValue ?? []).compactMap(\.stringValue) }
            parts = Pricing.splitByItems(totals, groups: groups)
        }
        // Compared by meaning: our result as JSON against the vector's expected JSON.
        #expect(json(totals, parts) == vector.json["expected"])
    }

    private func discount(_ json: JSONValue) -> Pricing.Discount? {
        guard let kind = json["kind"].stringValue.flatMap(Pricing.Discount.Kind.init(rawValue:)),
            let value = json["value"].intValue
        else { return nil }
        return Pricing.Discount(kind: kind, value: value)
    }

    private func json(_ totals: Pricing.OrderTotals, _ parts: [Pricing.SplitPart]?) -> JSONValue {
        [
            "lines": .array(totals.lines.map { line in
                [
                    "line_id": .string(line.lineID), "vat_rate_bp": .int(line.vatRateBp), "quantity": .int(line.quantity),
                    "unit_price": .int(line.unitPrice), "gross": .int(line.gross), "line_discount": .int(line.lineDiscount),
                    "order_discount": .int(line.orderDiscount), "total": .int(line.total), "voided": .bool(line.voided),
                ]
            }),
            "subtotal": .int(totals.subtotal), "discount_total": .int(totals.discountTotal),
            "total_after_discounts": .int(totals.totalAfterDiscounts),
            "vat": .array(totals.vat.map { ["rate_bp": .int($0.rateBp), "gross": .int($0.gross), "vat": .int($0.vat), "net": .int($0.net)] }),
            "vat_total": .int(totals.vatTotal), "service_charge": .int(totals.serviceCharge), "tip": .int(totals.tip),
            "total_due": .int(totals.totalDue),
            "split_parts": parts.map { parts in
                .array(parts.map { part in
                    [
                        "line_ids": .array(part.lineIDs.map(JSONValue.string)), "goods": .int(part.goods),
                        "service_charge": .int(part.serviceCharge), "tip": .int(part.tip), "total": .int(part.total),
                    ]
                })
            } ?? .null,
        ]
    }
}
