#if canImport(Network)
import Foundation
import FynloPOSCore
import Network

/// The core's ``PrinterLink`` over Network.framework: one short TCP connection to the
/// receipt printer's raw port (9100) per command, closed once the bytes are sent. The
/// drawer's kick (``PrinterCashDrawer``) goes this way.
///
/// The printer's address is read at each send (`host`), so one set in the till's drawer
/// settings is used at the next cash sale; no address is ``PrinterLinkError/notSetUp``.
/// A printer that does not answer within `timeout` is ``PrinterLinkError/unreachable(_:)``:
/// a connection waiting for a route (Network.framework's `.waiting`) fails at once, since
/// the customer is at the till now, not later.
///
/// Never compiled on this project's Linux CI: a first build on a Mac must check it.
public struct NetworkPrinterLink: PrinterLink {
    private let host: @Sendable () -> String?
    private let port: UInt16
    private let timeout: TimeInterval

    public init(port: UInt16 = 9100, timeout: TimeInterval = 5, host: @escaping @Sendable () -> String?) {
        self.host = host
        self.port = port
        self.timeout = timeout
    }

    /// The address kept under ``PrinterCashDrawer/hostSetting`` (the drawer settings sheet).
    public static func fromSettings() -> NetworkPrinterLink {
        NetworkPrinterLink {
            UserDefaults.standard.string(forKey: PrinterCashDrawer.hostSetting)?
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    public func send(_ bytes: [UInt8]) async throws {
        guard let host = host(), !host.isEmpty else { throw PrinterLinkError.notSetUp }
        guard let port = NWEndpoint.Port(rawValue: port) else { throw PrinterLinkError.unreachable("bad port") }
        let connection = NWConnection(host: NWEndpoint.Host(host), port: port, using: .tcp)
        let queue = DispatchQueue(label: "fynlo.printer")
        let outcome = Outcome()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            outcome.begin(continuation)
            connection.stateUpdateHandler = { state in
                switch state {
                case .ready:
                    connection.send(
                        content: Data(bytes),
                        completion: .contentProcessed { error in
                            outcome.end(error.map { PrinterLinkError.unreachable($0.localizedDescription) })
                            connection.cancel()
                        })
                case .waiting(let error), .failed(let error):
                    outcome.end(PrinterLinkError.unreachable("\(host): \(error.localizedDescription)"))
                    connection.cancel()
                default:
                    break
                }
            }
            connection.start(queue: queue)
            queue.asyncAfter(deadline: .now() + timeout) {
                outcome.end(PrinterLinkError.unreachable("\(host) did not answer"))
                connection.cancel()
            }
        }
    }

    /// Resumes the send once, whichever comes first (sent, failed, timed out).
    private final class Outcome: @unchecked Sendable {
        // Only `continuation` changes, under the lock.
        private let lock = NSLock()
        private var continuation: CheckedContinuation<Void, any Error>?

        func begin(_ continuation: CheckedContinuation<Void, any Error>) {
            lock.withLock { self.continuation = continuation }
        }

        func end(_ error: (any Error)?) {
            let waiting = lock.withLock {
                defer { continuation = nil }
                return continuation
            }
            if let error { waiting?.resume(throwing: error) } else { waiting?.resume() }
        }
    }
}
#endif
