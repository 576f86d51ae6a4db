#if canImport(SwiftUI)
import FynloPOSCore
import SwiftUI

/// The menu: categories across the top, the chosen category's dishes below. An 86'd dish is
/// shown greyed and struck through, and the core refuses it (``MenuModel/choose(_:)``);
/// holding a dish 86es it on every iPad or brings it back (``MenuModel/setSoldOut(_:_:)``).
/// A dish with modifiers opens ``ModifierSheet``; one without goes straight on the order.
struct MenuView: View {
    @Bindable var menu: MenuModel
    let add: (ProductChoice, String) -> Void
    @Environment(TillUI.self) private var till
    @State private var failure: String?

    var body: some View {
        VStack(alignment: .leading, spacing: 12) {
            ScrollView(.horizontal, showsIndicators: false) {
                HStack(spacing: 8) {
                    ForEach(menu.categories) { category in
                        Button(category.name) { menu.select(category: category.id) }
                            .buttonStyle(.bordered)
                            .tint(menu.selectedCategoryID == category.id ? Color.accentColor : Color.gray)
                            .touchTarget()
                    }
                }
            }
            if let refusal = menu.refusal {
                Text(Self.words(refusal)).foregroundStyle(.red)
            }
            ScrollView {
                LazyVGrid(columns: [GridItem(.adaptive(minimum: 150), spacing: 10)], spacing: 10) {
                    ForEach(menu.products) { product in
                        ProductTile(product: product, price: till.money(product.price))
                            .onTapGesture { choose(product) }
                            .contextMenu {
                                if product.availability.isSoldOut {
                                    Button("Back on the menu") {
                                        perform($failure) { try await menu.setSoldOut(product.id, false) }
                                    }
                                } else {
                                    Button("86 it (sold out)", role: .destructive) {
                                        perform($failure) { try await menu.setSoldOut(product.id, true) }
                                    }
                                }
                            }
                    }
                }
            }
        }
        .sheet(isPresented: Binding(get: { menu.choice != nil }, set: { if !$0 { menu.choice = nil } })) {
            ModifierSheet(menu: menu) { notes in
                if let choice = menu.choice { add(choice, notes) }
                menu.choice = nil
            }
        }
        .errorAlert($failure)
    }

    private func choose(_ product: MenuProduct) {
        menu.choose(product)
        // Nothing to pick: straight on the order.
        if let choice = menu.choice, choice.groups.isEmpty {
            add(choice, "")
            menu.choice = nil
        }
    }

    static func words(_ refusal: MenuRefusal) -> String { refusal.description }
}

struct ProductTile: View {
    let product: MenuProduct
    let price: String

    var body: some View {
        let soldOut = product.availability.isSoldOut
        VStack(spacing: 6) {
            Text(product.name).font(.headline).multilineTextAlignment(.center).strikethrough(soldOut)
            Text(price).font(.subheadline.monospacedDigit())
            if soldOut { Text("86'd").font(.caption.bold()).foregroundStyle(.red) }
            if !product.modifierGroupIDs.isEmpty { Image(systemName: "slider.horizontal.3").font(.caption) }
        }
        .frame(maxWidth: .infinity, minHeight: 90)
        .padding(6)
        .background(Color.gray.opacity(soldOut ? 0.1 : 0.2), in: RoundedRectangle(cornerRadius: 10))
        .opacity(soldOut ? 0.45 : 1)
        .contentShape(Rectangle())
        .accessibilityElement(children: .combine)
        .accessibilityAddTraits(.isButton)
        .accessibilityHint(soldOut ? "Sold out" : "")
    }
}

/// One dish's modifiers, group by group with their min and max, the quantity and a note.
/// Ticks go through ``ProductChoice/toggle(_:)`` (which keeps one-choice groups to one and
/// ignores a tick past a group's maximum); Add waits until ``ProductChoice/problems`` is empty.
struct ModifierSheet: View {
    @Bindable var menu: MenuModel
    let add: (String) -> Void
    @Environment(TillUI.self) private var till
    @State private var notes = ""

    var body: some View {
        NavigationStack {
            if let choice = menu.choice {
                Form {
                    ForEach(choice.groups) { group in
                        Section {
                            ForEach(group.modifiers) { modifier in
                                let ticked = choice.chosen.contains(modifier.id)
                                let full = !group.isSingleChoice
                                    && group.modifiers.filter { choice.chosen.contains($0.id) }.count >= group.maxChoices
                                Button {
                                    menu.choice?.toggle(modifier)
                                } label: {
                                    HStack {
                                        Image(systemName: ticked ? "checkmark.circle.fill" : "circle")
                                        Text(modifier.name)
                                        Spacer()
                                        if modifier.priceDelta != 0 {
                                            Text((modifier.priceDelta > 0 ? "+" : "") + till.money(modifier.priceDelta))
                                                .monospacedDigit()
                                        }
                                    }
                                    .frame(minHeight: Till.touch)
                                }
                                .disabled(full && !ticked)
                            }
                        } header: {
                            Text(group.name)
                        } footer: {
                            Text(Self.rule(group))
                        }
                    }
                    Section {
                        Stepper(
                            "Quantity: \(choice.quantity)",
                            value: Binding(get: { menu.choice?.quantity ?? 1 }, set: { menu.choice?.quantity = $0 }),
                            in: 1...99
                        )
                        .frame(minHeight: Till.touch)
                        TextField("Note for the kitchen", text: $notes).frame(minHeight: Till.touch)
                    }
                    Section {
                        ForEach(Array(choice.problems.enumerated()), id: \.offset) { _, problem in
                            Text(Self.words(problem)).foregroundStyle(.red)
                        }
                        Button("Add \(choice.quantity) × \(choice.product.name) — \(till.money(choice.unitPrice * choice.quantity))") {
                            add(notes)
                        }
                        .disabled(!choice.isReady)
                        .touchTarget()
                    }
                }
                .navigationTitle(choice.product.name)
                .toolbar {
                    ToolbarItem(placement: .cancellationAction) { Button("Cancel") { menu.choice = nil } }
                }
            }
        }
    }

    /// "Choose 1", "Choose 1 to 3", "Up to 2 (optional)".
    static func rule(_ group: ModifierGroup) -> String {
        if group.minChoices == 0 { return "Optional, up to \(group.maxChoices)" }
        if group.minChoices == group.maxChoices { return "Choose \(group.minChoices)" }
        return "Choose \(group.minChoices) to \(group.maxChoices)"
    }

    static func words(_ refusal: MenuRefusal) -> String { refusal.description }
}
#endif
