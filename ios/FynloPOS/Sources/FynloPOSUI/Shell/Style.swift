#if canImport(SwiftUI)
import FynloPOSCore
import SwiftUI

/// The till's few shared looks: the 44-point touch target, the table colours, and how an
/// error a model threw is shown. No decisions: the words come from the core where it has them.
enum Till {
    /// Apple's minimum touch target; till buttons are bigger still.
    static let touch: CGFloat = 44
    static let bigTouch: CGFloat = 64

    static func colour(_ status: TableStatus) -> Color {
        switch status {
        case .free: .green
        case .seated: .blue
        case .ordered: .orange
        case .paying: .purple
        case .paid: .teal
        case .dirty: .gray
        }
    }

    static func words(_ status: TableStatus) -> String {
        switch status {
        case .free: "Free"
        case .seated: "Seated"
        case .ordered: "Ordered"
        case .paying: "Bill out"
        case .paid: "Paid"
        case .dirty: "To clear"
        }
    }

    /// An error a model threw, as the till shows it: the core's refusals (`OrderRefusal`,
    /// `FloorRefusal`, `MenuRefusal`, `BillRefusal`) describe themselves in words
    /// (FynloPOSCore/Words/RefusalWords.swift).
    static func words(_ error: any Error) -> String { String(describing: error) }
}

extension View {
    /// At least 44 × 44 points, whatever the label.
    func touchTarget(_ size: CGFloat = Till.touch) -> some View {
        frame(minWidth: size, minHeight: size).contentShape(Rectangle())
    }

    /// Shows `message` in an alert while it is set.
    func errorAlert(_ message: Binding<String?>) -> some View {
        alert(
            "That did not work", isPresented: Binding(get: { message.wrappedValue != nil }, set: { if !$0 { message.wrappedValue = nil } })
        ) {
            Button("OK", role: .cancel) { message.wrappedValue = nil }
        } message: {
            Text(message.wrappedValue ?? "")
        }
    }
}

/// A big, full-width till button.
struct TillButtonStyle: ButtonStyle {
    var tint: Color = .accentColor

    func makeBody(configuration: Configuration) -> some View {
        configuration.label
            .font(.headline)
            .frame(maxWidth: .infinity, minHeight: Till.touch + 8)
            .padding(.horizontal, 12)
            .background(tint.opacity(configuration.isPressed ? 0.6 : 0.85), in: RoundedRectangle(cornerRadius: 10))
            .foregroundStyle(.white)
    }
}

/// Runs one model action, catching what it throws into `failure` for the alert.
@MainActor
func perform(_ failure: Binding<String?>, _ action: @escaping @MainActor () async throws -> Void) {
    Task { @MainActor in
        do { try await action() } catch { failure.wrappedValue = Till.words(error) }
    }
}
#endif
