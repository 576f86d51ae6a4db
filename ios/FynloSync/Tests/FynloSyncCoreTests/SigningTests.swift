import Foundation
import FynloSyncCore
import FynloSyncTesting
import Testing

private func hex(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite("SHA-256, HMAC-SHA256, PBKDF2-HMAC-SHA256: published vectors")
struct DigestVectorTests {
    /// FIPS 180-2 appendix B, and the block boundaries (55, 56, 64 bytes pad differently).
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        (String(repeating: "a", count: 55), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
        (String(repeating: "a", count: 56), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
        (String(repeating: "a", count: 64), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
    ])
    func sha256(_ message: String, _ digest: String) {
        #expect(Hex.string(SHA256.hash(Array(message.utf8))) == digest)
    }

    @Test func sha256OfAMillionAs() {
        let digest = SHA256.hash([UInt8](repeating: 0x61, count: 1_000_000))
        #expect(Hex.string(digest) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// RFC 4231 test cases 1-4, 6 and 7 (5 truncates, which we never do).
    @Test(arguments: [
        ("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        ("4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (String(repeating: "aa", count: 20), String(repeating: "dd", count: 50),
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        ("0102030405060708090a0b0c0d0e0f10111213141516171819", String(repeating: "cd", count: 50),
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        (String(repeating: "aa", count: 131),
         "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d2048617368204b6579204669727374",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        (String(repeating: "aa", count: 131),
         "5468697320697320612074657374207573696e672061206c6172676572207468616e20626c6f636b2d73697a65206b657920616e642061206c6172676572207468616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565647320746f20626520686173686564206265666f7265206265696e6720757365642062792074686520484d414320616c676f726974686d2e",
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ])
    func hmac(_ key: String, _ data: String, _ mac: String) throws {
        let key = try #require(Hex.bytes(key))
        let data = try #require(Hex.bytes(data))
        #expect(Hex.string(HMACSHA256.authenticate(data, key: key)) == mac)
    }

    /// RFC 6070's inputs with SHA-256 (as published in RFC 7914 §11 and by many libraries),
    /// including a key longer than one digest and NULs in password and salt.
    @Test(arguments: [
        ("password", "salt", 1, 32, "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"),
        ("password", "salt", 2, 32, "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"),
        ("password", "salt", 4096, 32, "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"),
        ("passwordPASSWORDpassword", "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, 40,
         "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9"),
        ("pass\0word", "sa\0lt", 4096, 16, "89b69d0516f829893c696226650a8687"),
        ("passwd", "salt", 1, 64,
         "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"),
    ])
    func pbkdf2(_ password: String, _ salt: String, _ iterations: Int, _ length: Int, _ derived: String) {
        let key = PBKDF2SHA256.derive(password: hex(password), salt: hex(salt), iterations: iterations, length: length)
        #expect(Hex.string(key) == derived)
    }

    @Test func hexRoundTripsAndRefusesJunk() {
        #expect(Hex.bytes("00ff7A") == [0, 255, 122])
        #expect(Hex.bytes("abc") == nil)
        #expect(Hex.bytes("zz") == nil)
        #expect(Hex.string([0, 255, 122]) == "00ff7a")
        #expect(Hex.constantTimeEqual([1, 2], [1, 2]) && !Hex.constantTimeEqual([1, 2], [1, 3]))
    }
}

@Suite("shared vectors: offline-proofs.json")
struct OfflineProofVectorTests {
    @Test func fileIsVersionOneAndUsesTheServersRounds() throws {
        let file = try VectorLoader.load("offline-proofs.json")
        #expect(file["version"] == 1)
        #expect((file["cases"].arrayValue ?? []).allSatisfy { $0["iterations"].intValue == OfflineProof.iterations })
    }

    /// Every step of every case: seed, key, verifier, statement, actor and approval proofs,
    /// and a store-signed change carries the same proofs.
    @Test(arguments: VectorCase.all("offline-proofs.json", "cases"))
    func derivesAndSignsAsTheServer(_ vector: VectorCase) throws {
        let json = vector.json
        let expect = json["expect"]
        let deviceID = try #require(json["device_id"].stringValue)
        let saltHex = try #require(json["salt"].stringValue)
        let salt = try #require(Hex.bytes(saltHex))
        let pin = try #require(json["pin"].stringValue)
        let iterations = try #require(json["iterations"].intValue)
        let verifier = try #require(expect["verifier"].stringValue)
        let actorProof = try #require(expect["actor_proof"].stringValue)
        let seed = OfflineProof.seed(pin: pin, salt: salt, iterations: iterations)
        #expect(Hex.string(seed) == expect["seed"].stringValue)
        let key = OfflineProof.deviceKey(seed: seed, deviceID: deviceID)
        #expect(Hex.string(key.bytes) == expect["key"].stringValue)
        #expect(OfflineProof.verifier(key) == expect["verifier"].stringValue)
        #expect(OfflineProof.verifies(key, verifierHex: verifier))
        #expect(!OfflineProof.verifies(SigningKey(seed), verifierHex: verifier))

        let change = try PendingChange(json: json["change"])
        let statement = OfflineProof.statement(deviceID: deviceID, change: change)
        #expect(statement == expect["statement"].stringValue)
        let permission = try #require(json["permission"].stringValue)
        #expect(OfflineProof.proof(key: key, purpose: "actor", statement: statement) == expect["actor_proof"].stringValue)
        #expect(
            OfflineProof.proof(key: key, purpose: OfflineProof.approvalPurpose(permission), statement: statement)
                == expect["approval_proof"].stringValue)

        let employee = try #require(json["employee_id"].stringValue)
        let signed = OfflineProof.signed(
            change,
            by: ChangeSigners(
                actor: ChangeSigner(employeeID: employee, key: key),
                approval: ApprovalSigner(approverID: employee, permission: permission, key: key)),
            deviceID: deviceID)
        #expect(signed.actor == ActorProof(employeeID: employee, proof: actorProof))
        #expect(signed.approval?.proof == expect["approval_proof"].stringValue)
        #expect(signed.json["actor"]["employee_id"].stringValue == employee)
        #expect(signed.json["approval"]["permission"].stringValue == permission)
        #expect(try PendingChange(json: signed.json) == signed)
    }

    @Test func canonicalJSONEscapesAsPython() {
        // json.dumps({...}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        let value: JSONValue = ["b": "\u{08}\u{0C}\u{01}\u{7F}\u{2028}é😀/\"\\\n\r\t", "a": [1, true, nil], "é": 0, "z": 1]
        #expect(JSONWriter.string(value) == #"{"a":[1,true,null],"b":"\b\f\u0001"# + "\u{7F}\u{2028}é😀/" + #"\"\\\n\r\t","z":1,"é":0}"#)
    }

    @Test func anUnsignedDraftMakesAnUnsignedChange() throws {
        var hlc: Hlc?
        let change = try Replica.change(
            seq: 1, draft: ChangeDraft(entityType: "order", entityID: "c3a1e6f0-3b2d-4c5e-8f9a-0b1c2d3e4f50", fields: ["covers": 2]),
            shown: nil, hlc: &hlc, deviceID: "8f1d4c2a-2b4e-4f5b-9d1e-3c6a7b8c9d0e", nowMs: 1_795_719_731_000)
        #expect(change.actor == nil && change.approval == nil)
        #expect(change.json["actor"].isNull && change.json.objectValue?["actor"] == nil)
    }

    /// How long one PIN check takes here (PBKDF2 at the server's 100,000 rounds): printed,
    /// and bounded loosely so a debug build on a busy machine still passes.
    @Test func aPinCheckAtTheServersRoundsIsTimed() {
        let start = ContinuousClock.now
        let key = OfflineProof.key(pin: "482615", salt: Array(0..<16), deviceID: "8f1d4c2a-2b4e-4f5b-9d1e-3c6a7b8c9d0e")
        let elapsed = ContinuousClock.now - start
        print("PBKDF2-HMAC-SHA256 at \(OfflineProof.iterations) rounds: \(elapsed)")
        #expect(Hex.string(key.bytes) == "63b82fbd9a54592c33e3aa8f9a0e0804c3ae71386ae09b4ae635560cc074339b")
        #expect(elapsed < .seconds(60))
    }
}
