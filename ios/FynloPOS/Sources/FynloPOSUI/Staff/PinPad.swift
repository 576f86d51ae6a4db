#if canImport(SwiftUI)
import SwiftUI

/// Four to eight digits typed on big keys; the digits are never shown. `submit` is called
/// with the PIN (the caller checks it through the core) and the pad empties.
struct PinPad: View {
    var busy = false
    let submit: (String) -> Void
    @State private var pin = ""

    private let keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "OK"]

    var body: some View {
        VStack(spacing: 16) {
            HStack(spacing: 14) {
                ForEach(0..<max(4, pin.count), id: \.self) { index in
                    Circle()
                        .fill(index < pin.count ? Color.primary : Color.clear)
                        .overlay(Circle().stroke(Color.primary, lineWidth: 2))
                        .frame(width: 18, height: 18)
                }
            }
            .accessibilityLabel("\(pin.count) digits typed")
            LazyVGrid(columns: Array(repeating: GridItem(.fixed(88), spacing: 14), count: 3), spacing: 14) {
                ForEach(keys, id: \.self) { key in
                    Button {
                        press(key)
                    } label: {
                        Text(key).font(.title.weight(.semibold)).frame(width: 88, height: 72)
                    }
                    .buttonStyle(.bordered)
                    .disabled(busy || (key == "OK" && pin.count < 4))
                    .accessibilityLabel(key == "⌫" ? "Delete" : key)
                }
            }
        }
    }

    private func press(_ key: String) {
        switch key {
        case "⌫": if !pin.isEmpty { pin.removeLast() }
        case "OK":
            let typed = pin
            pin = ""
            submit(typed)
        default: if pin.count < 8 { pin.append(key) }
        }
    }
}
#endif
