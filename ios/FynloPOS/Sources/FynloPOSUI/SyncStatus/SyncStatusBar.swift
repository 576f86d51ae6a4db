#if canImport(SwiftUI)
import FynloPOSCore
import SwiftUI

/// The strip along the bottom of every screen: online or not, changes waiting, when the iPad
/// last synced (``SyncStatusModel/headline``), and a badge when the server refused a change
/// or settled one of this iPad's edits against another's. Tapping it opens the details.
struct SyncStatusBar: View {
    let sync: SyncStatusModel
    let liveWords: String
    @State private var details = false

    var body: some View {
        Button {
            details = true
        } label: {
            HStack(spacing: 10) {
                Circle().fill(sync.isOnline ? Color.green : Color.orange).frame(width: 12, height: 12)
                Text(sync.headline).lineLimit(1)
                if sync.pendingChanges > 0 {
                    Text("\(sync.pendingChanges) waiting").font(.caption.bold())
                        .padding(.horizontal, 8).padding(.vertical, 2)
                        .background(Color.orange.opacity(0.2), in: Capsule())
                }
                Spacer()
                if !liveWords.isEmpty { Text(liveWords).font(.caption).foregroundStyle(.secondary).lineLimit(1) }
                if !sync.refused.isEmpty || !sync.notices.isEmpty {
                    Label("\(sync.refused.count + sync.notices.count)", systemImage: "exclamationmark.bubble")
                        .foregroundStyle(.red)
                }
            }
            .font(.callout)
            .padding(.horizontal)
            .frame(maxWidth: .infinity, minHeight: Till.touch)
            .background(.bar)
        }
        .buttonStyle(.plain)
        .accessibilityLabel("Sync status: \(sync.headline)")
        .sheet(isPresented: $details) { SyncDetailsSheet(sync: sync) { details = false } }
    }
}

/// What the server did with this iPad's changes, in words: refused ones (a manager sees
/// them in the quarantine) and conflicts it resolved; each can be marked as read.
struct SyncDetailsSheet: View {
    let sync: SyncStatusModel
    let close: () -> Void

    var body: some View {
        NavigationStack {
            List {
                Section("Now") {
                    Text(sync.headline)
                    Text(sync.isOnline ? "Reaching the server." : "Not reaching the server: changes wait on this iPad and go when it is back.")
                    Text("\(sync.pendingChanges) changes waiting to be sent")
                }
                Section("Refused by the server") {
                    if sync.refused.isEmpty { Text("None.").foregroundStyle(.secondary) }
                    ForEach(sync.refused) { line in
                        Text(line.text).frame(minHeight: Till.touch, alignment: .leading)
                    }
                }
                Section("Settled with another iPad's edit") {
                    if sync.notices.isEmpty { Text("None.").foregroundStyle(.secondary) }
                    ForEach(sync.notices) { line in
                        HStack {
                            Text(line.text)
                            Spacer()
                            Button("Read") { sync.acknowledge(line) }.touchTarget()
                        }
                    }
                }
            }
            .navigationTitle("Sync")
            .toolbar { ToolbarItem(placement: .confirmationAction) { Button("Done", action: close) } }
        }
    }
}
#endif
