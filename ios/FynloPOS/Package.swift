// swift-tools-version: 6.0
// FynloPOS: the iPad app. Its logic (FynloPOSCore) builds and is tested on Linux; the SwiftUI
// views (FynloPOSUI) compile only where SwiftUI exists. No outside packages.
import PackageDescription

let package = Package(
    name: "FynloPOS",
    platforms: [.iOS(.v17), .macOS(.v14)],
    products: [
        .library(name: "FynloPOSCore", targets: ["FynloPOSCore"]),
        .library(name: "FynloPOSHTTP", targets: ["FynloPOSHTTP"]),
        .library(name: "FynloPOSUI", targets: ["FynloPOSUI"]),
    ],
    dependencies: [.package(path: "../FynloSync")],
    targets: [
        // Foundation and Observation only: every screen's model and flow, driven by ports.
        .target(
            name: "FynloPOSCore",
            dependencies: [.product(name: "FynloSyncCore", package: "FynloSync")]
        ),
        // The ports' HTTP side (auth, payments, the socket), on FynloSyncHTTP's client.
        .target(
            name: "FynloPOSHTTP",
            dependencies: [
                "FynloPOSCore",
                .product(name: "FynloSyncCore", package: "FynloSync"),
                .product(name: "FynloSyncHTTP", package: "FynloSync"),
            ]
        ),
        // Fakes for the ports, for tests and SwiftUI previews.
        .target(
            name: "FynloPOSTesting",
            dependencies: [
                "FynloPOSCore",
                .product(name: "FynloSyncCore", package: "FynloSync"),
                .product(name: "FynloSyncTesting", package: "FynloSync"),
            ]
        ),
        // Every file inside `#if canImport(SwiftUI)`: an empty module on Linux.
        // Also the Apple-only platform adapters (Keychain, PassKit), each file behind its own
        // `#if canImport(...)`.
        .target(
            name: "FynloPOSUI",
            dependencies: ["FynloPOSCore", .product(name: "FynloSyncCore", package: "FynloSync")]
        ),
        .testTarget(
            name: "FynloPOSCoreTests",
            dependencies: [
                "FynloPOSCore", "FynloPOSTesting",
                .product(name: "FynloSyncCore", package: "FynloSync"),
                .product(name: "FynloSyncTesting", package: "FynloSync"),
            ]
        ),
        // The HTTP ports' logic that needs no server (refreshing the device token on a 401).
        .testTarget(
            name: "FynloPOSHTTPTests",
            dependencies: [
                "FynloPOSCore", "FynloPOSHTTP", "FynloPOSTesting",
                .product(name: "FynloSyncCore", package: "FynloSync"),
                .product(name: "FynloSyncHTTP", package: "FynloSync"),
                .product(name: "FynloSyncTesting", package: "FynloSync"),
            ]
        ),
        .testTarget(
            name: "FynloPOSLiveTests",
            dependencies: [
                "FynloPOSCore", "FynloPOSHTTP", "FynloPOSTesting",
                .product(name: "FynloSyncCore", package: "FynloSync"),
                .product(name: "FynloSyncHTTP", package: "FynloSync"),
                .product(name: "FynloSyncSQLite", package: "FynloSync"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
