import Foundation
import Testing

/// The real server the live tests talk to, as `tests/swift_harness.py` describes it in the
/// environment (see FynloSync's LiveServer.swift); unset, the live tests are skipped.
enum LiveServer {
    static let environment = ProcessInfo.processInfo.environment
    static let url: URL? = environment["FYNLO_SYNC_URL"].flatMap { $0.isEmpty ? nil : URL(string: $0) }
    static let isConfigured = url != nil
}
