/// ESC/POS, the command set (Epson's) nearly every receipt printer speaks: the few commands
/// the till sends, as bytes.
public enum EscPos {
    /// Which drawer connector pin the pulse goes to: pin 2 is the usual single drawer; pin 5
    /// a second drawer on a split cable.
    public enum DrawerPin: UInt8, Sendable {
        case two = 0
        case five = 1
    }

    /// `ESC p m t1 t2`: the printer pulses the drawer's solenoid on `pin`, on for `t1` × 2 ms
    /// and off for `t2` × 2 ms. The defaults (50 ms on, 500 ms off: `1B 70 00 19 FA`) are the
    /// ones drawer makers give; a drawer that does not spring open may want a longer pulse.
    public static func drawerKick(pin: DrawerPin = .two, onMs: Int = 50, offMs: Int = 500) -> [UInt8] {
        [0x1B, 0x70, pin.rawValue, UInt8(clamping: max(1, onMs / 2)), UInt8(clamping: max(1, offMs / 2))]
    }
}

/// Raw bytes to a receipt printer: its TCP port 9100 ("raw" or JetDirect printing), which
/// prints or acts on whatever arrives. On the iPad, FynloPOSUI's `NetworkPrinterLink`
/// (Network.framework); a fake in tests.
public protocol PrinterLink: Sendable {
    /// Delivers `bytes`; throws ``PrinterLinkError`` when they could not be.
    func send(_ bytes: [UInt8]) async throws
}

public enum PrinterLinkError: Error, Sendable, Hashable {
    /// No printer address is set on this iPad.
    case notSetUp
    /// The printer did not take the bytes (not there, refused, timed out), in words.
    case unreachable(String)
}

/// A cash drawer wired to the receipt printer's drawer port (the RJ11/RJ12 "DK" socket), as
/// most restaurant drawers are: the printer opens it when it receives the kick command.
///
/// A till with no printer set up has no drawer to open: ``open()`` then does nothing, rather
/// than tell staff after every cash sale that a drawer they do not have did not open.
public struct PrinterCashDrawer: CashDrawer {
    /// Where the app keeps the printer's address (host name or IP), as staff set it.
    public static let hostSetting = "fynlo.drawerPrinterHost"

    private let link: any PrinterLink
    private let kick: [UInt8]

    public init(link: any PrinterLink, pin: EscPos.DrawerPin = .two) {
        self.link = link
        kick = EscPos.drawerKick(pin: pin)
    }

    public func open() async throws {
        do {
            try await link.send(kick)
        } catch PrinterLinkError.notSetUp {
            return
        }
    }
}
