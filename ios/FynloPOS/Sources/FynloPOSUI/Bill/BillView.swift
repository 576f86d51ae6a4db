#if canImport(SwiftUI)
import FynloPOSCore
import FynloSyncCore
import SwiftUI

/// The bill: VAT, discounts, service charge and tip as the server prices them, what is paid
/// and still due, the payments taken (each with its refund screen), and the split (whole,
/// equally, by seat, by item), each part exact to the penny. Over ``BillModel``; each unpaid
/// part's Pay opens the payment screen for what it still owes.
struct BillView: View {
    /// A refund screen's model as a sheet item.
    struct Refunding: Identifiable {
        let id = UUID()
        let model: RefundModel
    }

    @Environment(TillUI.self) private var till
    let pay: (PaymentDue) -> Void
    @State private var refunding: Refunding?
    @State private var failure: String?
    @State private var ways = 2
    @State private var tipPounds = 0.0
    @State private var byItem = false

    private var bill: BillModel { till.bill }

    var body: some View {
        HStack(alignment: .top, spacing: 0) {
            Form {
                if let order = bill.order, let totals = bill.totals {
                    Section("Order \(order.number)") {
                        ForEach(Array(totals.vat.enumerated()), id: \.offset) { _, bucket in
                            row("VAT \(Self.percent(bucket.rateBp)) on \(till.money(bucket.gross))", bucket.vat)
                        }
                        row("Subtotal", totals.subtotal)
                        if totals.discountTotal > 0 { row("Discounts", -totals.discountTotal) }
                        row("Service charge", totals.serviceCharge)
                        row("Tip on the bill", totals.tip)
                        row("Total", totals.totalDue).font(.title3.bold())
                        row("Paid", bill.paid)
                        if bill.tipsOnPayments > 0 { row("Tips on payments", bill.tipsOnPayments) }
                        row("Still to pay", bill.due).font(.title2.bold())
                    }
                    if !bill.payments.isEmpty {
                        Section("Payments") {
                            ForEach(bill.payments) { payment in
                                HStack {
                                    VStack(alignment: .leading) {
                                        Text(PaymentWords.paidBy(payment))
                                        if let part = bill.partLabel(of: payment) {
                                            Text(part).font(.caption).foregroundStyle(.secondary)
                                        }
                                    }
                                    Spacer()
                                    Text(till.money(payment.amount + payment.tip)).monospacedDigit()
                                    Button("Refund…") {
                                        perform($failure) { refunding = Refunding(model: try await till.makeRefund(payment.id)) }
                                    }
                                    .buttonStyle(.bordered)
                                    .touchTarget()
                                }
                            }
                        }
                    }
                    Section("Service charge") {
                        Picker("Service charge", selection: Binding(
                            get: { order.serviceChargeBp },
                            set: { bp in perform($failure) { try await bill.setServiceCharge(basisPoints: bp) } }
                        )) {
                            ForEach([0, 1_000, 1_250, 1_500], id: \.self) { Text(Self.percent($0)).tag($0) }
                        }
                        .pickerStyle(.segmented)
                        .frame(minHeight: Till.touch)
                    }
                    Section("Tip on the bill") {
                        TextField("Tip", value: $tipPounds, format: .currency(code: till.currency))
                            .frame(minHeight: Till.touch)
                        Button("Set tip") {
                            let pence = Int((tipPounds * 100).rounded())
                            perform($failure) { try await bill.setTip(pence: pence) }
                        }
                        .touchTarget()
                    }
                    Section {
                        Button("Bring the bill (table shows “bill out”)") { perform($failure) { try await bill.present() } }
                            .touchTarget()
                    }
                } else {
                    Text("No bill open.")
                }
            }
            .frame(maxWidth: .infinity)
            Divider()
            splitPanel.frame(width: 420)
        }
        .errorAlert($failure)
        .sheet(item: $refunding) { item in
            RefundView(model: item.model) {
                refunding = nil
                perform($failure) { try await bill.reload() }
            }
            .approvalLayer()
        }
        .sheet(isPresented: $byItem) {
            ItemSplitSheet(lines: bill.order?.liveLines ?? []) { groups in
                perform($failure) { try bill.split(.byItems(groups)) }
                byItem = false
            }
        }
        .task { perform($failure) { try await bill.reload() } }
    }

    private var splitPanel: some View {
        VStack(alignment: .leading, spacing: 12) {
            Text("Split").font(.title2.bold())
            HStack {
                Button("Whole") { perform($failure) { try bill.split(.whole) } }.buttonStyle(.bordered).touchTarget()
                Button("By seat") { perform($failure) { try bill.split(.bySeat) } }.buttonStyle(.bordered).touchTarget()
                Button("By item…") { byItem = true }.buttonStyle(.bordered).touchTarget()
            }
            HStack {
                Stepper("\(ways) ways", value: $ways, in: 2...20)
                Button("Equally") { perform($failure) { try bill.split(.equally(ways)) } }.buttonStyle(.bordered).touchTarget()
            }
            .frame(minHeight: Till.touch)
            List(bill.parts) { part in
                HStack {
                    VStack(alignment: .leading) {
                        Text(part.label).font(.headline)
                        Text("Goods \(till.money(part.goods)) · service \(till.money(part.serviceCharge))")
                            .font(.caption).foregroundStyle(.secondary)
                        if part.paid > 0 {
                            Text("Paid \(till.money(part.paid))").font(.caption).foregroundStyle(.green)
                        }
                    }
                    Spacer()
                    // What the part still owes (the core's ``BillModel/paymentDue(for:currency:)``);
                    // a paid part has nothing to pay.
                    if let due = bill.paymentDue(for: part, currency: till.currency) {
                        Button("Pay \(till.money(due.amount))") { pay(due) }
                            .buttonStyle(TillButtonStyle(tint: .green))
                            .frame(width: 170)
                    } else {
                        Label("Paid", systemImage: "checkmark.circle.fill")
                            .font(.headline)
                            .foregroundStyle(.green)
                            .frame(width: 170, minHeight: Till.touch)
                    }
                }
                .frame(minHeight: Till.bigTouch)
            }
            .listStyle(.plain)
        }
        .padding()
    }

    private func row(_ label: String, _ pence: Int) -> some View {
        HStack {
            Text(label)
            Spacer()
            Text(till.money(pence)).monospacedDigit()
        }
    }

    /// Basis points as a percent: 1250 → "12.5%".
    static func percent(_ bp: Int) -> String {
        let hundredths = bp % 100
        if hundredths == 0 { return "\(bp / 100)%" }
        if hundredths % 10 == 0 { return "\(bp / 100).\(hundredths / 10)%" }
        return "\(bp / 100).\(hundredths < 10 ? "0" : "")\(hundredths)%"
    }
}

/// Split by item: each live line to a guest (1, 2, …); the core checks every line is in
/// exactly one group (``BillRefusal``).
struct ItemSplitSheet: View {
    let lines: [OrderLine]
    let apply: ([[String]]) -> Void
    @State private var guests = 2
    @State private var guestOf: [String: Int] = [:]

    var body: some View {
        NavigationStack {
            Form {
                Stepper("\(guests) guests", value: $guests, in: 2...20).frame(minHeight: Till.touch)
                ForEach(lines) { line in
                    Picker("\(line.quantity) × \(line.name)", selection: Binding(
                        get: { guestOf[line.id] ?? 1 }, set: { guestOf[line.id] = $0 }
                    )) {
                        ForEach(1...guests, id: \.self) { Text("Guest \($0)").tag($0) }
                    }
                    .frame(minHeight: Till.touch)
                }
                Button("Split") {
                    apply((1...guests).map { guest in lines.filter { (guestOf[$0.id] ?? 1) == guest }.map(\.id) }
                        .filter { !$0.isEmpty })
                }
                .touchTarget()
            }
            .navigationTitle("Split by item")
        }
    }
}
#endif
