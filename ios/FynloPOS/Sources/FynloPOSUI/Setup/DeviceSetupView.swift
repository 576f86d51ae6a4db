#if canImport(SwiftUI)
import FynloPOSCore
import SwiftUI

/// Enrolment: a manager makes a one-time code in the back office, someone types it here.
/// Over ``DeviceSetup``: ``DeviceSetup/enrol(code:name:)`` the first time,
/// ``DeviceSetup/enrolAgain(code:)`` when this iPad's tokens can no longer be refreshed.
public struct DeviceSetupView: View {
    @Bindable var setup: DeviceSetup
    @State private var code = ""
    @State private var name = "iPad"

    public init(setup: DeviceSetup) {
        self.setup = setup
    }

    public var body: some View {
        VStack(spacing: 24) {
            Text("Set up this iPad").font(.largeTitle.bold())
            Text("Ask a manager for an enrolment code from the back office (Devices → Enrol an iPad).")
                .foregroundStyle(.secondary)
                .multilineTextAlignment(.center)
            if let location = setup.locationName {
                Label("Enrolled at \(location)", systemImage: "mappin.and.ellipse").font(.title3)
            }
            Form {
                TextField("Enrolment code", text: $code)
                    .font(.title2.monospaced())
                    .autocorrectionDisabled()
                    .frame(minHeight: Till.touch)
                if setup.credentials == nil {
                    TextField("This iPad's name (as managers see it)", text: $name)
                        .frame(minHeight: Till.touch)
                }
            }
            .frame(maxWidth: 520, maxHeight: 200)
            phaseLine
            Button(setup.credentials == nil ? "Enrol" : "Enrol again as this iPad") {
                Task {
                    if setup.credentials == nil {
                        await setup.enrol(code: code, name: name)
                    } else {
                        await setup.enrolAgain(code: code)
                    }
                }
            }
            .buttonStyle(TillButtonStyle())
            .frame(maxWidth: 520)
            .disabled(setup.phase == .enrolling)
        }
        .padding(40)
    }

    @ViewBuilder private var phaseLine: some View {
        switch setup.phase {
        case .starting: ProgressView()
        case .needsCode: EmptyView()
        case .enrolling: ProgressView("Enrolling…")
        case .enrolled: Label("Enrolled", systemImage: "checkmark.seal").foregroundStyle(.green)
        case .failed(let words): Text(words).foregroundStyle(.red).multilineTextAlignment(.center)
        }
    }
}
#endif
