// swift-tools-version: 6.0
// FynloSync: the iPad's sync engine. No outside packages; builds and tests on Linux.
import PackageDescription

let package = Package(
    name: "FynloSync",
    platforms: [.iOS(.v17), .macOS(.v14)],
    products: [
        .library(name: "FynloSyncCore", targets: ["FynloSyncCore"]),
        .library(name: "FynloSyncHTTP", targets: ["FynloSyncHTTP"]),
        .library(name: "FynloSyncSQLite", targets: ["FynloSyncSQLite"]),
        .library(name: "FynloSyncCoreData", targets: ["FynloSyncCoreData"]),
        .library(name: "FynloSyncTesting", targets: ["FynloSyncTesting"]),
    ],
    targets: [
        // Foundation only: models, clocks, merge rules, pricing, the engine and its ports.
        .target(name: "FynloSyncCore"),
        // The one place that imports FoundationNetworking (Linux URLSession).
        .target(name: "FynloSyncHTTP", dependencies: ["FynloSyncCore"]),
        // The system SQLite (libsqlite3-dev on Debian, the SDK's on Apple platforms).
        .systemLibrary(name: "CFynloSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "FynloSyncSQLite", dependencies: ["FynloSyncCore", "CFynloSQLite"]),
        // Every file inside `#if canImport(CoreData)`: an empty module on Linux.
        .target(name: "FynloSyncCoreData", dependencies: ["FynloSyncCore"]),
        .target(name: "FynloSyncTesting", dependencies: ["FynloSyncCore"]),
        .testTarget(
            name: "FynloSyncCoreTests",
            dependencies: ["FynloSyncCore", "FynloSyncTesting"]
        ),
        .testTarget(
            name: "FynloSyncStoreTests",
            dependencies: ["FynloSyncCore", "FynloSyncSQLite", "FynloSyncCoreData", "FynloSyncTesting"]
        ),
        .testTarget(
            name: "FynloSyncIntegrationTests",
            dependencies: ["FynloSyncCore", "FynloSyncHTTP", "FynloSyncSQLite", "FynloSyncTesting"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
