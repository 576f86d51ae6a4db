#if canImport(SwiftUI)
import FynloPOSCore
import SwiftUI

/// The floor: every table by area, coloured by its state (``TableStatus``). Tap a table to
/// open its bill (order entry); hold it for the host's actions: seat, move, merge, detach,
/// clear (``TableActionsSheet``). Over ``FloorModel``; reloaded after every sync by the shell.
struct FloorView: View {
    let floor: FloorModel
    let open: (FloorModel.Table) -> Void
    @State private var acting: FloorModel.Table?
    @State private var failure: String?

    var body: some View {
        ScrollView {
            VStack(alignment: .leading, spacing: 24) {
                legend
                ForEach(floor.areas) { area in
                    Text(area.name).font(.title2.bold())
                    LazyVGrid(columns: [GridItem(.adaptive(minimum: 140), spacing: 14)], spacing: 14) {
                        ForEach(area.tables) { table in
                            TableTile(table: table)
                                .onTapGesture { open(table) }
                                .onLongPressGesture { acting = table }
                                .contextMenu {
                                    Button("Open bill") { open(table) }
                                    Button("Seat, move, merge, clear…") { acting = table }
                                }
                        }
                    }
                }
                if floor.areas.isEmpty {
                    ContentUnavailableView(
                        "No tables yet", systemImage: "square.grid.3x3",
                        description: Text("The floor plan comes from the back office with the next sync."))
                }
            }
            .padding()
        }
        .sheet(item: $acting) { table in
            TableActionsSheet(floor: floor, table: table) { acting = nil }
        }
        .errorAlert($failure)
        .refreshable { perform($failure) { try await floor.reload() } }
        .task { perform($failure) { try await floor.reload() } }
    }

    private var legend: some View {
        HStack(spacing: 16) {
            ForEach([TableStatus.free, .seated, .ordered, .paying, .paid, .dirty], id: \.self) { status in
                Label(Till.words(status), systemImage: "circle.fill")
                    .foregroundStyle(Till.colour(status))
                    .font(.caption)
            }
        }
    }
}

/// One table: name, state, covers, its order's number, the tables merged with it.
struct TableTile: View {
    let table: FloorModel.Table

    var body: some View {
        VStack(spacing: 4) {
            Text(table.table.name).font(.title2.bold())
            Text(Till.words(table.status)).font(.subheadline)
            if table.covers > 0 { Label("\(table.covers)", systemImage: "person.2").font(.caption) }
            if let number = table.orderNumber { Text(number).font(.caption.monospaced()) }
            if !table.mergedWith.isEmpty {
                Text("with \(table.mergedWith.joined(separator: ", "))").font(.caption2)
            }
        }
        .frame(maxWidth: .infinity, minHeight: 110)
        .padding(8)
        .background(Till.colour(table.status).opacity(0.25), in: RoundedRectangle(cornerRadius: 12))
        .overlay(RoundedRectangle(cornerRadius: 12).stroke(Till.colour(table.status), lineWidth: 3))
        .contentShape(Rectangle())
        .accessibilityElement(children: .combine)
        .accessibilityAddTraits(.isButton)
    }
}

/// What a host does with one table, each a ``FloorModel`` call.
struct TableActionsSheet: View {
    let floor: FloorModel
    let table: FloorModel.Table
    let close: () -> Void
    @State private var covers = 2
    @State private var mergeWith: Set<String> = []
    @State private var failure: String?

    var body: some View {
        NavigationStack {
            Form {
                Section("Seat a party") {
                    Stepper("\(covers) guests", value: $covers, in: 1...50).frame(minHeight: Till.touch)
                    Button("Seat at \(table.table.name)") { act { try await floor.seat(table.id, covers: covers) } }
                        .disabled(table.status != .free && table.status != .dirty)
                        .touchTarget()
                }
                Section("Move the party to") {
                    ForEach(floor.allTables.filter { $0.status == .free && $0.id != table.id }) { free in
                        Button("\(free.table.name) (\(free.table.area))") {
                            act { try await floor.move(from: table.id, to: free.id) }
                        }
                        .touchTarget()
                    }
                }
                .disabled(table.covers == 0 && table.orderID == nil)
                Section("Merge with (one bill)") {
                    ForEach(floor.allTables.filter { $0.id != table.id }) { other in
                        Toggle(
                            "\(other.table.name) — \(Till.words(other.status))",
                            isOn: Binding(
                                get: { mergeWith.contains(other.id) },
                                set: { if $0 { mergeWith.insert(other.id) } else { mergeWith.remove(other.id) } })
                        )
                        .frame(minHeight: Till.touch)
                    }
                    Button("Merge \(mergeWith.count + 1) tables") {
                        act { try await floor.merge(main: table.id, with: Array(mergeWith)) }
                    }
                    .disabled(mergeWith.isEmpty)
                    .touchTarget()
                }
                Section {
                    if !table.mergedWith.isEmpty {
                        Button("Take \(table.table.name) out of its group") { act { try await floor.detach(table.id) } }
                            .touchTarget()
                    }
                    Button("Clear \(table.table.name) (the party has gone)", role: .destructive) {
                        act { try await floor.clear(table.id) }
                    }
                    .touchTarget()
                }
            }
            .navigationTitle(table.table.name)
            .toolbar { ToolbarItem(placement: .cancellationAction) { Button("Done", action: close) } }
        }
        .errorAlert($failure)
    }

    private func act(_ action: @escaping @MainActor () async throws -> Void) {
        perform($failure) {
            try await action()
            close()
        }
    }
}
#endif
