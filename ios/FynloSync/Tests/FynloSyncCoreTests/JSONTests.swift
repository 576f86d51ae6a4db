import FynloSyncCore
import Testing

@Suite("JSON keeps what values mean")
struct JSONTests {
    @Test func integersDoublesAndBooleansStayApart() throws {
        let parsed = try JSONReader.parse(#"{"a": 1, "b": 1.0, "c": true, "d": 9007199254740993, "e": -2e3}"#)
        #expect(parsed["a"] == .int(1))
        #expect(parsed["b"] == .double(1.0))
        #expect(parsed["c"] == .bool(true))
        #expect(parsed["a"] != parsed["b"] && parsed["a"] != parsed["c"])
        #expect(parsed["d"] == .int(9_007_199_254_740_993))
        #expect(parsed["e"] == .double(-2000))
    }

    @Test func stringsRoundTripWithEscapes() throws {
        let text = "caf\u{E9} \"quoted\" \\ \n tab\t \u{1F600} \u{01}"
        let written = JSONWriter.string(.string(text))
        #expect(try JSONReader.parse(written) == .string(text))
        #expect(try JSONReader.parse(#""\ud83d\ude00""#) == .string("\u{1F600}"))
    }

    @Test func writerSortsKeysSoTheSameValueGivesTheSameBytes() {
        let a: JSONValue = ["b": 1, "a": [true, nil, "x"], "c": ["z": 1, "y": 2.5]]
        #expect(JSONWriter.string(a) == #"{"a":[true,null,"x"],"b":1,"c":{"y":2.5,"z":1}}"#)
    }

    @Test(arguments: ["", "{", "[1,]", "01", "1.", "tru", "\"open", "{\"a\" 1}", "1 2", "-"])
    func malformedInputIsRefused(_ text: String) {
        #expect(throws: JSONShapeError.self) { try JSONReader.parse(text) }
    }
}
