#if canImport(SwiftUI)
import FynloPOSCore
import SwiftUI

/// The app's one view: set-up until the iPad is enrolled, then the till built from its
/// credentials by `makeTill` (the composition root), then sign-in or the shell.
public struct FynloPOSRoot: View {
    let setup: DeviceSetup
    let makeTill: @MainActor (DeviceCredentials) async throws -> TillUI
    @State private var till: TillUI?
    @State private var failure: String?

    public init(setup: DeviceSetup, makeTill: @escaping @MainActor (DeviceCredentials) async throws -> TillUI) {
        self.setup = setup
        self.makeTill = makeTill
    }

    public var body: some View {
        Group {
            if setup.phase == .enrolled, let credentials = setup.credentials {
                if let till {
                    TillShell().environment(till)
                } else if let failure {
                    ContentUnavailableView {
                        Label("The till could not open", systemImage: "exclamationmark.triangle")
                    } description: {
                        Text(failure)
                    } actions: {
                        Button("Try again") { self.failure = nil }.touchTarget()
                    }
                } else {
                    ProgressView("Opening the till…")
                        .task(id: credentials.deviceID) {
                            do { till = try await makeTill(credentials) } catch { failure = Till.words(error) }
                        }
                }
            } else {
                DeviceSetupView(setup: setup)
            }
        }
        .task { if setup.phase == .starting { await setup.load() } }
    }
}

/// Signed in: the floor, the open table's order and its bill in a split view, the sync
/// strip along the bottom, the approval layer over everything, the payment sheet. Signed
/// out or locked: the PIN pad.
struct TillShell: View {
    enum Screen: Hashable { case floor, order, bill }

    /// A payment screen's model as a sheet item.
    struct Paying: Identifiable {
        let id = UUID()
        let model: PaymentFlowModel
    }

    @Environment(TillUI.self) private var till
    @Environment(\.scenePhase) private var scenePhase
    @State private var screen: Screen? = .floor
    @State private var paying: Paying?
    @State private var switching = false
    @State private var drawerSettings = false
    @State private var cashUp = false
    @State private var failure: String?

    var body: some View {
        Group {
            if till.session.current == nil {
                SignInView(session: till.session)
            } else {
                NavigationSplitView {
                    sidebar
                } detail: {
                    detail
                }
                .navigationSplitViewStyle(.balanced)
            }
        }
        .safeAreaInset(edge: .bottom, spacing: 0) { SyncStatusBar(sync: till.sync, liveWords: till.liveWords) }
        .approvalLayer()
        .sheet(item: $paying) { item in
            PaymentView(model: item.model) {
                paying = nil
                perform($failure) { try await till.bill.reload() }
            }
            .approvalLayer()
        }
        .sheet(isPresented: $switching) {
            SignInView(session: till.session, switching: true) { switching = false }
        }
        .sheet(isPresented: $drawerSettings) {
            DrawerPrinterView { drawerSettings = false }
        }
        .sheet(isPresented: $cashUp) {
            DrawerView(model: till.drawer) { cashUp = false }
                .approvalLayer()
        }
        .errorAlert($failure)
        // Every tap counts as activity for the idle lock.
        .simultaneousGesture(TapGesture().onEnded { till.session.touch() })
        .task {
            await till.session.refreshCredentialsIfDue()
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                await till.session.checkIdle()
                till.sync.tick()
            }
        }
        .onChange(of: scenePhase) { _, phase in
            if phase == .active { Task { await till.session.checkIdle() } }
        }
        .onChange(of: till.sync.isOnline) { _, online in
            if online { Task { await till.session.reportOfflineFailures() } }
        }
        .onChange(of: till.sync.lastSyncedAtMs) { _, _ in reloadAfterSync() }
    }

    private var sidebar: some View {
        List(selection: $screen) {
            Section {
                Label("Floor", systemImage: "square.grid.3x3").tag(Screen.floor).frame(minHeight: Till.touch)
                if let order = till.order.order {
                    Label("Order \(order.number)", systemImage: "list.bullet.rectangle").tag(Screen.order)
                        .frame(minHeight: Till.touch)
                    Label("Bill", systemImage: "sterlingsign.circle").tag(Screen.bill).frame(minHeight: Till.touch)
                }
            }
            Section(till.session.current.map { "\($0.name) · \($0.role.rawValue)" } ?? "") {
                if let current = till.session.current, !current.signedInOnline {
                    Label("Signed in offline", systemImage: "wifi.slash").foregroundStyle(.orange)
                }
                if till.session.unreportedFailures > 0 {
                    Text("\(till.session.unreportedFailures) wrong PINs to report").font(.caption)
                }
                Button("Lock") { Task { await till.session.lock() } }.touchTarget()
                Button("Switch user") { switching = true }.touchTarget()
                Button("Float and count…") { cashUp = true }.touchTarget()
                Button("Cash drawer…") { drawerSettings = true }.touchTarget()
                Button("Sign out", role: .destructive) { Task { await till.session.signOut() } }.touchTarget()
            }
        }
        .navigationTitle("Fynlo")
    }

    @ViewBuilder private var detail: some View {
        switch screen ?? .floor {
        case .floor:
            FloorView(floor: till.floor) { table in open(table) }
                .navigationTitle("Floor")
        case .order:
            OrderEntryView { showBill() }
                .navigationTitle(till.order.order?.number ?? "Order")
        case .bill:
            BillView { due in paying = Paying(model: till.makePayment(due)) }
                .navigationTitle("Bill")
        }
    }

    private func open(_ table: FloorModel.Table) {
        perform($failure) {
            try await till.order.open(table: table.id)
            screen = .order
        }
    }

    private func showBill() {
        guard let order = till.order.order else { return }
        perform($failure) {
            try await till.bill.load(order.id)
            screen = .bill
        }
    }

    /// What the other iPads and the server changed: every screen shows the store again.
    private func reloadAfterSync() {
        perform($failure) {
            try await till.floor.reload()
            try await till.menu.reload()
            if let order = till.order.order { try await till.order.load(order.id) }
            try await till.bill.reload()
            try await till.drawer.reload()
        }
    }
}

/// The manager approval, over whatever is on screen (the root and each sheet carry it, so a
/// void asked from inside a sheet is answered there): shown while ``Approvals/pending`` is set.
struct ApprovalLayer: ViewModifier {
    @Environment(TillUI.self) private var till

    func body(content: Content) -> some View {
        content.overlay {
            if let request = till.approvals.pending {
                ZStack {
                    Color.black.opacity(0.4).ignoresSafeArea()
                    ApprovalSheet(approvals: till.approvals, request: request)
                        .background(.regularMaterial, in: RoundedRectangle(cornerRadius: 20))
                }
                .id(request.id)
            }
        }
    }
}

extension View {
    func approvalLayer() -> some View { modifier(ApprovalLayer()) }
}
#endif
