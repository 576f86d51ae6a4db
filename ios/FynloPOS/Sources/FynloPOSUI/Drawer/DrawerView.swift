#if canImport(SwiftUI)
import FynloPOSCore
import SwiftUI

/// The cash drawer over ``DrawerModel``: choose a drawer and count its float, pay in or out
/// with a reason (the approval sheet over it for a cashier's), count it blind and close it.
/// Nothing is decided here: the words, the totals and the refusals are the model's.
struct DrawerView: View {
    let model: DrawerModel
    let done: () -> Void
    @State private var drawerID: String?
    @State private var kind = MovementKind.paidOut
    @State private var amount = ""
    @State private var reason = ""
    @State private var failure: String?

    var body: some View {
        NavigationStack {
            Form {
                if let words = model.openWords ?? model.closedWords {
                    Section { Text(words).font(.headline) }
                }
                if model.session == nil {
                    Section("Drawer") {
                        Picker("Drawer", selection: $drawerID) {
                            ForEach(model.drawers) { Text($0.name).tag(Optional($0.id)) }
                        }
                        .frame(minHeight: Till.touch)
                    }
                }
                Section {
                    ForEach(CashCount.denominations, id: \.self) { denomination in
                        Stepper(
                            "\(CashCount.name(denomination)) × \(model.count[denomination])",
                            value: pieces(denomination), in: 0...CashCount.maxPieces
                        )
                        .frame(minHeight: Till.touch)
                    }
                    Text("Total \(PaymentWords.money(model.count.total, "GBP"))").font(.title3.monospacedDigit())
                } header: {
                    Text(model.session == nil ? "Count the float" : "Count the drawer")
                } footer: {
                    if model.session != nil { Text("Count what is there: the till does not say what it should hold.") }
                }
                Section {
                    if let session = model.session {
                        Button("Close \(session.drawerName)") { perform($failure) { try await model.close() } }
                            .buttonStyle(TillButtonStyle(tint: .red))
                    } else {
                        Button("Open the drawer") {
                            perform($failure) { try await model.open(drawerID: drawerID ?? "") }
                        }
                        .buttonStyle(TillButtonStyle(tint: .green))
                        .disabled(drawerID == nil)
                    }
                }
                if model.session != nil {
                    Section("Paid in or out") {
                        Picker("", selection: $kind) {
                            Text("Paid out").tag(MovementKind.paidOut)
                            Text("Paid in").tag(MovementKind.paidIn)
                        }
                        .pickerStyle(.segmented)
                        TextField("Amount", text: $amount).font(.title3.monospacedDigit()).frame(minHeight: Till.touch)
                        TextField("Why", text: $reason).frame(minHeight: Till.touch)
                        Button("Record") {
                            perform($failure) {
                                try await model.move(kind, amountText: amount, reason: reason)
                                (amount, reason) = ("", "")
                            }
                        }
                        .touchTarget()
                    }
                }
            }
            .navigationTitle("Cash drawer")
            .toolbar {
                ToolbarItem(placement: .cancellationAction) { Button("Done", action: done).touchTarget() }
            }
        }
        .errorAlert($failure)
        .task {
            perform($failure) {
                try await model.reload()
                drawerID = drawerID ?? model.drawers.first?.id
            }
        }
    }

    private func pieces(_ denomination: Int) -> Binding<Int> {
        Binding(get: { model.count[denomination] }, set: { try? model.setPieces(denomination, $0) })
    }
}
#endif
