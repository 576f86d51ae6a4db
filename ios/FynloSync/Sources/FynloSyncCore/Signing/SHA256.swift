/// SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104) and PBKDF2-HMAC-SHA256 (RFC 8018) in plain
/// Swift: CryptoKit is Apple-only and the package takes no outside code. One implementation
/// on every platform, checked against FIPS 180-2, RFC 4231 and PBKDF2-SHA256 vectors and the
/// server's offline proofs (`shared/schema/vectors/offline-proofs.json`).
///
/// Speed matters for PBKDF2 (100,000 rounds per PIN check): each round is two compressions
/// from precomputed HMAC pad states, on fixed-size buffers with no allocation.
public enum SHA256 {
    public static let digestSize = 32
    static let blockSize = 64

    /// The digest of `message`.
    public static func hash<Bytes: Collection>(_ message: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var state = State.initial
        var block = [UInt8](repeating: 0, count: blockSize)
        var filled = 0
        var length: UInt64 = 0
        for byte in message {
            block[filled] = byte
            filled += 1
            length &+= 1
            if filled == blockSize {
                block.withUnsafeBufferPointer { state.compress(bytes: $0.baseAddress!) }
                filled = 0
            }
        }
        return finish(state: state, tail: Array(block[0..<filled]), totalLength: length)
    }

    /// Pads `tail` (the bytes after the last full block) and returns the digest.
    static func finish(state: State, tail: [UInt8], totalLength: UInt64) -> [UInt8] {
        var state = state
        var padded = tail
        padded.append(0x80)
        while padded.count % blockSize != blockSize - 8 { padded.append(0) }
        let bits = totalLength &* 8
        for shift in stride(from: 56, through: 0, by: -8) { padded.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        padded.withUnsafeBufferPointer { buffer in
            for offset in stride(from: 0, to: buffer.count, by: blockSize) {
                state.compress(bytes: buffer.baseAddress! + offset)
            }
        }
        return state.bytes
    }

    /// The eight working words.
    struct State {
        var h0, h1, h2, h3, h4, h5, h6, h7: UInt32

        static let initial = State(
            h0: 0x6a09_e667, h1: 0xbb67_ae85, h2: 0x3c6e_f372, h3: 0xa54f_f53a,
            h4: 0x510e_527f, h5: 0x9b05_688c, h6: 0x1f83_d9ab, h7: 0x5be0_cd19)

        var bytes: [UInt8] {
            var out = [UInt8]()
            out.reserveCapacity(32)
            for word in [h0, h1, h2, h3, h4, h5, h6, h7] {
                out.append(UInt8(truncatingIfNeeded: word >> 24))
                out.append(UInt8(truncatingIfNeeded: word >> 16))
                out.append(UInt8(truncatingIfNeeded: word >> 8))
                out.append(UInt8(truncatingIfNeeded: word))
            }
            return out
        }

        /// Compresses one 64-byte block read big-endian from `bytes`.
        mutating func compress(bytes: UnsafePointer<UInt8>) {
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { schedule in
                let w = schedule.baseAddress!
                for index in 0..<16 {
                    let at = bytes + index * 4
                    w[index] = UInt32(at[0]) << 24 | UInt32(at[1]) << 16 | UInt32(at[2]) << 8 | UInt32(at[3])
                }
                compress(schedule: w)
            }
        }

        /// Compresses one block already in `w[0..<16]` (the rest of `w`, 64 words, is scratch).
        mutating func compress(schedule w: UnsafeMutablePointer<UInt32>) {
            for index in 16..<64 {
                let x = w[index - 15]
                let y = w[index - 2]
                let s0 = (x >> 7 | x << 25) ^ (x >> 18 | x << 14) ^ (x >> 3)
                let s1 = (y >> 17 | y << 15) ^ (y >> 19 | y << 13) ^ (y >> 10)
                w[index] = w[index - 16] &+ s0 &+ w[index - 7] &+ s1
            }
            var a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7
            SHA256.roundConstants.withUnsafeBufferPointer { k in
                let k = k.baseAddress!
                for index in 0..<64 {
                    let s1 = (e >> 6 | e << 26) ^ (e >> 11 | e << 21) ^ (e >> 25 | e << 7)
                    let choice = (e & f) ^ (~e & g)
                    let t1 = h &+ s1 &+ choice &+ k[index] &+ w[index]
                    let s0 = (a >> 2 | a << 30) ^ (a >> 13 | a << 19) ^ (a >> 22 | a << 10)
                    let majority = (a & b) ^ (a & c) ^ (b & c)
                    let t2 = s0 &+ majority
                    h = g
                    g = f
                    f = e
                    e = d &+ t1
                    d = c
                    c = b
                    b = a
                    a = t1 &+ t2
                }
            }
            h0 = h0 &+ a
            h1 = h1 &+ b
            h2 = h2 &+ c
            h3 = h3 &+ d
            h4 = h4 &+ e
            h5 = h5 &+ f
            h6 = h6 &+ g
            h7 = h7 &+ h
        }
    }

    static let roundConstants: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]
}

/// HMAC-SHA256 (RFC 2104).
public enum HMACSHA256 {
    public static func authenticate<Key: Collection, Message: Collection>(
        _ message: Message, key: Key
    ) -> [UInt8] where Key.Element == UInt8, Message.Element == UInt8 {
        let pads = Pads(key: Array(key))
        let inner = SHA256.finishAfterBlock(pads.inner, message)
        return SHA256.finishAfterBlock(pads.outer, inner)
    }

    /// The states after the key's inner and outer pad blocks: every HMAC with one key starts
    /// from them, which halves PBKDF2's work.
    struct Pads {
        let inner: SHA256.State
        let outer: SHA256.State

        init(key: [UInt8]) {
            var block = key.count > SHA256.blockSize ? SHA256.hash(key) : key
            block += [UInt8](repeating: 0, count: SHA256.blockSize - block.count)
            var inner = SHA256.State.initial
            var outer = SHA256.State.initial
            block.map { $0 ^ 0x36 }.withUnsafeBufferPointer { inner.compress(bytes: $0.baseAddress!) }
            block.map { $0 ^ 0x5c }.withUnsafeBufferPointer { outer.compress(bytes: $0.baseAddress!) }
            self.inner = inner
            self.outer = outer
        }
    }
}

extension SHA256 {
    /// The digest of (one 64-byte block already compressed into `state`) + `message`.
    static func finishAfterBlock<Message: Collection>(_ state: State, _ message: Message) -> [UInt8]
    where Message.Element == UInt8 {
        var state = state
        let bytes = Array(message)
        let full = bytes.count / blockSize * blockSize
        bytes.withUnsafeBufferPointer { buffer in
            for offset in stride(from: 0, to: full, by: blockSize) { state.compress(bytes: buffer.baseAddress! + offset) }
        }
        return finish(state: state, tail: Array(bytes[full...]), totalLength: UInt64(blockSize + bytes.count))
    }
}

/// PBKDF2 with HMAC-SHA256 (RFC 8018 §5.2).
public enum PBKDF2SHA256 {
    public static func derive<Password: Collection, Salt: Collection>(
        password: Password, salt: Salt, iterations: Int, length: Int = SHA256.digestSize
    ) -> [UInt8] where Password.Element == UInt8, Salt.Element == UInt8 {
        precondition(iterations >= 1 && length >= 1, "PBKDF2 needs at least one round and one byte")
        let pads = HMACSHA256.Pads(key: Array(password))
        let salt = Array(salt)
        var output: [UInt8] = []
        var blockIndex: UInt32 = 1
        while output.count < length {
            let first = salt + [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: blockIndex >> UInt32($0)) }
            let u1 = SHA256.finishAfterBlock(pads.outer, SHA256.finishAfterBlock(pads.inner, first))
            output += rounds(pads: pads, first: u1, iterations: iterations)
            blockIndex += 1
        }
        return Array(output.prefix(length))
    }

    /// U1 xor U2 xor ... Un, where each U is an HMAC of the one before: a 32-byte message,
    /// so each HMAC half is one block with fixed padding (96 bytes hashed in all).
    private static func rounds(pads: HMACSHA256.Pads, first: [UInt8], iterations: Int) -> [UInt8] {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { schedule in
            let w = schedule.baseAddress!
            var u = words(first)
            var sum = u
            for _ in 1..<max(iterations, 1) {
                // Inner: the pad block (done) + U (32 bytes) + padding for 96 bytes.
                var inner = pads.inner
                load(w, u, bitLength: 96 * 8)
                inner.compress(schedule: w)
                // Outer: the pad block (done) + the inner digest + padding for 96 bytes.
                var outer = pads.outer
                load(w, (inner.h0, inner.h1, inner.h2, inner.h3, inner.h4, inner.h5, inner.h6, inner.h7), bitLength: 96 * 8)
                outer.compress(schedule: w)
                u = (outer.h0, outer.h1, outer.h2, outer.h3, outer.h4, outer.h5, outer.h6, outer.h7)
                sum = (
                    sum.0 ^ u.0, sum.1 ^ u.1, sum.2 ^ u.2, sum.3 ^ u.3, sum.4 ^ u.4, sum.5 ^ u.5, sum.6 ^ u.6,
                    sum.7 ^ u.7)
            }
            return SHA256.State(h0: sum.0, h1: sum.1, h2: sum.2, h3: sum.3, h4: sum.4, h5: sum.5, h6: sum.6, h7: sum.7).bytes
        }
    }

    typealias Words = (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)

    private static func words(_ bytes: [UInt8]) -> Words {
        func word(_ index: Int) -> UInt32 {
            UInt32(bytes[index * 4]) << 24 | UInt32(bytes[index * 4 + 1]) << 16 | UInt32(bytes[index * 4 + 2]) << 8
                | UInt32(bytes[index * 4 + 3])
        }
        return (word(0), word(1), word(2), word(3), word(4), word(5), word(6), word(7))
    }

    /// A block holding 32 bytes of `digest`, then 0x80, zeros and the 64-bit bit length.
    private static func load(_ w: UnsafeMutablePointer<UInt32>, _ digest: Words, bitLength: UInt32) {
        w[0] = digest.0
        w[1] = digest.1
        w[2] = digest.2
        w[3] = digest.3
        w[4] = digest.4
        w[5] = digest.5
        w[6] = digest.6
        w[7] = digest.7
        w[8] = 0x8000_0000
        w[9] = 0
        w[10] = 0
        w[11] = 0
        w[12] = 0
        w[13] = 0
        w[14] = 0
        w[15] = bitLength
    }
}

/// Lowercase hex, as the server writes keys, verifiers and proofs.
public enum Hex {
    public static func string<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of `text` (hex digits, either case, even length), or `nil`.
    public static func bytes(_ text: String) -> [UInt8]? {
        let scalars = Array(text.utf8)
        guard scalars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(scalars.count / 2)
        func nibble(_ char: UInt8) -> UInt8? {
            switch char {
            case 0x30...0x39: char - 0x30
            case 0x61...0x66: char - 0x61 + 10
            case 0x41...0x46: char - 0x41 + 10
            default: nil
            }
        }
        for index in stride(from: 0, to: scalars.count, by: 2) {
            guard let high = nibble(scalars[index]), let low = nibble(scalars[index + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        return out
    }

    /// Whether two equal-length byte strings are equal, in time independent of where they differ.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
