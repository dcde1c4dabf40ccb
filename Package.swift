// swift-tools-version:6.1
import PackageDescription

/// One settings block for every Swift target (STYLE.md §4).
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "milestone",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "MilestoneClient", targets: ["MilestoneClient"]),
        .library(name: "MilestoneTesting", targets: ["MilestoneTesting"]),
        .executable(name: "milestone", targets: ["milestone"]),
        .executable(name: "milestone-directory", targets: ["milestone-directory"]),
        .executable(name: "milestone-demo", targets: ["milestone-demo"]),
        .executable(name: "milestone-bench", targets: ["milestone-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // C bindings.
        .systemLibrary(
            name: "CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        .target(
            name: "CMilestoneProtos",
            dependencies: ["CProtobufC"]
        ),

        // The wire layer: Swift message types generated from Protos/, bridged to protobuf-c.
        .target(
            name: "MilestoneWire",
            dependencies: ["CProtobufC", "CMilestoneProtos"],
            swiftSettings: swiftSettings
        ),

        // The transport-agnostic RPC core: status codes, metadata, deadlines, routing, interceptors,
        // the per-connection call state machines, backoff and retry policies.
        .target(
            name: "MilestoneRPC",
            dependencies: [
                "MilestoneWire",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // The TCP transport on SwiftNIO: length-prefixed frames, server and client connections.
        .target(
            name: "MilestoneRPCNIO",
            dependencies: [
                "MilestoneRPC",
                "MilestoneWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // The directory service: organizations, tenants and assignment, on SQLite through GRDB.
        .target(
            name: "MilestoneDirectory",
            dependencies: [
                "MilestoneRPC",
                "MilestoneWire",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),

        // The typed client library that internal services and the CLI use.
        .target(
            name: "MilestoneClient",
            dependencies: [
                "MilestoneRPC",
                "MilestoneRPCNIO",
                "MilestoneWire",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // Starts servers on port 0 for our tests and our users' integration tests.
        .target(
            name: "MilestoneTesting",
            dependencies: [
                "MilestoneClient",
                "MilestoneDirectory",
                "MilestoneRPC",
                "MilestoneRPCNIO",
                "MilestoneWire",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // Executables.
        .executableTarget(
            name: "milestone-directory",
            dependencies: [
                "MilestoneClient",
                "MilestoneDirectory",
                "MilestoneRPC",
                "MilestoneRPCNIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "milestone",
            dependencies: [
                "MilestoneClient",
                "MilestoneRPC",
                "MilestoneRPCNIO",
                "MilestoneWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "milestone-demo",
            dependencies: [
                "MilestoneClient",
                "MilestoneTesting",
                "MilestoneRPC",
                "MilestoneRPCNIO",
                "MilestoneWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "milestone-bench",
            dependencies: [
                "MilestoneClient",
                "MilestoneTesting",
                "MilestoneRPC",
                "MilestoneRPCNIO",
                "MilestoneWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
            ],
            swiftSettings: swiftSettings
        ),

        // Tests mirror the library targets.
        .testTarget(
            name: "MilestoneWireTests",
            dependencies: ["MilestoneWire"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MilestoneRPCTests",
            dependencies: [
                "MilestoneRPC",
                "MilestoneWire",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MilestoneDirectoryTests",
            dependencies: [
                "MilestoneClient",
                "MilestoneDirectory",
                "MilestoneRPC",
                "MilestoneRPCNIO",
                "MilestoneTesting",
                "MilestoneWire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MilestoneRPCNIOTests",
            dependencies: [
                "MilestoneClient",
                "MilestoneRPC",
                "MilestoneRPCNIO",
                "MilestoneTesting",
                "MilestoneWire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
