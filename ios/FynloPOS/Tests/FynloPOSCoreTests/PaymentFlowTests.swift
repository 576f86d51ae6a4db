import Foundation
import FynloPOSCore
import FynloPOSTesting
import FynloSyncCore
import FynloSyncTesting
import Testing

/// One till: a fake server, a journal that survives a kill, a store with an outbox, a
/// simulated reader, Apple Pay and a drawer, all on a clock the test moves.
@MainActor
final class PaymentRig {
    static let orderID = "c3a1e6f0-3b2d-4c5e-8f9a-0b1c2d3e4f50"
    let clock = ManualClock()
    let ids = SeededIDs(seed: 7)
    let api: FakePaymentsAPI
    let journal = MemoryPaymentJournal()
    let store = InMemorySyncStore(deviceID: "8f1d4c2a-2b4e-4f5b-9d1e-3c6a7b8c9d0e")
    let records: SyncedRecords
    let terminal: FakeCardTerminal
    let wallet = FakeWalletPay()
    let drawer = FakeCashDrawer()
    let sleeper: ManualSleeper

    init() {
        api = FakePaymentsAPI(clock: clock, ids: SeededIDs(seed: 99))
        terminal = FakeCardTerminal(clock: clock)
        sleeper = ManualSleeper(clock: clock, limit: 5_000)
        let engine = SyncEngine(
            configuration: .init(deviceID: "8f1d4c2a-2b4e-4f5b-9d1e-3c6a7b8c9d0e", appVersion: "test"), store: store,
            transport: FakeTransport(), clock: clock, sleeper: ManualSleeper(limit: 2))
        records = SyncedRecords(reader: store, engine: engine)
    }

    func model(
        amount: Int = 2_500, tip: Int = 0, partID: String = "whole", journal: (any PaymentJournal)? = nil,
        limits: OfflineCardLimits? = OfflineCardLimits(perPayment: 10_000, total: 100_000)
    ) -> PaymentFlowModel {
        PaymentFlowModel(
            due: PaymentDue(orderID: Self.orderID, partID: partID, amount: amount, tip: tip, label: "Table 4"),
            api: api, journal: journal ?? self.journal, records: records, terminal: terminal, wallet: wallet,
            drawer: drawer, clock: clock, sleeper: sleeper, ids: ids, offlineLimits: limits, employeeID: "e-alex")
    }

    func connectTapToPay() async {
        await terminal.connect(CardReader(id: "tap-to-pay", label: "This iPad", kind: .tapToPay))
    }

    func entities(_ type: String) async throws -> [EntityKey: LocalEntity] {
        try await records.entities(ofType: type)
    }
}

@Suite("payment flow: quotes")
@MainActor
struct PaymentQuoteTests {
    @Test func onlineTheServersQuoteListsEveryMethodWithItsFee() async {
        let rig = PaymentRig()
        let model = rig.model()
        await model.loadQuote()
        #expect(!model.isOffline)
        #expect(model.methods.first?.method == .cash)
        #expect(model.methods.first { $0.method == .openBanking }?.totalFee == 30)  // 5p + 25p on £25
        #expect(model.methods.first { $0.method == .cardPresent }?.totalFee == 70)
        #expect(model.methods.first { $0.method == .applePay }?.totalFee == 128)
    }

    @Test func offlineOnlyCashAndACardWithinTheCapAreListedWithTheFeeUnknown() async {
        let rig = PaymentRig()
        await rig.api.setOffline(true)
        let model = rig.model()
        await model.loadQuote()
        #expect(model.isOffline)
        #expect(model.methods.map(\.method) == [.cash, .cardPresent])
        #expect(model.methods[0].totalFee == 0)
        #expect(model.methods[1].totalFee == nil)
        #expect(model.offlineNote?.contains("up to £100.00") == true)
        #expect(model.offlineNote?.contains("Pay by bank and Apple Pay need the server") == true)

        let big = rig.model(amount: 20_000)
        await big.loadQuote()
        #expect(big.methods.map(\.method) == [.cash])
    }
}

@Suite("payment flow: pay by bank")
@MainActor
struct PayByBankTests {
    @Test func theQRCountsDownFromTheClockAndTheSocketMovesItToPaid() async throws {
        let rig = PaymentRig()
        let model = rig.model()
        await model.payByBank()
        #expect(model.stage == .awaitingBank)
        let payment = try #require(model.payment)
        #expect(model.qr?.link.contains("/pay/\(payment.id)?t=") == true)
        #expect(model.qrImage.map { String(decoding: $0, as: UTF8.self) }?.hasPrefix("png of https://") == true)
        #expect(model.secondsLeft == 900)

        rig.clock.advance(by: .seconds(61))
        model.tick()
        #expect(model.secondsLeft == 839)
        #expect(PaymentWords.countdown(model.secondsLeft ?? 0) == "13:59")

        await rig.api.approve(payment.id)
        await model.received(.paymentStatus(paymentID: payment.id, orderID: PaymentRig.orderID, method: "open_banking", state: "authorizing"))
        #expect(model.stage == .awaitingBank)
        #expect(model.message.contains("waiting for their bank"))

        await rig.api.execute(payment.id)
        await model.received(.paymentStatus(paymentID: payment.id, orderID: PaymentRig.orderID, method: "open_banking", state: "succeeded"))
        #expect(model.stage == .paid)
        #expect(model.settlementNote?.contains("seconds to minutes") == true)

        await rig.api.settle(payment.id)
        await model.refresh()
        #expect(model.settlementNote == PaymentWords.settlement(.settled))
        #expect(await rig.api.charges == 1)
        #expect(await rig.journal.unfinished().isEmpty)
    }

    @Test func withoutTheSocketPollingFindsThePayment() async throws {
        let rig = PaymentRig()
        let model = rig.model()
        await model.payByBank()
        let id = try #require(model.payment?.id)
        await rig.api.execute(id)
        await rig.api.settle(id)
        await model.watch(pollEvery: .seconds(3))  // returns once paid and settled
        #expect(model.stage == .paid)
        #expect(model.payment?.settlement == .settled)
        #expect(await rig.sleeper.sleeps.count == 3)
    }

    @Test func atZeroTheOtherMethodsAreOfferedAtOnceForTheSameAmount() async throws {
        let rig = PaymentRig()
        let model = rig.model(amount: 1_800, tip: 200)
        await model.payByBank()
        let id = try #require(model.payment?.id)
        rig.clock.advance(by: .seconds(899))
        model.tick()
        #expect(model.stage == .awaitingBank)
        #expect(model.secondsLeft == 1)
        rig.clock.advance(by: .seconds(1))
        model.tick()
        #expect(model.stage == .notPaid(.expired))
        #expect(model.offers == [.cardPresent, .applePay, .cash])
        #expect(model.message.contains("15 minutes"))

        // The server expires it too; then cash for the same amount and tip.
        await rig.api.expire(id)
        await model.refresh()
        #expect(model.stage == .notPaid(.expired))
        await model.payCash(tendered: 2_000)
        #expect(model.stage == .paid)
        #expect(model.change == 0)
        let cash = try #require(try await rig.entities("cash_payment").values.first)
        #expect(cash.data["amount"] == 1_800)
        #expect(cash.data["tip"] == 200)
    }

    @Test func aDeclineOffersCardApplePayAndCashAndTheCardPays() async throws {
        let rig = PaymentRig()
        await rig.connectTapToPay()
        let model = rig.model()
        await model.payByBank()
        let id = try #require(model.payment?.id)
        await rig.api.decline(id)
        await model.received(.paymentStatus(paymentID: id, orderID: PaymentRig.orderID, method: "open_banking", state: "failed"))
        #expect(model.stage == .notPaid(.failed))
        #expect(model.offers == [.cardPresent, .applePay, .cash])
        #expect(model.message.contains("declined or cancelled at their bank"))

        await model.payByCard()
        #expect(model.stage == .paid)
        #expect(model.payment?.method == .cardPresent)
        #expect(model.payment?.amount == 2_500)
        #expect(await rig.api.charges == 1)
    }

    @Test func aPaymentAfterExpiryIsALateSuccessAndSaysSo() async throws {
        let rig = PaymentRig()
        let model = rig.model()
        await model.payByBank()
        let id = try #require(model.payment?.id)
        rig.clock.advance(by: .seconds(900))
        model.tick()
        #expect(model.stage == .notPaid(.expired))
        await rig.api.expire(id)
        // The payer's bank sends the money all the same.
        await rig.api.execute(id)
        await model.received(.paymentAttention(paymentID: id, orderID: PaymentRig.orderID, why: "late_success"))
        #expect(model.stage == .paid)
        #expect(model.lateNote?.contains("paid twice") == true)
    }

    @Test func aStalledSettlementKeepsTheOrderPaidAndSaysSo() async throws {
        let rig = PaymentRig()
        let model = rig.model()
        await model.payByBank()
        let id = try #require(model.payment?.id)
        await rig.api.execute(id)
        await model.refresh()
        #expect(model.stage == .paid)
        await rig.api.settle(id, as: .stalled)
        await model.refresh()
        #expect(model.stage == .paid)
        #expect(model.settlementNote?.contains("may not arrive") == true)
    }

    @Test func anExpiredQRTheBankPaysAfterTheCardIsFlaggedAsPaidTwice() async throws {
        let rig = PaymentRig()
        await rig.connectTapToPay()
        let model = rig.model()
        await model.payByBank()
        let qr = try #require(model.payment?.id)
        rig.clock.advance(by: .seconds(900))
        model.tick()
        await model.take(model.offers[0])  // card in person, at once, for the same amount
        #expect(model.stage == .paid)
        #expect(model.payment?.method == .cardPresent)
        #expect(model.lateNote == nil)
        await rig.api.execute(qr)
        await model.received(.paymentStatus(paymentID: qr, orderID: PaymentRig.orderID, method: "open_banking", state: "succeeded"))
        #expect(model.stage == .paid)
        #expect(model.lateNote?.contains("paid twice") == true)
        #expect(await rig.api.charges == 2)
    }

    @Test func offlinePayByBankAndApplePaySayTheyNeedTheServer() async throws {
        let rig = PaymentRig()
        await rig.api.setOffline(true)
        let model = rig.model()
        await model.loadQuote()
        await model.payByBank()
        #expect(model.message.hasPrefix("Pay by bank needs the server"))
        await model.payWithApplePay()
        #expect(model.message.hasPrefix("Apple Pay needs the server"))
        #expect(await rig.api.createCalls == 0)
        #expect(await rig.wallet.sheets.isEmpty)
        // Back online, the next tap asks the quote again and goes ahead.
        await rig.api.setOffline(false)
        await model.payByBank()
        #expect(model.stage == .awaitingBank)
        #expect(!model.isOffline)
    }

    @Test func afterADeclineApplePayTakesTheSameAmount() async throws {
        let rig = PaymentRig()
        let model = rig.model(amount: 1_250, tip: 100)
        await model.payByBank()
        let id = try #require(model.payment?.id)
        await rig.api.decline(id)
        await model.refresh()
        #expect(model.offers.contains(.applePay))
        await model.take(.applePay)
        #expect(model.stage == .paid)
        #expect(await rig.wallet.sheets == [1_350])
        #expect(model.payment?.amount == 1_250)
        #expect(model.payment?.tip == 100)
    }

    @Test func switchingToCashWhileTheQRIsUpCancelsTheQRFirst() async throws {
        let rig = PaymentRig()
        let model = rig.model()
        await model.payByBank()
        let qr = try #require(model.payment?.id)
        await model.payCash(tendered: 3_000)
        #expect(model.stage == .paid)
        #expect(await rig.api.payments[qr]?.state == .canceled)  // its amount no longer blocks the order
        #expect(await rig.journal.unfinished().isEmpty)
    }

    @Test func switchingToCashWhenTheServerIsGoneLeavesTheQRToBeCancelledLater() async throws {
        let rig = PaymentRig()
        let model = rig.model()
        await model.payByBank()
        let qr = try #require(model.payment?.id)
        await rig.api.setOffline(true)
        await model.payCash(tendered: 2_500)
        #expect(model.stage == .paid)
        // The QR's create, marked abandoned, and the cancel that could not be sent.
        #expect(await rig.journal.unfinished().map(\.kind) == [.create, .cancel])
        #expect(await rig.journal.unfinished().first?.abandoned == true)
        await rig.api.setOffline(false)
        await rig.model(journal: rig.journal.reopened()).resume()
        #expect(await rig.api.payments[qr]?.state == .canceled)
        #expect(await rig.journal.unfinished().isEmpty)
    }

    @Test func staffCancelFreesTheAmount() async throws {
        let rig = PaymentRig()
        let model = rig.model()
        await model.payByBank()
        await model.cancel()
        #expect(model.stage == .notPaid(.canceled))
        #expect(model.payment?.state == .canceled)
        #expect(await rig.journal.unfinished().isEmpty)
    }
}

@Suite("payment flow: card in person, Apple Pay, cash")
@MainActor
struct CardWalletCashTests {
    @Test func readersAreFoundTapToPayFirstAndOneIsConnected() async throws {
        let rig = PaymentRig()
        let terminal = FakeCardTerminal(clock: rig.clock, readers: [
            CardReader(id: "tmr_1", label: "Bar reader", kind: .internet),
            CardReader(id: "tap", label: "This iPad", kind: .tapToPay),
        ])
        let model = PaymentFlowModel(
            due: PaymentDue(orderID: PaymentRig.orderID, amount: 900), api: rig.api, journal: rig.journal,
            records: rig.records, terminal: terminal, clock: rig.clock, sleeper: rig.sleeper, ids: rig.ids)
        await model.payByCard()
        #expect(model.message == "Connect a card reader (or Tap to Pay) first.")
        await model.findReaders()
        #expect(model.readers.map(\.id) == ["tap", "tmr_1"])
        await model.use(model.readers[0])
        #expect(model.reader?.kind == .tapToPay)
        await model.payByCard()
        #expect(model.stage == .paid)
    }

    @Test func aTappedCardIsCollectedByTheTerminalAndCapturedByTheServer() async throws {
        let rig = PaymentRig()
        await rig.connectTapToPay()
        let model = rig.model(tip: 300)
        await model.payByCard()
        #expect(model.stage == .paid)
        let payment = try #require(model.payment)
        #expect(payment.tip == 300)
        #expect(await rig.terminal.collected == ["pi_\(payment.id)_secret"])
        let calls = await rig.api.calls
        #expect(calls.contains { if case .capture(_, let id) = $0 { return id == payment.id } else { return false } })
        #expect(await rig.api.charges == 1)
    }

    @Test func aDeclinedCardIsCancelledAndTheOtherMethodsOffered() async throws {
        let rig = PaymentRig()
        await rig.connectTapToPay()
        await rig.terminal.setNextCollection(.declined(code: "insufficient_funds"))
        let model = rig.model()
        await model.payByCard()
        #expect(model.stage == .notPaid(.failed))
        #expect(model.message.contains("insufficient_funds"))
        #expect(model.offers.contains(.applePay) && model.offers.contains(.cash))
        #expect(model.payment?.state == .canceled)  // the amount is free for the next method
        #expect(await rig.api.charges == 0)
    }

    @Test func aSmartReaderIsDrivenByTheServer() async throws {
        let rig = PaymentRig()
        await rig.terminal.connect(CardReader(id: "tmr_1", label: "Bar reader", kind: .internet))
        let model = rig.model()
        await model.payByCard()
        #expect(model.stage == .awaitingCard)
        #expect(model.payment?.readerID == "tmr_1")
        #expect(await rig.terminal.collected.isEmpty)
    }

    @Test func offlineACardWithinTheCapsIsStoredAndRecordedForSync() async throws {
        let rig = PaymentRig()
        await rig.connectTapToPay()
        await rig.api.setOffline(true)
        let model = rig.model(amount: 4_000, tip: 500)
        await model.loadQuote()
        await model.payByCard()
        #expect(model.stage == .paid)
        #expect(model.storedOffline)
        let (key, card) = try #require(try await rig.entities("offline_card_payment").first)
        #expect(await rig.terminal.storedOffline(paymentID: key.entityID) != nil)
        #expect(card.data["order_id"] == .string(PaymentRig.orderID))
        #expect(card.data["amount"] == 4_000)
        #expect(card.data["tip"] == 500)
        #expect(card.data["currency"] == "GBP")
        #expect(card.data["employee_id"] == "e-alex")
        #expect(card.data["stored_at"]?.stringValue?.hasSuffix("Z") == true)
        #expect(await rig.store.pendingChanges().map(\.entityType) == ["offline_card_payment"])
        #expect(await rig.journal.unfinished().isEmpty)
    }

    @Test func offlineACardOverEitherCapIsRefused() async throws {
        let rig = PaymentRig()
        await rig.connectTapToPay()
        await rig.api.setOffline(true)
        let overOne = rig.model(amount: 10_001)
        await overOne.loadQuote()
        await overOne.payByCard()
        #expect(overOne.stage == .choosing)
        #expect(overOne.message.contains("at most £100.00"))

        let terminal = FakeCardTerminal(clock: rig.clock, heldOffline: 95_000)
        await terminal.connect(CardReader(id: "t", label: "t", kind: .tapToPay))
        let full = PaymentFlowModel(
            due: PaymentDue(orderID: PaymentRig.orderID, amount: 6_000), api: rig.api, journal: rig.journal,
            records: rig.records, terminal: terminal, clock: rig.clock, sleeper: rig.sleeper, ids: rig.ids,
            offlineLimits: OfflineCardLimits(perPayment: 10_000, total: 100_000))
        await full.loadQuote()
        await full.payByCard()
        #expect(full.stage == .choosing)
        #expect(full.message.contains("already holds £950.00"))

        let unknown = rig.model(amount: 1_000, limits: nil)
        await unknown.loadQuote()
        await unknown.payByCard()
        #expect(unknown.message.contains("limits"))
        #expect(try await rig.entities("offline_card_payment").isEmpty)
    }

    @Test func applePaySendsTheWalletsTokenToTheServer() async throws {
        let rig = PaymentRig()
        let model = rig.model(tip: 250)
        await model.payWithApplePay()
        #expect(model.stage == .paid)
        #expect(await rig.wallet.sheets == [2_750])
        #expect(model.payment?.method == .applePay)

        let declined = PaymentRig()
        await declined.wallet.setToken("tok_decline")
        let other = declined.model()
        await other.payWithApplePay()
        #expect(other.stage == .notPaid(.failed))
        #expect(other.offers.first == .cardPresent)
        #expect(!other.offers.contains(.applePay))

        let cancelled = PaymentRig()
        await cancelled.wallet.setToken(nil)
        let third = cancelled.model()
        await third.payWithApplePay()
        #expect(third.stage == .choosing)
        #expect(await cancelled.api.createCalls == 0)
    }

    @Test func cashShowsTheChangeOpensTheDrawerAndIsRecordedForSync() async throws {
        let rig = PaymentRig()
        let model = rig.model(amount: 2_340, tip: 160)
        await model.payCash(tendered: 2_000)
        #expect(model.stage == .choosing)
        #expect(model.message.contains("less than the £25.00 due"))

        await model.payCash(tendered: 3_000)
        #expect(model.stage == .paid)
        #expect(model.change == 500)
        #expect(model.message.contains("£5.00"))
        #expect(await rig.drawer.opened == 1)
        let cash = try #require(try await rig.entities("cash_payment").values.first)
        #expect(cash.data["amount"] == 2_340)
        #expect(cash.data["tendered"] == 3_000)
        #expect(cash.data["tip"] == 160)
        #expect(cash.data["currency"] == "GBP")
        #expect(cash.data["taken_at"]?.stringValue != nil)
        #expect(await rig.store.pendingChanges().count == 1)
        #expect(await rig.api.createCalls == 0)  // cash never needs the server
    }

    @Test func aJammedDrawerDoesNotUndoThePayment() async throws {
        let rig = PaymentRig()
        await rig.drawer.jam()
        let model = rig.model()
        await model.payCash(tendered: 2_500)
        #expect(model.stage == .paid)
        #expect(model.message.contains("open it by hand"))
    }
}
