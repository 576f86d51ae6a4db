#if canImport(SwiftUI)
import FynloPOSCore
import FynloSyncCore
import SwiftUI

/// Taking an order at one table: the menu on the left, the ticket on the right. Every
/// button is one ``OrderEntryModel`` call; a change that needs a manager (a void once sent,
/// a discount over 10 %) opens the approval sheet by itself, through the core's gate.
struct OrderEntryView: View {
    @Environment(TillUI.self) private var till
    let showBill: () -> Void
    @State private var failure: String?

    var body: some View {
        HStack(spacing: 0) {
            MenuView(menu: till.menu) { choice, notes in
                perform($failure) { try await till.order.add(choice, notes: notes) }
            }
            .padding()
            .frame(maxWidth: .infinity)
            Divider()
            TicketView(order: till.order, showBill: showBill)
                .frame(width: 420)
        }
        .errorAlert($failure)
        .task { perform($failure) { try await till.menu.reload() } }
    }
}

/// The ticket: the next dishes' seat and course, the lines by course (quantity, notes,
/// seat, course, a line discount, void), the totals, and Send / Discount / Void / Bill.
struct TicketView: View {
    @Bindable var order: OrderEntryModel
    let showBill: () -> Void
    @Environment(TillUI.self) private var till
    @State private var failure: String?
    @State private var editing: OrderLine?
    @State private var discounting = false
    @State private var voiding = false
    @State private var voidReason = ""

    var body: some View {
        VStack(spacing: 0) {
            if let current = order.order {
                header(current)
                nextDishes
                List {
                    ForEach(Array(order.linesByCourse.enumerated()), id: \.offset) { _, group in
                        Section(group.course.map { "Course \($0)" } ?? "Any time") {
                            ForEach(group.lines) { line in
                                LineRow(line: line)
                                    .contentShape(Rectangle())
                                    .onTapGesture { if !line.voided { editing = line } }
                                    .swipeActions {
                                        if !line.voided {
                                            Button("Void", role: .destructive) {
                                                perform($failure) { try await order.voidLine(line.id) }
                                            }
                                        }
                                    }
                            }
                        }
                    }
                }
                .listStyle(.plain)
                totals
                actions(current)
            } else {
                ContentUnavailableView("No table open", systemImage: "fork.knife", description: Text("Tap a table on the floor."))
            }
        }
        .sheet(item: $editing) { line in
            LineSheet(order: order, line: line) { editing = nil }
        }
        .sheet(isPresented: $discounting) {
            DiscountSheet(title: "Discount the order") { discount, reason in
                perform($failure) { try await order.discountOrder(discount, reason: reason) }
                discounting = false
            }
        }
        .alert("Void the whole order?", isPresented: $voiding) {
            TextField("Why (the manager sees it)", text: $voidReason)
            Button("Void order", role: .destructive) {
                perform($failure) { try await order.voidOrder(reason: voidReason) }
            }
            Button("Keep it", role: .cancel) {}
        }
        .errorAlert($failure)
    }

    private func header(_ current: Order) -> some View {
        HStack {
            VStack(alignment: .leading) {
                Text(current.number).font(.title2.bold().monospaced())
                Text("\(current.status.rawValue.capitalized) · \(current.covers) covers").foregroundStyle(.secondary)
            }
            Spacer()
            Stepper(
                "Covers",
                onIncrement: { perform($failure) { try await order.setCovers(current.covers + 1) } },
                onDecrement: { perform($failure) { try await order.setCovers(max(0, current.covers - 1)) } }
            )
            .labelsHidden()
        }
        .padding()
    }

    /// Seat and course for the dishes added next (``OrderEntryModel/seat``, ``OrderEntryModel/course``).
    private var nextDishes: some View {
        HStack {
            Picker("Seat", selection: $order.seat) {
                Text("Table").tag(Int?.none)
                ForEach(1...12, id: \.self) { Text("Seat \($0)").tag(Int?.some($0)) }
            }
            Picker("Course", selection: $order.course) {
                Text("Any course").tag(Int?.none)
                ForEach(1...5, id: \.self) { Text("Course \($0)").tag(Int?.some($0)) }
            }
        }
        .pickerStyle(.menu)
        .frame(minHeight: Till.touch)
        .padding(.horizontal)
    }

    @ViewBuilder private var totals: some View {
        if let totals = order.totals {
            VStack(spacing: 4) {
                row("Subtotal", totals.subtotal)
                if totals.discountTotal > 0 { row("Discounts", -totals.discountTotal) }
                if totals.serviceCharge > 0 { row("Service", totals.serviceCharge) }
                if totals.tip > 0 { row("Tip", totals.tip) }
                row("Total", totals.totalDue).font(.title3.bold())
            }
            .padding()
        }
    }

    private func row(_ label: String, _ pence: Int) -> some View {
        HStack {
            Text(label)
            Spacer()
            Text(till.money(pence)).monospacedDigit()
        }
    }

    private func actions(_ current: Order) -> some View {
        VStack(spacing: 8) {
            Button("Send to kitchen") { perform($failure) { try await order.send() } }
                .buttonStyle(TillButtonStyle(tint: .orange))
                .disabled(current.status.isClosed)
            HStack(spacing: 8) {
                Button("Discount") { discounting = true }.buttonStyle(TillButtonStyle(tint: .indigo))
                Button("Void order") { voiding = true }.buttonStyle(TillButtonStyle(tint: .red))
                Button("Bill") { showBill() }.buttonStyle(TillButtonStyle(tint: .green))
            }
            .disabled(current.status.isClosed)
        }
        .padding()
    }
}

/// One line: quantity × name, modifiers, seat, notes, its price; voided lines struck through.
struct LineRow: View {
    let line: OrderLine
    @Environment(TillUI.self) private var till

    var body: some View {
        HStack(alignment: .top) {
            Text("\(line.quantity) ×").monospacedDigit()
            VStack(alignment: .leading, spacing: 2) {
                Text(line.name).strikethrough(line.voided)
                ForEach(Array(line.modifiers.enumerated()), id: \.offset) { _, modifier in
                    Text("· \(modifier.name)").font(.caption).foregroundStyle(.secondary)
                }
                if let seat = line.seat { Text("Seat \(seat)").font(.caption) }
                if !line.notes.isEmpty { Text(line.notes).font(.caption.italic()) }
                if let discount = line.discount { Text("Discount \(discount.text)").font(.caption) }
            }
            Spacer()
            Text(till.money(line.gross)).monospacedDigit().strikethrough(line.voided)
        }
        .frame(minHeight: Till.touch)
        .opacity(line.voided ? 0.5 : 1)
    }
}

/// Changing one line: quantity, notes, seat, course, a discount on it, void.
struct LineSheet: View {
    let order: OrderEntryModel
    let line: OrderLine
    let close: () -> Void
    @State private var quantity = 1
    @State private var notes = ""
    @State private var seat: Int?
    @State private var course: Int?
    @State private var discounting = false
    @State private var failure: String?

    var body: some View {
        NavigationStack {
            Form {
                Stepper("Quantity: \(quantity)", value: $quantity, in: 1...99).frame(minHeight: Till.touch)
                TextField("Note for the kitchen", text: $notes).frame(minHeight: Till.touch)
                Picker("Seat", selection: $seat) {
                    Text("Table").tag(Int?.none)
                    ForEach(1...12, id: \.self) { Text("Seat \($0)").tag(Int?.some($0)) }
                }
                Picker("Course", selection: $course) {
                    Text("Any course").tag(Int?.none)
                    ForEach(1...5, id: \.self) { Text("Course \($0)").tag(Int?.some($0)) }
                }
                Button("Save") {
                    perform($failure) {
                        if quantity != line.quantity { try await order.setQuantity(line.id, to: quantity) }
                        try await order.setDetails(line.id, notes: notes, seat: .some(seat), course: .some(course))
                        close()
                    }
                }
                .touchTarget()
                Button(line.discount == nil ? "Discount this line" : "Change this line's discount") { discounting = true }
                    .touchTarget()
                Button("Void this line", role: .destructive) {
                    perform($failure) {
                        try await order.voidLine(line.id)
                        close()
                    }
                }
                .touchTarget()
            }
            .navigationTitle(line.name)
            .toolbar { ToolbarItem(placement: .cancellationAction) { Button("Cancel", action: close) } }
        }
        .onAppear {
            quantity = line.quantity
            notes = line.notes
            seat = line.seat
            course = line.course
        }
        .sheet(isPresented: $discounting) {
            DiscountSheet(title: "Discount \(line.name)", asksReason: false) { discount, _ in
                perform($failure) {
                    try await order.discountLine(line.id, discount)
                    close()
                }
                discounting = false
            }
        }
        .errorAlert($failure)
        .approvalLayer()
    }
}

/// A percent or an amount off (or none). More than 10 % asks a manager, by the core's rule.
struct DiscountSheet: View {
    let title: String
    var asksReason = true
    let apply: (Pricing.Discount?, String) -> Void
    @State private var percent = true
    @State private var value = 10.0
    @State private var reason = ""

    var body: some View {
        NavigationStack {
            Form {
                Picker("Kind", selection: $percent) {
                    Text("Percent").tag(true)
                    Text("Amount").tag(false)
                }
                .pickerStyle(.segmented)
                .frame(minHeight: Till.touch)
                if percent {
                    TextField("Percent off", value: $value, format: .number).frame(minHeight: Till.touch)
                } else {
                    TextField("Amount off", value: $value, format: .currency(code: "GBP")).frame(minHeight: Till.touch)
                }
                if asksReason { TextField("Reason", text: $reason).frame(minHeight: Till.touch) }
                Button("Apply") { apply(discount, reason) }.touchTarget()
                Button("Remove the discount", role: .destructive) { apply(nil, reason) }.touchTarget()
            }
            .navigationTitle(title)
        }
        .approvalLayer()
    }

    /// The typed value in the wire's units: basis points for a percent, pence for an amount.
    private var discount: Pricing.Discount {
        let units = Int((value * 100).rounded())
        return Pricing.Discount(kind: percent ? .percent : .fixed, value: units)
    }
}
#endif
