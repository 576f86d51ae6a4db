#if canImport(SwiftUI)
import FynloPOSCore
import SwiftUI

#if canImport(PassKit)
import PassKit
#endif

/// Taking one payment (a whole bill or one part of a split) over ``PaymentFlowModel``: the
/// methods with their fees, then the method's own screen (the pay-by-bank QR with its
/// 15-minute countdown and status, the card reader, the Apple Pay sheet, cash with the
/// change), and after a decline or expiry the other methods at once for the same amount.
///
/// While it is up it carries on what a killed till left (``PaymentFlowModel/resume()``),
/// follows the socket (``PaymentFlowModel/follow(_:)``) and polls behind it
/// (``PaymentFlowModel/watch(pollEvery:)``).
public struct PaymentView: View {
    let model: PaymentFlowModel
    let done: () -> Void
    @Environment(TillUI.self) private var till
    @State private var tendered = 0.0
    @State private var takingCash = false

    public init(model: PaymentFlowModel, done: @escaping () -> Void) {
        self.model = model
        self.done = done
    }

    public var body: some View {
        NavigationStack {
            VStack(spacing: 20) {
                Text(till.money(model.due.amount + model.due.tip)).font(.system(size: 56, weight: .bold).monospacedDigit())
                Text(model.due.label).foregroundStyle(.secondary)
                if let late = model.lateNote {
                    Label(late, systemImage: "exclamationmark.triangle").foregroundStyle(.orange)
                }
                stageView
                if !model.message.isEmpty, model.stage != .paid {
                    Text(model.message).multilineTextAlignment(.center)
                }
                Spacer(minLength: 0)
            }
            .padding(32)
            .navigationTitle("Payment")
            .toolbar {
                ToolbarItem(placement: .cancellationAction) {
                    Button(model.stage == .paid ? "Done" : "Close", action: done).disabled(isBusy)
                }
            }
        }
        .task {
            await model.resume()
            await model.loadQuote()
            await model.findReaders()
        }
        .task { await model.follow(await till.liveEvents()) }
        .task(id: model.stage) {
            switch model.stage {
            case .awaitingBank, .awaitingCard, .paid: await model.watch()
            default: break
            }
        }
        .interactiveDismissDisabled(isBusy)
    }

    private var isBusy: Bool {
        switch model.stage {
        case .working, .awaitingBank, .awaitingCard: true
        default: false
        }
    }

    @ViewBuilder private var stageView: some View {
        switch model.stage {
        case .choosing:
            if takingCash { cashPanel } else { methodList }
        case .working(let method):
            ProgressView("\(PaymentWords.method(method)): waiting…").controlSize(.large)
        case .awaitingBank:
            bankQR
        case .awaitingCard:
            VStack(spacing: 12) {
                Image(systemName: "wave.3.right.circle").font(.system(size: 80))
                Text("Present the card on \(model.reader?.label ?? "the reader")").font(.title2)
                Button("Cancel the payment", role: .destructive) { Task { await model.cancel() } }.touchTarget()
            }
        case .paid:
            paid
        case .notPaid(let state):
            notPaid(state)
        case .interrupted:
            VStack(spacing: 12) {
                Text("The answer was lost. Asking again uses the same key: it never pays twice.")
                Button("Ask again") { Task { await model.retry() } }.buttonStyle(TillButtonStyle())
            }
        }
    }

    // MARK: Choosing

    private var methodList: some View {
        VStack(spacing: 12) {
            if let note = model.offlineNote { Label(note, systemImage: "wifi.slash").foregroundStyle(.orange) }
            if model.methods.contains(where: { $0.surcharge > 0 }) {
                Toggle(
                    "The customer pays the method's fee",
                    isOn: Binding(get: { model.acceptSurcharge }, set: { model.acceptSurcharge = $0 })
                )
                .frame(minHeight: Till.touch)
            }
            ForEach(model.methods, id: \.method) { quote in
                methodButton(quote)
            }
            if model.methods.isEmpty { ProgressView("Asking what each method costs…") }
        }
        .frame(maxWidth: 560)
    }

    @ViewBuilder private func methodButton(_ quote: MethodQuote) -> some View {
        let fee = quote.totalFee.map { "fee \(till.money($0))" } ?? "fee known later"
        let title = "\(PaymentWords.method(quote.method)) — \(till.money(model.customerPays(quote.method))) (\(fee))"
        switch quote.method {
        case .applePay:
            ApplePayButton { Task { await model.payWithApplePay() } }
        case .cash:
            Button(title) { startCash() }.buttonStyle(TillButtonStyle(tint: .green))
        case .card, .cardPresent:
            VStack(spacing: 6) {
                if model.readers.count > 1 {
                    Picker("Reader", selection: Binding(
                        get: { model.reader?.id ?? "" },
                        set: { id in
                            if let reader = model.readers.first(where: { $0.id == id }) { Task { await model.use(reader) } }
                        }
                    )) {
                        ForEach(model.readers) { Text($0.label).tag($0.id) }
                    }
                    .frame(minHeight: Till.touch)
                } else if model.reader == nil, let only = model.readers.first {
                    Button("Connect \(only.label)") { Task { await model.use(only) } }.touchTarget()
                }
                Button(title) { Task { await model.payByCard() } }.buttonStyle(TillButtonStyle(tint: .blue))
            }
        case .openBanking:
            Button(title) { Task { await model.payByBank() } }.buttonStyle(TillButtonStyle(tint: .indigo))
        }
        if let saving = quote.savingVsCard, saving > 0 {
            Text("Saves \(till.money(saving)) against a card").font(.caption).foregroundStyle(.secondary)
        }
    }

    // MARK: Cash

    private func startCash() {
        tendered = Double(model.customerPays(.cash)) / 100
        takingCash = true
    }

    private var cashPanel: some View {
        VStack(spacing: 12) {
            Text("Cash handed over").font(.title3)
            TextField("Tendered", value: $tendered, format: .currency(code: model.due.currency))
                .font(.title.monospacedDigit())
                .multilineTextAlignment(.center)
                .frame(maxWidth: 320, minHeight: Till.bigTouch)
            HStack {
                ForEach([5, 10, 20, 50], id: \.self) { note in
                    Button(till.money(note * 100)) { tendered = Double(note) }.buttonStyle(.bordered).touchTarget()
                }
            }
            Button("Take cash") {
                let pence = Int((tendered * 100).rounded())
                takingCash = false
                Task { await model.payCash(tendered: pence) }
            }
            .buttonStyle(TillButtonStyle(tint: .green))
            Button("Back") { takingCash = false }.touchTarget()
        }
        .frame(maxWidth: 560)
    }

    // MARK: Pay by bank

    private var bankQR: some View {
        VStack(spacing: 12) {
            QRCodeImage(png: model.qrImage, link: model.qr?.link)
                .frame(width: 320, height: 320)
            if let left = model.secondsLeft {
                Text(PaymentWords.countdown(left)).font(.largeTitle.monospacedDigit())
                    .foregroundStyle(left < 60 ? Color.red : Color.primary)
            }
            Text("Ask the customer to scan the code with their phone's camera and approve in their bank app.")
                .multilineTextAlignment(.center)
            Button("Cancel — take another way", role: .destructive) { Task { await model.cancel() } }.touchTarget()
        }
    }

    // MARK: Endings

    private var paid: some View {
        VStack(spacing: 12) {
            Image(systemName: "checkmark.circle.fill").font(.system(size: 80)).foregroundStyle(.green)
            Text(model.message.isEmpty ? "Paid." : model.message).font(.title2).multilineTextAlignment(.center)
            if let change = model.change { Text("Change: \(till.money(change))").font(.largeTitle.bold()) }
            if let settlement = model.settlementNote { Text(settlement).foregroundStyle(.secondary) }
            if model.storedOffline {
                Text("Card stored on this iPad: it goes to the bank when the connection is back.").foregroundStyle(.orange)
            }
            Button("Done", action: done).buttonStyle(TillButtonStyle(tint: .green)).frame(maxWidth: 320)
        }
    }

    private func notPaid(_ state: PaymentState) -> some View {
        VStack(spacing: 12) {
            Image(systemName: "xmark.octagon").font(.system(size: 60)).foregroundStyle(.red)
            Text("Not paid (\(state.rawValue)). Same amount, another way:").font(.title3)
            ForEach(model.offers, id: \.self) { method in
                switch method {
                case .cash: Button("Cash") { startCash() }.buttonStyle(TillButtonStyle(tint: .green))
                case .applePay: ApplePayButton { Task { await model.take(.applePay) } }
                default: Button(PaymentWords.method(method)) { Task { await model.take(method) } }.buttonStyle(TillButtonStyle())
                }
            }
            if takingCash { cashPanel }
        }
        .frame(maxWidth: 560)
    }
}

/// PassKit's own Apple Pay button where PassKit exists (Apple's rules want that button).
struct ApplePayButton: View {
    let action: () -> Void

    var body: some View {
        #if canImport(PassKit)
        PayWithApplePayButton(.plain, action: action)
            .frame(height: Till.touch + 8)
        #else
        Button("Apple Pay", action: action).buttonStyle(TillButtonStyle(tint: .black))
        #endif
    }
}
#endif
