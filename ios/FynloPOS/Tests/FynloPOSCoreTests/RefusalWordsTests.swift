import FynloPOSCore
import FynloSyncCore
import Testing

/// Every refusal a model throws reads as a sentence on the till, never a Swift case name.
@Suite("refusals in words")
struct RefusalWordsTests {
    static let refusals: [any Error & CustomStringConvertible] = [
        MenuRefusal.unknownProduct, MenuRefusal.soldOut(product: "Sea bass"),
        MenuRefusal.notEnoughLeft(product: "Ribeye", remaining: 2),
        MenuRefusal.tooFewChoices(group: "Cooking", min: 1), MenuRefusal.tooManyChoices(group: "Sides", max: 2),
        MenuRefusal.unknownModifier("Truffle"), MenuRefusal.unknownLocation,
        FloorRefusal.unknownTable("T9"), FloorRefusal.tableTaken("T4"), FloorRefusal.tableEmpty("T4"),
        FloorRefusal.invalidCovers(0), FloorRefusal.twoBills, FloorRefusal.mergeNeedsTwoTables,
        FloorRefusal.notMerged("T4"), FloorRefusal.mainTableOfGroup("T4"),
        OrderRefusal.unknownOrder("o"), OrderRefusal.unknownLine("l"), OrderRefusal.orderClosed(.paid),
        OrderRefusal.menu(.soldOut(product: "Sea bass")), OrderRefusal.invalidQuantity(0),
        OrderRefusal.invalidSeat(0), OrderRefusal.invalidCourse(21), OrderRefusal.invalidCovers(-1),
        OrderRefusal.invalidServiceCharge(20_000), OrderRefusal.invalidTip(-1),
        OrderRefusal.invalidDiscount(Pricing.Discount(kind: .percent, value: 20_000)),
        OrderRefusal.invalidOpenItem, OrderRefusal.nothingToSend, OrderRefusal.holdsMoney(1_205),
        OrderRefusal.notApproved(.ordersVoid),
        BillRefusal.noParts, BillRefusal.linesLeftOut(["a", "b"]), BillRefusal.lineTwice("a"), BillRefusal.unknownLine("a"),
        BillRefusal.partPaid("Guest 2"),
    ]

    @Test(arguments: 0..<refusals.count)
    func readsAsASentence(_ index: Int) {
        let words = String(describing: Self.refusals[index])
        #expect(words.first?.isUppercase == true || words.first?.isNumber == true, "\(words)")
        #expect(words.hasSuffix(".") || words.hasSuffix(")."), "\(words)")
        #expect(!words.contains("("  + "product:") && !words.contains("Refusal"), "\(words)")
    }

    @Test func moneyHeldIsShownInPoundsAndPence() {
        #expect(OrderRefusal.holdsMoney(1_205).description.hasPrefix("12.05 has been taken"))
        #expect(OrderRefusal.menu(.soldOut(product: "Sea bass")).description == "Sea bass is 86'd (sold out).")
    }
}
