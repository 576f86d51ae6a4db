// swift-tools-version: 5.9
// The Fynlo POS iPad app as an app package: open this folder (FynloPOSApp.swiftpm) in Xcode
// 15+ (or Swift Playgrounds 4.4+ on a Mac) and run it on an iPad; no hand-made project.
// It builds on the FynloPOS package two folders up, and FynloSync beside it, by path.
//
// Apple only: `AppleProductTypes` exists only in Xcode and Swift Playgrounds. Linux never
// reads this manifest (tests/swift_harness.py and the Makefile take `ios/*/Package.swift`;
// this one is deeper), and `swift build` in ios/FynloPOS ignores this folder.
//
// Optional SDKs (add with File → Add Package Dependencies, to the FynloPOSApp target; the
// code that uses them is behind `#if canImport`): Stripe Terminal 4.x
// (https://github.com/stripe/stripe-terminal-ios-spm) for a card in person, and Stripe's
// iOS SDK (https://github.com/stripe/stripe-ios-spm, product StripePayments) for Apple Pay.
import AppleProductTypes
import PackageDescription

let package = Package(
    name: "FynloPOSApp",
    platforms: [.iOS("17.0")],
    products: [
        .iOSApplication(
            name: "Fynlo POS",
            targets: ["FynloPOSApp"],
            bundleIdentifier: "com.fynlo.pos",
            displayVersion: "0.1",
            bundleVersion: "1",
            accentColor: .presetColor(.indigo),
            supportedDeviceFamilies: [.pad],
            supportedInterfaceOrientations: [
                .landscapeRight,
                .landscapeLeft,
                .portrait,
                .portraitUpsideDown(.when(deviceFamilies: [.pad])),
            ],
            capabilities: [
                // The server on the restaurant's network (NSLocalNetworkUsageDescription).
                .localNetwork(
                    purposeString: "Fynlo talks to the restaurant's Fynlo server on this network to sync orders and take payments.",
                    bonjourServiceTypes: []),
                // A LAN server over plain http (NSAllowsLocalNetworking); the public server is https.
                .appTransportSecurity(configuration: .init(allowsLocalNetworking: true)),
                // Stripe Terminal: Bluetooth readers, and the location every card payment needs.
                .bluetoothAlways(purposeString: "Fynlo connects to your Stripe card reader over Bluetooth."),
                .locationWhenInUse(purposeString: "Stripe needs this iPad's location to take card payments."),
            ]
        )
    ],
    dependencies: [
        .package(path: "../.."),
        .package(path: "../../../FynloSync"),
    ],
    targets: [
        .executableTarget(
            name: "FynloPOSApp",
            dependencies: [
                .product(name: "FynloPOSCore", package: "FynloPOS"),
                .product(name: "FynloPOSHTTP", package: "FynloPOS"),
                .product(name: "FynloPOSUI", package: "FynloPOS"),
                .product(name: "FynloSyncCore", package: "FynloSync"),
                .product(name: "FynloSyncHTTP", package: "FynloSync"),
                .product(name: "FynloSyncSQLite", package: "FynloSync"),
            ],
            path: "Sources/FynloPOSApp"
        )
    ]
)
