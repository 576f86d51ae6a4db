/// Wrong PINs counted on this iPad, as the server counts them online (`docs/security.md`,
/// "PINs"): per employee id, five tries, then a wait of 30 seconds doubling to 15 minutes
/// after each further wrong PIN; a try during a wait is refused and not counted; a right PIN
/// clears the count; a count untouched for a day starts again. Online failures count here
/// too (the server counts them as well), so going offline gives no fresh tries.
///
/// Offline failures also wait to be reported to the server (``OfflinePinFailureReport``): a
/// report is frozen under one id until the server acknowledges it, so a resend is the same
/// report, and failures made meanwhile go into the next one.
public struct PinAttempts: Sendable, Hashable, Codable {
    public static let free = 5
    public static let firstWaitMs = 30_000
    public static let maxWaitMs = 900_000
    public static let forgetAfterMs = 86_400_000

    struct Count: Sendable, Hashable, Codable {
        var failures = 0
        var nextAttemptAtMs = 0
        var lastAttemptAtMs = 0
    }

    private var counts: [String: Count] = [:]
    private var unreported: [String: OfflinePinFailureReport.Entry] = [:]
    /// A report sent (or being sent) and not yet acknowledged.
    public private(set) var frozen: OfflinePinFailureReport?

    public init() {}

    /// Milliseconds to wait after `failures` consecutive wrong PINs.
    public static func waitAfter(_ failures: Int) -> Int {
        guard failures >= free else { return 0 }
        let doublings = min(failures - free, 20)
        return min(firstWaitMs << doublings, maxWaitMs)
    }

    /// Seconds this iPad must still wait before trying `employeeID`'s PIN, or `nil`.
    public func waitSeconds(_ employeeID: String, nowMs: Int) -> Int? {
        guard let count = counts[employeeID.lowercased()], count.nextAttemptAtMs > nowMs else { return nil }
        return (count.nextAttemptAtMs - nowMs + 999) / 1000
    }

    /// Consecutive wrong PINs for `employeeID` still counted.
    public func failures(_ employeeID: String, nowMs: Int) -> Int {
        guard let count = counts[employeeID.lowercased()], count.lastAttemptAtMs > nowMs - Self.forgetAfterMs
        else { return 0 }
        return count.failures
    }

    /// A wrong PIN; `offline` ones are kept for the server too.
    public mutating func failed(_ employeeID: String, nowMs: Int, offline: Bool) {
        let id = employeeID.lowercased()
        var count = counts[id] ?? Count()
        if count.lastAttemptAtMs <= nowMs - Self.forgetAfterMs { count.failures = 0 }
        count.failures += 1
        count.lastAttemptAtMs = nowMs
        count.nextAttemptAtMs = nowMs + Self.waitAfter(count.failures)
        counts[id] = count
        guard offline else { return }
        var entry = unreported[id] ?? .init(employeeID: id, failures: 0, firstAtMs: nowMs, lastAtMs: nowMs, cleared: false)
        entry.failures += 1
        entry.lastAtMs = nowMs
        entry.cleared = false
        unreported[id] = entry
    }

    /// The server made this iPad wait (429): wait at least as long here.
    public mutating func serverWait(_ employeeID: String, seconds: Int, nowMs: Int) {
        let id = employeeID.lowercased()
        var count = counts[id] ?? Count()
        count.nextAttemptAtMs = max(count.nextAttemptAtMs, nowMs + seconds * 1000)
        count.lastAttemptAtMs = nowMs
        counts[id] = count
    }

    /// A right PIN: the count starts again; unreported failures are marked cleared.
    public mutating func succeeded(_ employeeID: String) {
        let id = employeeID.lowercased()
        counts[id] = nil
        unreported[id]?.cleared = true
    }

    /// The report to send: the frozen one if any, else one made now under `newID` from
    /// every unreported failure; `nil` when there is nothing to report.
    public mutating func reportToSend(newID: String) -> OfflinePinFailureReport? {
        if let frozen { return frozen }
        guard !unreported.isEmpty else { return nil }
        let report = OfflinePinFailureReport(
            id: newID, entries: unreported.values.sorted { $0.employeeID < $1.employeeID })
        unreported = [:]
        frozen = report
        return report
    }

    /// The server has report `id`.
    public mutating func reported(_ id: String) {
        if frozen?.id == id.lowercased() { frozen = nil }
    }

    /// Failures not yet in a report (for the UI and tests).
    public var unreportedEntries: [OfflinePinFailureReport.Entry] {
        unreported.values.sorted { $0.employeeID < $1.employeeID }
    }
}
