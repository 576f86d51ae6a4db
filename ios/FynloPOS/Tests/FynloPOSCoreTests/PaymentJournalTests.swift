import Foundation
import FynloPOSCore
import FynloPOSTesting
import FynloSyncCore
import FynloSyncTesting
import Testing

/// Every payment call carries an Idempotency-Key kept in the journal before it is sent; a
/// till killed at any point, relaunched and tapped again, never pays twice.
@Suite("payment journal: retries across a kill")
@MainActor
struct PaymentJournalTests {
    private func keys(_ calls: [FakePaymentsAPI.Call]) -> [String] {
        calls.compactMap { if case .create(let key, _) = $0 { return key } else { return nil } }
    }

    @Test func anApplePayAnswerLostThenAKillThenATapAgainPaysOnce() async throws {
        let rig = PaymentRig()
        await rig.api.loseNextAnswer(3)  // the tap's three sends all lose their answers
        let first = rig.model()
        await first.payWithApplePay()
        #expect(first.stage == .interrupted)
        #expect(first.message.contains("will not be taken twice"))
        #expect(await rig.api.charges == 1)  // the server charged; the till never heard
        let journaled = try #require(await rig.journal.unfinished().first)
        #expect(journaled.request?.walletToken == "tok_apple_pay")

        // The app is killed. Relaunched, the same part is tapped again.
        let relaunched = rig.model(journal: rig.journal.reopened())
        await relaunched.payWithApplePay()
        #expect(relaunched.stage == .paid)
        #expect(await rig.wallet.sheets.count == 1)  // no second sheet: the first one paid
        #expect(await rig.api.charges == 1)
        let keys = keys(await rig.api.calls)
        #expect(keys.count == 4)
        #expect(Set(keys) == [journaled.id])
        #expect(await rig.journal.unfinished().isEmpty)
    }

    @Test func killedAfterJournalingBeforeSendingTheRelaunchSendsWithTheSameKey() async throws {
        let rig = PaymentRig()
        // What a till killed between saving the step and sending it leaves behind.
        let request = PaymentRequest(orderID: PaymentRig.orderID, method: .applePay, amount: 2_500, walletToken: "tok_1")
        try await rig.journal.save(
            PaymentAttempt(id: "key-1", kind: .create, orderID: PaymentRig.orderID, partID: "whole", request: request, startedAtMs: 0))
        let relaunched = rig.model(journal: rig.journal.reopened())
        await relaunched.resume()
        #expect(relaunched.stage == .paid)
        #expect(keys(await rig.api.calls) == ["key-1"])
        // A second relaunch has nothing left to do.
        await rig.model(journal: rig.journal.reopened()).resume()
        #expect(keys(await rig.api.calls) == ["key-1"])
        #expect(await rig.api.charges == 1)
    }

    @Test func aQRWhoseAnswerWasLostIsShownAgainNotMadeTwice() async throws {
        let rig = PaymentRig()
        await rig.api.loseNextAnswer(3)
        let first = rig.model()
        await first.payByBank()
        #expect(first.stage == .interrupted)
        let relaunched = rig.model(journal: rig.journal.reopened())
        await relaunched.payByBank()  // the tap again: the first QR, not a new one
        #expect(relaunched.stage == .awaitingBank)
        #expect(await rig.api.payments.count == 1)
        let id = try #require(relaunched.payment?.id)
        await rig.api.execute(id)
        await relaunched.refresh()
        #expect(relaunched.stage == .paid)
        #expect(await rig.journal.unfinished().isEmpty)
    }

    @Test func aCardWaitingWhenTheTillDiedIsCancelledBeforeANewPayment() async throws {
        let rig = PaymentRig()
        await rig.connectTapToPay()
        // Killed while the reader waited for the card: the create was answered, the card never collected.
        let request = PaymentRequest(orderID: PaymentRig.orderID, method: .cardPresent, amount: 2_500)
        let waiting = try await rig.api.create(request, idempotencyKey: "key-card")
        try await rig.journal.save(
            PaymentAttempt(
                id: "key-card", kind: .create, orderID: PaymentRig.orderID, partID: "whole", request: request,
                paymentID: waiting.id, startedAtMs: 0))
        let relaunched = rig.model(journal: rig.journal.reopened())
        await relaunched.payCash(tendered: 2_500)
        #expect(relaunched.stage == .paid)
        #expect(await rig.api.payments[waiting.id]?.state == .canceled)
        #expect(await rig.api.charges == 0)
        #expect(try await rig.entities("cash_payment").count == 1)
    }

    @Test func cashRecordedJustBeforeTheKillIsNotRecordedAgain() async throws {
        let rig = PaymentRig()
        let fields: [String: JSONValue] = [
            "order_id": .string(PaymentRig.orderID), "amount": 2_500, "tendered": 3_000, "currency": "GBP",
            "taken_at": "2026-01-01T00:00:00.000Z",
        ]
        let attempt = PaymentAttempt(id: "5b7e0c4e-0000-4000-8000-000000000001", kind: .cash, orderID: PaymentRig.orderID, partID: "whole", fields: fields, startedAtMs: 0)
        try await rig.journal.save(attempt)
        try await rig.records.record(ChangeDraft(entityType: "cash_payment", entityID: attempt.id, fields: fields))
        // Killed before the journal heard it was recorded. Relaunched:
        let relaunched = rig.model(journal: rig.journal.reopened())
        await relaunched.payCash(tendered: 3_000)
        #expect(relaunched.stage == .paid)
        #expect(relaunched.change == 500)
        #expect(await rig.store.pendingChanges().count == 1)
        #expect(try await rig.entities("cash_payment").count == 1)
        #expect(await rig.drawer.opened == 0)  // the drawer opened before the kill
    }

    @Test func aCardTheReaderStoredOfflineBeforeTheKillIsRecordedOnRelaunch() async throws {
        let rig = PaymentRig()
        await rig.connectTapToPay()
        let id = "0d7b1d2e-1111-4111-8111-000000000002"
        try await rig.journal.save(
            PaymentAttempt(id: id, kind: .offlineCard, orderID: PaymentRig.orderID, partID: "whole", startedAtMs: 0))
        await rig.terminal.storeBehindTheAppsBack(OfflineCardIntent(paymentID: id, amount: 2_500, tip: 0, currency: "GBP"))
        let relaunched = rig.model(journal: rig.journal.reopened())
        await relaunched.resume()
        #expect(relaunched.stage == .paid)
        #expect(try await rig.entities("offline_card_payment").keys.map(\.entityID) == [id])

        // And one it never stored is forgotten: nothing was taken.
        let other = PaymentRig()
        try await other.journal.save(
            PaymentAttempt(id: "x", kind: .offlineCard, orderID: PaymentRig.orderID, partID: "whole", startedAtMs: 0))
        let again = other.model()
        await again.resume()
        #expect(again.stage == .choosing)
        #expect(await other.journal.unfinished().isEmpty)
    }

    @Test func nothingIsSentUnlessTheStepWasJournaledFirst() async throws {
        let rig = PaymentRig()
        await rig.journal.refuseSaves(true)
        let model = rig.model()
        await model.payWithApplePay()
        #expect(model.stage == .interrupted)
        #expect(await rig.api.createCalls == 0)
        await model.payCash(tendered: 2_500)
        #expect(try await rig.entities("cash_payment").isEmpty)
    }

    @Test func aCreateLostWhileOfflineIsAbandonedWhenTheTillTakesCashInstead() async throws {
        let rig = PaymentRig()
        await rig.api.loseNextAnswer(3)  // the QR was made at the server, the answer lost
        let model = rig.model()
        await model.payByBank()
        #expect(model.stage == .interrupted)
        await rig.api.setOffline(true)
        await model.payCash(tendered: 2_500)  // the diner pays cash meanwhile
        #expect(model.stage == .paid)
        #expect(await rig.journal.unfinished().first?.abandoned == true)
        // Back online, the lost QR is cancelled, not shown.
        await rig.api.setOffline(false)
        let later = rig.model(journal: rig.journal.reopened())
        await later.resume()
        #expect(await rig.api.payments.values.map(\.state) == [.canceled])
        #expect(await rig.journal.unfinished().isEmpty)
    }

    @Test func splitPartsCarryOnSeparately() async throws {
        let rig = PaymentRig()
        await rig.api.loseNextAnswer(3)
        await rig.model(amount: 1_000, partID: "seat-1").payWithApplePay()
        let seat2 = rig.model(amount: 1_500, partID: "seat-2", journal: rig.journal.reopened())
        await seat2.payWithApplePay()  // its own payment; seat 1's stays journaled
        #expect(seat2.stage == .paid)
        #expect(await rig.journal.unfinished().map(\.partID) == ["seat-1"])
        #expect(await rig.api.charges == 2)
    }

    @Test func theFileJournalKeepsAttemptsAcrossAReopen() async throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("fynlo-journal-\(UUID().uuidString)/payments.json")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let request = PaymentRequest(orderID: PaymentRig.orderID, method: .cash, amount: 300, tip: 20, tendered: 500)
        let journal = try FilePaymentJournal(url: url)
        try await journal.save(
            PaymentAttempt(id: "k1", kind: .create, orderID: PaymentRig.orderID, partID: "p", request: request, startedAtMs: 5))
        try await journal.save(
            PaymentAttempt(id: "k2", kind: .cash, orderID: PaymentRig.orderID, partID: "p", fields: ["amount": 300], startedAtMs: 6))
        try await journal.finish("k2")

        let reopened = try FilePaymentJournal(url: url)
        let attempts = await reopened.unfinished()
        #expect(attempts.map(\.id) == ["k1"])
        #expect(attempts.first?.request == request)
        #expect(attempts.first?.startedAtMs == 5)
    }

    @Test func theFileJournalKeepsReceiptsAcrossAReopenAndForgetsOldOnes() async throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("fynlo-journal-\(UUID().uuidString)/payments.json")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        // A journal written before receipts were kept opens with none.
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(#"{"attempts":[]}"#.utf8).write(to: url)
        let journal = try FilePaymentJournal(url: url)
        #expect(await journal.receipts(for: PaymentRig.orderID).isEmpty)

        let day = 24 * 3_600_000
        let card = PaymentReceipt(
            id: "P-1", orderID: PaymentRig.orderID, partID: "equally/2/1", method: .online, amount: 1_200, tip: 100,
            takenAtMs: 10 * day)
        try await journal.keep(card)
        try await journal.keep(
            PaymentReceipt(id: "p-2", orderID: PaymentRig.orderID, partID: "equally/2/2", method: .cash, amount: 1_300, takenAtMs: 10 * day + 5))
        try await journal.keep(
            PaymentReceipt(id: "p-3", orderID: "another", partID: "whole", method: .online, amount: 900, takenAtMs: 10 * day + 6))
        // Kept again later (a poll of a paid payment): still taken when first kept.
        var again = card
        again.takenAtMs = 11 * day
        try await journal.keep(again)

        let reopened = try FilePaymentJournal(url: url)
        let receipts = await reopened.receipts(for: PaymentRig.orderID.uppercased())
        #expect(receipts.map(\.id) == ["p-1", "p-2"])
        #expect(receipts.first == card)
        try await reopened.dropReceipt("p-2")
        // A receipt a week newer than the others: they are forgotten.
        try await reopened.keep(
            PaymentReceipt(id: "p-4", orderID: "another", partID: "whole", method: .cash, amount: 100, takenAtMs: 18 * day))
        #expect(await reopened.receipts(for: PaymentRig.orderID).isEmpty)
        #expect(await (try FilePaymentJournal(url: url)).receipts(for: "another").map(\.id) == ["p-4"])
    }
}
