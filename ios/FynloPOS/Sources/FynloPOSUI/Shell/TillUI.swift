#if canImport(SwiftUI)
import FynloPOSCore
import Observation
import SwiftUI

/// What the screens need once the iPad is enrolled: the core's models, one per screen, and
/// the things only the composition root can make (a payment screen's model for an amount,
/// a refund screen's for a payment, and the live updates' stream). The app builds it (FynloPOSApp's `TillComposition`,
/// or the core's composition root when it lands) and puts it in the environment.
///
/// Nothing here decides anything: every action is a call on a core model.
@MainActor
@Observable
public final class TillUI {
    public let session: StaffSession
    public let approvals: Approvals
    public let floor: FloorModel
    public let menu: MenuModel
    public let order: OrderEntryModel
    public let bill: BillModel
    /// The cash drawer's float, paid-ins and -outs and blind count (``Till/drawer``).
    public let drawer: DrawerModel
    public let sync: SyncStatusModel
    /// The live updates' mode in words (``LiveUpdates/words(_:)``), kept current by the app.
    public var liveWords = ""
    /// The currency the restaurant prices in (orders carry pence only).
    public let currency: String
    public let makePayment: @MainActor (PaymentDue) -> PaymentFlowModel
    /// The refund screen for a payment id (``Till/refund(paymentID:)``: it reads the payment).
    public let makeRefund: @MainActor (String) async throws -> RefundModel
    public let liveEvents: @Sendable () async -> AsyncStream<LiveEvent>

    public init(
        session: StaffSession, approvals: Approvals, floor: FloorModel, menu: MenuModel, order: OrderEntryModel,
        bill: BillModel, drawer: DrawerModel, sync: SyncStatusModel, currency: String = "GBP",
        makePayment: @escaping @MainActor (PaymentDue) -> PaymentFlowModel,
        makeRefund: @escaping @MainActor (String) async throws -> RefundModel,
        liveEvents: @escaping @Sendable () async -> AsyncStream<LiveEvent>
    ) {
        self.session = session
        self.approvals = approvals
        self.floor = floor
        self.menu = menu
        self.order = order
        self.bill = bill
        self.drawer = drawer
        self.sync = sync
        self.currency = currency
        self.makePayment = makePayment
        self.makeRefund = makeRefund
        self.liveEvents = liveEvents
    }

    /// Pence as the till shows them, through the core's formatter (``PaymentWords/money(_:_:)``).
    public func money(_ pence: Int) -> String { PaymentWords.money(pence, currency) }
}
#endif
