#if canImport(SwiftUI)
import FynloPOSCore
import SwiftUI

/// Where the receipt printer that opens the cash drawer is: its address on the restaurant's
/// network, kept in the app's settings under ``PrinterCashDrawer/hostSetting`` and read at
/// each cash sale (the app's drawer is ``PrinterCashDrawer`` over ``NetworkPrinterLink``).
/// Empty: this till has no drawer.
struct DrawerPrinterView: View {
    @AppStorage(PrinterCashDrawer.hostSetting) private var host = ""
    let done: () -> Void

    var body: some View {
        NavigationStack {
            Form {
                Section {
                    TextField("Printer address, for example 192.168.1.50", text: $host)
                        .font(.title3.monospaced())
                        .autocorrectionDisabled()
                        .frame(minHeight: Till.touch)
                } footer: {
                    Text("The cash drawer plugs into the receipt printer; after a cash sale this iPad tells the printer (port 9100) to open it. Leave it empty if this till has no drawer.")
                }
            }
            .navigationTitle("Cash drawer")
            .toolbar {
                Button("Done", action: done).touchTarget()
            }
        }
    }
}
#endif
