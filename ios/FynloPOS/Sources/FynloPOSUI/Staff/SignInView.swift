#if canImport(SwiftUI)
import FynloPOSCore
import SwiftUI

/// PIN sign-in, the lock screen and switching user, over ``StaffSession``: pick a name
/// (the offline checks' list, ``StaffSession/staff``), type the PIN. Locked, the employee
/// who was working is picked already; anyone else may take the till instead.
///
/// `switching`: the till is signed in and another employee takes it
/// (``StaffSession/switchUser(to:pin:)``); otherwise ``StaffSession/signIn(employeeID:pin:)``.
public struct SignInView: View {
    let session: StaffSession
    var switching = false
    var done: () -> Void = {}
    @State private var chosen: String?
    @State private var busy = false

    public init(session: StaffSession, switching: Bool = false, done: @escaping () -> Void = {}) {
        self.session = session
        self.switching = switching
        self.done = done
    }

    public var body: some View {
        HStack(alignment: .top, spacing: 40) {
            VStack(alignment: .leading, spacing: 12) {
                Text(title).font(.largeTitle.bold())
                if session.staff.isEmpty {
                    Text("No staff on this iPad yet: it fetches them from the server after the first sign-in online. Type your employee id below.")
                        .foregroundStyle(.secondary)
                    TextField("Employee id", text: Binding(get: { chosen ?? "" }, set: { chosen = $0 }))
                        .frame(minHeight: Till.touch)
                }
                ScrollView {
                    LazyVGrid(columns: [GridItem(.adaptive(minimum: 160), spacing: 12)], spacing: 12) {
                        ForEach(session.staff, id: \.employeeID) { person in
                            Button {
                                chosen = person.employeeID
                            } label: {
                                VStack {
                                    Text(person.name).font(.headline)
                                    Text(person.role.rawValue.capitalized).font(.caption).foregroundStyle(.secondary)
                                }
                                .frame(maxWidth: .infinity, minHeight: Till.bigTouch)
                            }
                            .buttonStyle(.bordered)
                            .tint(chosen == person.employeeID ? Color.accentColor : Color.gray)
                        }
                    }
                }
            }
            .frame(maxWidth: .infinity)
            VStack(spacing: 20) {
                if let outcome = session.lastOutcome, outcome != .signedIn {
                    Text(Self.words(outcome)).foregroundStyle(.red).multilineTextAlignment(.center)
                }
                PinPad(busy: busy || chosen == nil) { pin in
                    guard let employee = chosen else { return }
                    busy = true
                    Task {
                        let outcome =
                            switching
                            ? await session.switchUser(to: employee, pin: pin)
                            : await session.signIn(employeeID: employee, pin: pin)
                        busy = false
                        if outcome == .signedIn { done() }
                    }
                }
                if busy { ProgressView("Checking…") }
            }
            .frame(width: 340)
        }
        .padding(40)
        .onAppear { chosen = chosen ?? session.lockedEmployee?.id }
    }

    private var title: String {
        if switching { return "Switch user" }
        if let locked = session.lockedEmployee { return "Locked — \(locked.name)" }
        return "Sign in"
    }

    /// A sign-in's outcome in words.
    static func words(_ outcome: StaffSession.Outcome) -> String {
        switch outcome {
        case .signedIn: "Signed in."
        case .wrongPin(let left): "Wrong PIN. \(left) \(left == 1 ? "try" : "tries") before this iPad has to wait."
        case .waiting(let seconds): "Too many wrong PINs: wait \(SyncWords.duration(seconds))."
        case .unknownOffline: "Offline, and this iPad cannot check that PIN yet: sign in once while online."
        case .failed(let words): words
        }
    }
}
#endif
