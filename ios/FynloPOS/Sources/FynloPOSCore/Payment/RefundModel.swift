import FynloSyncCore
import Observation

/// Giving money back on one payment: a manager approves by PIN (unless whoever is signed in
/// may refund alone), then the server refunds it at the provider, or in cash from the drawer.
///
/// A refund is a request to the server, never made offline: the provider holds the money. It
/// carries an Idempotency-Key kept in the ``PaymentJournal`` before it is sent, with the
/// amount, reason and approval, so a till killed while it was on its way sends the very same
/// request again (``resume()``) and the customer is refunded once.
@MainActor @Observable
public final class RefundModel {
    public enum Stage: Sendable, Hashable {
        case choosing
        case waitingForApproval
        case sending
        /// The server's answer: `pending` (the provider has not finished, or bank money not
        /// yet settled), `succeeded` or `failed`.
        case answered(RefundView)
        /// Nothing was refunded: not approved, refused by the server, or it could not be reached.
        case notRefunded(String)
    }

    public let payment: PaymentView
    public private(set) var stage: Stage = .choosing

    private let api: any PaymentsAPI
    private let journal: any PaymentJournal
    private let approvals: Approvals
    private let ids: any IDSource
    private let clock: any WallClock

    public init(
        payment: PaymentView, api: any PaymentsAPI, journal: any PaymentJournal, approvals: Approvals,
        ids: any IDSource = RandomIDs(), clock: any WallClock = SystemWallClock()
    ) {
        self.payment = payment
        self.api = api
        self.journal = journal
        self.approvals = approvals
        self.ids = ids
        self.clock = clock
    }

    /// The part of the journal this screen owns: refunds of this payment.
    private var partID: String { "refund:\(payment.id)" }

    // MARK: What the screen shows

    /// The payment in words: "Card, £25.00".
    public var paymentWords: String {
        "\(payment.method.map(PaymentWords.method) ?? "Payment"), \(PaymentWords.money(payment.charged, payment.currency))"
    }

    /// Where the refund stands, in words (`nil` before one was asked for).
    public var words: String? {
        switch stage {
        case .choosing: nil
        case .waitingForApproval: "Waiting for a manager's approval."
        case .sending: "Sending the refund…"
        case .answered(let refund): Self.outcome(refund, of: payment)
        case .notRefunded(let why): why
        }
    }

    /// Asking for approval or waiting for the server: the screen's controls wait too.
    public var isWorking: Bool { stage == .waitingForApproval || stage == .sending }

    /// The money has gone back, or is on its way: nothing more to do here.
    public var isDone: Bool {
        if case .answered(let refund) = stage { return refund.state != "failed" }
        return false
    }

    /// A refund's answer in words.
    public static func outcome(_ refund: RefundView, of payment: PaymentView) -> String {
        let amount = PaymentWords.money(refund.amount, payment.currency)
        switch refund.state {
        case "succeeded" where payment.method == .cash:
            return "Refunded \(amount): give it back in cash from the drawer."
        case "succeeded":
            return "Refunded \(amount) to the customer's \(payment.method == .openBanking ? "bank account" : "card")."
        case "pending":
            return "Refund of \(amount) on its way: the provider has not finished it yet."
        default:
            return "The refund of \(amount) failed\(refund.failureReason.map { " (\($0))" } ?? ""). Nothing went back."
        }
    }

    /// ``refund(amount:reason:)`` for an amount as typed ("12.50"); empty refunds everything
    /// still refundable.
    public func refund(amountText: String, reason: String) async {
        let text = amountText.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else {
            await refund(amount: nil, reason: reason)
            return
        }
        guard let amount = PaymentWords.minorUnits(text) else {
            stage = .notRefunded("Type an amount such as 12.50, or leave it empty to refund everything.")
            return
        }
        await refund(amount: amount, reason: reason)
    }

    /// Refunds `amount` pence (`nil`: everything still refundable) for `reason`.
    public func refund(amount: Int?, reason: String) async {
        if let amount, !(1...payment.charged).contains(amount) {
            stage = .notRefunded("A refund is between 0.01 and the \(PaymentWords.money(payment.charged, payment.currency)) paid.")
            return
        }
        let why = reason.trimmingCharacters(in: .whitespaces)
        guard !why.isEmpty else {
            stage = .notRefunded("Say why the money goes back.")
            return
        }
        stage = .waitingForApproval
        let words = "Refund \(amount.map { PaymentWords.money($0, payment.currency) } ?? "in full"): \(why)"
        var token: String?
        switch await approvals.request(PermissionTable.paymentsRefund, reason: words, forServerRequest: true) {
        case .held: token = nil
        case .refused:
            stage = .notRefunded("Not refunded: no manager approved it.")
            return
        case .approved(let manager):
            guard let server = manager.server else {
                stage = .notRefunded("Not refunded: a refund needs the server, which is out of reach.")
                return
            }
            token = server.token
        }
        var fields: [String: JSONValue] = ["reason": .string(why)]
        fields["amount"] = amount.map(JSONValue.int)
        fields["approval"] = token.map(JSONValue.string)
        let attempt = PaymentAttempt(
            id: ids.next(), kind: .refund, orderID: payment.orderID, partID: partID, paymentID: payment.id,
            fields: fields, startedAtMs: clock.nowMs())
        do {
            try await journal.save(attempt)
        } catch {
            stage = .notRefunded("Not refunded: this iPad could not keep a note of it (\(error)).")
            return
        }
        await send(attempt)
    }

    /// After a relaunch: a refund of this payment that was on its way is sent again with its
    /// own key, so the server answers what it did the first time.
    public func resume() async {
        guard let attempt = try? await journal.unfinished().first(where: { $0.partID == partID && $0.kind == .refund })
        else { return }
        await send(attempt)
    }

    private func send(_ attempt: PaymentAttempt) async {
        stage = .sending
        do {
            let answer = try await api.refund(
                payment.id, amount: attempt.fields["amount"]?.intValue,
                reason: attempt.fields["reason"]?.stringValue ?? "",
                approval: attempt.fields["approval"]?.stringValue, idempotencyKey: attempt.id)
            try? await journal.finish(attempt.id)
            stage = .answered(answer)
        } catch let error as PaymentsAPIError where error.isRetryable {
            // Kept in the journal: it may have reached the server; resend it, never a new one.
            stage = .notRefunded("The server did not answer: try again (the same refund is sent, never a second).")
        } catch {
            try? await journal.finish(attempt.id)
            stage = .notRefunded("Not refunded: \(error)")
        }
    }
}
