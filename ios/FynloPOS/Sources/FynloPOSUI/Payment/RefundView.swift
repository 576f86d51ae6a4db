#if canImport(SwiftUI)
import FynloPOSCore
import SwiftUI

/// Giving money back on one payment, over ``RefundModel``: the amount (empty: everything
/// still refundable), why, then a manager's PIN on the approval sheet when whoever is signed
/// in may not refund alone, and the answer in words. The model keeps the refund's key in
/// the journal before it is sent; opening the screen again sends one a killed till left on
/// its way (``RefundModel/resume()``), never a second.
struct RefundView: View {
    let model: RefundModel
    let done: () -> Void
    @State private var amount = ""
    @State private var reason = ""

    var body: some View {
        NavigationStack {
            Form {
                Section("Payment") {
                    Text(model.paymentWords).font(.title3)
                }
                Section {
                    TextField("Amount (empty: all of it)", text: $amount)
                        .font(.title3.monospacedDigit())
                        .frame(minHeight: Till.touch)
                    TextField("Why", text: $reason)
                        .frame(minHeight: Till.touch)
                } header: {
                    Text("Refund")
                } footer: {
                    Text("A manager approves by PIN unless you may refund yourself. Refunds need the server.")
                }
                .disabled(model.isWorking || model.isDone)
                Section {
                    Button("Refund") { Task { await model.refund(amountText: amount, reason: reason) } }
                        .buttonStyle(TillButtonStyle(tint: .red))
                        .disabled(model.isWorking || model.isDone)
                    if model.isWorking { ProgressView() }
                    if let words = model.words {
                        Text(words).font(.headline).foregroundStyle(model.isDone ? Color.green : Color.primary)
                    }
                }
            }
            .navigationTitle("Refund")
            .toolbar {
                ToolbarItem(placement: .cancellationAction) {
                    Button(model.isDone ? "Done" : "Close", action: done).disabled(model.isWorking).touchTarget()
                }
            }
        }
        .task { await model.resume() }
        .interactiveDismissDisabled(model.isWorking)
    }
}
#endif
