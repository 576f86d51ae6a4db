import FynloPOSCore
import FynloPOSTesting
import FynloSyncCore
import FynloSyncTesting
import Testing

/// Refunds on the till: a manager's approval by PIN (online: the server's token goes with
/// the request), and one refund however often the till is killed on the way.
@MainActor
@Suite("refunds")
struct RefundModelTests {
    let order = "c3a1e6f0-3b2d-4c5e-8f9a-0b1c2d3e4f50"

    func paidByApplePay(_ api: FakePaymentsAPI) async throws -> PaymentView {
        let view = try await api.create(
            PaymentRequest(orderID: order, method: .applePay, amount: 2_500, walletToken: "tok_visa"),
            idempotencyKey: "pay-1")
        #expect(view.state == .succeeded)
        return view
    }

    /// Waits until the model opens the approval sheet, then `answer` closes it.
    func whenAsked(_ till: StaffTill, _ answer: @MainActor () async -> Void) async {
        for _ in 0..<200 where till.approvals.pending == nil { await Task.yield() }
        #expect(till.approvals.pending?.permission == PermissionTable.paymentsRefund)
        await answer()
    }

    @Test func aCashierRefundsWithAManagersPinAndTheServersTokenGoesWithIt() async throws {
        let till = StaffTill()
        await till.session.signIn(employeeID: FakeStaffAuth.alex.id, pin: FakeStaffAuth.alex.pin)
        let api = FakePaymentsAPI(clock: till.clock, ids: SeededIDs(seed: 1))
        let model = RefundModel(
            payment: try await paidByApplePay(api), api: api, journal: MemoryPaymentJournal(), approvals: till.approvals,
            ids: SeededIDs(seed: 2), clock: till.clock)

        async let refunding: Void = model.refund(amount: 1_000, reason: "cold soup")
        await whenAsked(till) { await till.approvals.answer(approverID: FakeStaffAuth.maya.id, pin: FakeStaffAuth.maya.pin) }
        await refunding

        guard case .answered(let refund) = model.stage else { Issue.record("\(model.stage)"); return }
        #expect(refund.amount == 1_000 && refund.state == "succeeded")
        #expect(await api.refunds.count == 1)
        #expect(await till.auth.approvals.map(\.permission) == ["payments.refund"])
    }

    @Test func noApprovalNoRefund() async throws {
        let till = StaffTill()
        await till.session.signIn(employeeID: FakeStaffAuth.alex.id, pin: FakeStaffAuth.alex.pin)
        let api = FakePaymentsAPI(clock: till.clock)
        let model = RefundModel(
            payment: try await paidByApplePay(api), api: api, journal: MemoryPaymentJournal(), approvals: till.approvals)

        async let refunding: Void = model.refund(amount: nil, reason: "wrong table")
        await whenAsked(till) { till.approvals.cancel() }
        await refunding

        #expect(model.stage == .notRefunded("Not refunded: no manager approved it."))
        #expect(await api.refunds.isEmpty)
    }

    @Test func aManagerRefundsAloneAndBadAmountsAreRefusedBeforeAnything() async throws {
        let till = StaffTill()
        await till.session.signIn(employeeID: FakeStaffAuth.maya.id, pin: FakeStaffAuth.maya.pin)
        let api = FakePaymentsAPI(clock: till.clock)
        let model = RefundModel(
            payment: try await paidByApplePay(api), api: api, journal: MemoryPaymentJournal(), approvals: till.approvals)

        await model.refund(amount: 2_501, reason: "too much")
        await model.refund(amount: 100, reason: "  ")
        #expect(await api.refunds.isEmpty)
        await model.refund(amount: nil, reason: "wrong table")
        guard case .answered(let refund) = model.stage else { Issue.record("\(model.stage)"); return }
        #expect(refund.amount == 2_500)
        #expect(till.approvals.pending == nil, "a manager holds payments.refund: no sheet")
    }

    @Test func killedWhileTheAnswerWasLostTheSameRefundIsSentAgainAndMadeOnce() async throws {
        let till = StaffTill()
        await till.session.signIn(employeeID: FakeStaffAuth.maya.id, pin: FakeStaffAuth.maya.pin)
        let api = FakePaymentsAPI(clock: till.clock)
        let payment = try await paidByApplePay(api)
        let journal = MemoryPaymentJournal()
        let first = RefundModel(payment: payment, api: api, journal: journal, approvals: till.approvals)

        await api.loseNextAnswer()
        await first.refund(amount: 700, reason: "cold soup")
        guard case .notRefunded = first.stage else { Issue.record("\(first.stage)"); return }
        #expect(await api.refunds.count == 1, "the server made it; the till never heard")

        // The app is killed and opened again: the refund screen picks up what was on its way.
        let again = RefundModel(payment: payment, api: api, journal: journal, approvals: till.approvals)
        await again.resume()
        guard case .answered(let refund) = again.stage else { Issue.record("\(again.stage)"); return }
        #expect(refund.amount == 700)
        #expect(await api.refunds.count == 1, "refunded once")
        #expect(await journal.unfinished().isEmpty)
        let keys = await api.calls.compactMap { call -> String? in
            if case .refund(let key, _) = call { return key } else { return nil }
        }
        #expect(keys.count == 2 && Set(keys).count == 1, "the same key both times")
    }

    @Test func theScreenSaysWhereTheRefundStandsInWords() async throws {
        let till = StaffTill()
        await till.session.signIn(employeeID: FakeStaffAuth.alex.id, pin: FakeStaffAuth.alex.pin)
        let api = FakePaymentsAPI(clock: till.clock)
        let model = RefundModel(
            payment: try await paidByApplePay(api), api: api, journal: MemoryPaymentJournal(), approvals: till.approvals)
        #expect(model.paymentWords == "Apple Pay, £25.00")
        #expect(model.words == nil && !model.isWorking && !model.isDone)

        await model.refund(amountText: "ten pounds", reason: "cold soup")
        #expect(model.words == "Type an amount such as 12.50, or leave it empty to refund everything.")
        #expect(await api.refunds.isEmpty)

        async let refunding: Void = model.refund(amountText: "£10.5", reason: "cold soup")
        await whenAsked(till) {
            #expect(model.words == "Waiting for a manager's approval." && model.isWorking)
            await till.approvals.answer(approverID: FakeStaffAuth.maya.id, pin: FakeStaffAuth.maya.pin)
        }
        await refunding
        #expect(model.words == "Refunded £10.50 to the customer's card.")
        #expect(model.isDone && !model.isWorking)
        #expect(await api.refunds.first?.amount == 1_050)
    }

    @Test func refundWordsForCashABankAPendingAndAFailure() throws {
        func payment(_ method: PaymentMethod) -> PaymentView {
            PaymentView(id: "p", orderID: order, method: method, state: .succeeded, amount: 2_000)
        }
        let refund = { (state: String, reason: String?) in
            RefundView(id: "r", paymentID: "p", amount: 500, state: state, failureReason: reason)
        }
        #expect(RefundModel.outcome(refund("succeeded", nil), of: payment(.cash)) == "Refunded £5.00: give it back in cash from the drawer.")
        #expect(RefundModel.outcome(refund("succeeded", nil), of: payment(.openBanking)) == "Refunded £5.00 to the customer's bank account.")
        #expect(RefundModel.outcome(refund("pending", nil), of: payment(.openBanking)).hasPrefix("Refund of £5.00 on its way"))
        #expect(RefundModel.outcome(refund("failed", "expired_card"), of: payment(.card)) == "The refund of £5.00 failed (expired_card). Nothing went back.")
    }

    @Test func amountsAsStaffTypeThem() {
        #expect(PaymentWords.minorUnits("12.50") == 1_250)
        #expect(PaymentWords.minorUnits("£12.5") == 1_250)
        #expect(PaymentWords.minorUnits(" 7 ") == 700)
        #expect(PaymentWords.minorUnits("0.05") == 5)
        for bad in ["", "12.505", "-3", "1,50", "abc", "12.", "€", "+5"] { #expect(PaymentWords.minorUnits(bad) == nil, "\(bad)") }
    }
}
