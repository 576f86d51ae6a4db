import FynloPOSCore
import FynloPOSTesting
import Testing

/// The cash drawer through the receipt printer: the ESC/POS kick, sent when cash is taken.
@Suite("cash drawer through the receipt printer")
@MainActor
struct PrinterCashDrawerTests {
    @Test func theKickIsEscPWithFiftyMillisecondsOnAndFiveHundredOff() {
        #expect(EscPos.drawerKick() == [0x1B, 0x70, 0x00, 0x19, 0xFA])
        #expect(EscPos.drawerKick(pin: .five) == [0x1B, 0x70, 0x01, 0x19, 0xFA])
        // Each time is in 2 ms steps, one byte: out of range is clamped, never wrapped.
        #expect(EscPos.drawerKick(onMs: 1_000, offMs: 0) == [0x1B, 0x70, 0x00, 0xFF, 0x01])
    }

    @Test func openingSendsTheKickToThePrinter() async throws {
        let link = FakePrinterLink()
        try await PrinterCashDrawer(link: link).open()
        try await PrinterCashDrawer(link: link, pin: .five).open()
        #expect(await link.received == [[0x1B, 0x70, 0x00, 0x19, 0xFA], [0x1B, 0x70, 0x01, 0x19, 0xFA]])
    }

    @Test func cashTakenOpensTheDrawerAndAPrinterOutOfReachIsSaidInWords() async throws {
        let rig = PaymentRig()
        let link = FakePrinterLink()
        let paid = PaymentFlowModel(
            due: PaymentDue(orderID: PaymentRig.orderID, amount: 1_000), api: rig.api, journal: rig.journal,
            records: rig.records, drawer: PrinterCashDrawer(link: link), clock: rig.clock, sleeper: rig.sleeper,
            ids: rig.ids)
        await paid.payCash(tendered: 2_000)
        #expect(paid.stage == .paid)
        #expect(await link.received == [EscPos.drawerKick()])

        let unplugged = PaymentFlowModel(
            due: PaymentDue(orderID: PaymentRig.orderID, amount: 1_000), api: rig.api, journal: rig.journal,
            records: rig.records, drawer: PrinterCashDrawer(link: FakePrinterLink(failing: .unreachable("refused"))),
            clock: rig.clock, sleeper: rig.sleeper, ids: rig.ids)
        await unplugged.payCash(tendered: 1_000)
        #expect(unplugged.stage == .paid, "the cash is taken whatever the drawer does")
        #expect(unplugged.message.contains("The drawer did not open: open it by hand."))
    }

    @Test func aTillWithNoPrinterSetUpHasNoDrawerToComplainAbout() async throws {
        try await PrinterCashDrawer(link: FakePrinterLink(failing: .notSetUp)).open()
        let rig = PaymentRig()
        let model = PaymentFlowModel(
            due: PaymentDue(orderID: PaymentRig.orderID, amount: 1_000), api: rig.api, journal: rig.journal,
            records: rig.records, drawer: PrinterCashDrawer(link: FakePrinterLink(failing: .notSetUp)),
            clock: rig.clock, sleeper: rig.sleeper, ids: rig.ids)
        await model.payCash(tendered: 1_000)
        #expect(model.stage == .paid && !model.message.contains("drawer"))
    }
}
