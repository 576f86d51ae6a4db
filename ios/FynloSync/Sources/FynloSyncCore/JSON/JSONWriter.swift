import Foundation

/// Writes ``JSONValue`` as compact JSON with object keys in byte order, so the same value
/// always gives the same bytes: a frozen batch is resent byte for byte.
///
/// It is also the canonical JSON that change proofs sign (``OfflineProof``), which must match
/// Python's `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)` exactly:
/// UTF-8 byte order is code point order, as Python sorts; non-ASCII is written as itself;
/// `"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t` take their short escapes and other control
/// characters `\u00xx` (checked by `shared/schema/vectors/offline-proofs.json`).
public enum JSONWriter {
    public static func data(_ value: JSONValue) -> Data {
        Data(string(value).utf8)
    }

    public static func string(_ value: JSONValue) -> String {
        var out = ""
        write(value, into: &out)
        return out
    }

    private static func write(_ value: JSONValue, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .int(let number): out += String(number)
        case .double(let number):
            // JSON has no NaN or infinity; money never travels as a double anyway.
            if number.isFinite {
                out += "\(number)"
            } else {
                out += "null"
            }
        case .string(let text): writeString(text, into: &out)
        case .array(let items):
            out += "["
            for (offset, item) in items.enumerated() {
                if offset > 0 { out += "," }
                write(item, into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            // Sorted by UTF-8 bytes, as Python's sort_keys sorts ASCII keys.
            let keys = members.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            for (offset, key) in keys.enumerated() {
                if offset > 0 { out += "," }
                writeString(key, into: &out)
                out += ":"
                write(members[key]!, into: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
