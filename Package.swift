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
        .library(name: "MilestoneDirectoryTesting", targets: ["MilestoneDirectoryTesting"]),
        .library(name: "MilestoneIdentityTesting", targets: ["MilestoneIdentityTesting"]),
        .executable(name: "milestone", targets: ["milestone"]),
        .executable(name: "milestone-directory", targets: ["milestone-directory"]),
        .executable(name: "milestone-identity", targets: ["milestone-identity"]),
        .executable(name: "milestone-dev-idp", targets: ["milestone-dev-idp"]),
        .executable(name: "milestone-demo", targets: ["milestone-demo"]),
        .executable(name: "milestone-bench", targets: ["milestone-bench"]),
        .executable(name: "milestone-allocations", targets: ["milestone-allocations"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.1"),
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
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),

        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),

        // Outbound HTTPS through libcurl: timeouts, size cap, TLS verification, same-host redirects only.
        .target(
            name: "MilestoneHTTPClient",
            dependencies: [
                "CCurl",
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // OpenSSL's libcrypto behind a Swift API: random bytes, SHA-256, HMAC, constant-time comparison.
        .target(
            name: "MilestoneCrypto",
            dependencies: ["COpenSSL"],
            swiftSettings: swiftSettings
        ),

        // The wire layer: Swift message types generated from Protos/, bridged to protobuf-c.
        .target(
            name: "MilestoneWire",
            dependencies: ["CProtobufC", "CMilestoneProtos"],
            swiftSettings: swiftSettings
        ),

        // The transport-agnostic RPC core: status codes, metadata, deadlines, routing, interceptors, auth,
        // the per-connection call state machines, backoff and retry policies, and the service protocols and
        // clients generated from the `service` blocks of Protos/.
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

        // SQLite through GRDB, set up one way for every service: pragmas, busy timeout, file modes,
        // migrations, file and in-memory databases.
        .target(
            name: "MilestoneStorage",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),

        // The directory service: organizations, tenants and assignment.
        .target(
            name: "MilestoneDirectory",
            dependencies: [
                "MilestoneCrypto",
                "MilestoneRPC",
                "MilestoneStorage",
                "MilestoneWire",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // The identity service: SSO configurations with inheritance, sealed secrets.
        .target(
            name: "MilestoneIdentity",
            dependencies: [
                "MilestoneCrypto",
                "MilestoneHTTPClient",
                "MilestoneRPC",
                "MilestoneStorage",
                "MilestoneWire",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // The identity service's HTTP edge (Hummingbird, on the service's event loops): the login screen,
        // /api/auth/login|callback|me|logout per tenant and for the instance, session cookies, error pages.
        .target(
            name: "MilestoneIdentityHTTP",
            dependencies: [
                "MilestoneIdentity",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // A local stand-in for Microsoft Entra ID's v2 endpoints, for tests and local development.
        .target(
            name: "MilestoneEntraEmulator",
            dependencies: [
                "MilestoneCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // The echo service: for the framework's tests, the demo and the benchmark.
        .target(
            name: "MilestoneEchoService",
            dependencies: ["MilestoneRPC", "MilestoneWire"],
            swiftSettings: swiftSettings
        ),

        // What every service executable shares: settings (flags > environment > defaults), logging, the
        // data folder and its credentials, the RPC server and graceful shutdown.
        .target(
            name: "MilestoneServiceRuntime",
            dependencies: [
                "MilestoneRPC",
                "MilestoneRPCNIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // The client library that internal services and the CLI use: the generated clients over TCP, and
        // conveniences (paging sequences).
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

        // Test support, ours and our users': any services on port 0 with a connected client.
        .target(
            name: "MilestoneTesting",
            dependencies: [
                "MilestoneRPC",
                "MilestoneRPCNIO",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The directory service on port 0 with an in-memory database.
        .target(
            name: "MilestoneDirectoryTesting",
            dependencies: [
                "MilestoneDirectory",
                "MilestoneRPC",
                "MilestoneRPCNIO",
                "MilestoneTesting",
                "MilestoneWire",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // The identity service on port 0, beside a directory service, with in-memory databases.
        .target(
            name: "MilestoneIdentityTesting",
            dependencies: [
                "MilestoneCrypto",
                "MilestoneDirectory",
                "MilestoneDirectoryTesting",
                "MilestoneIdentity",
                "MilestoneRPC",
                "MilestoneRPCNIO",
                "MilestoneTesting",
                "MilestoneWire",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // Executables.
        .executableTarget(
            name: "milestone-dev-idp",
            dependencies: [
                "MilestoneCrypto",
                "MilestoneEntraEmulator",
                "MilestoneRPC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "milestone-directory",
            dependencies: [
                "MilestoneDirectory",
                "MilestoneRPC",
                "MilestoneServiceRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "milestone-identity",
            dependencies: [
                "MilestoneIdentityHTTP",
                "MilestoneCrypto",
                "MilestoneIdentity",
                "MilestoneRPC",
                "MilestoneRPCNIO",
                "MilestoneServiceRuntime",
                "MilestoneWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
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
                "MilestoneEchoService",
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
                "MilestoneBenchSupport",
                "MilestoneEntraEmulator",
                "MilestoneHTTPClient",
                "MilestoneClient",
                "MilestoneEchoService",
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
        // The benchmark's echo workload, shared by milestone-bench and milestone-allocations.
        .target(
            name: "MilestoneBenchSupport",
            dependencies: [
                "MilestoneEchoService",
                "MilestoneRPC",
                "MilestoneRPCNIO",
                "MilestoneWire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
            ],
            swiftSettings: swiftSettings
        ),
        // Allocations per call, counted by ordo-one's malloc interposer in a process of their own.
        .executableTarget(
            name: "milestone-allocations",
            dependencies: [
                "MilestoneBenchSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
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
            name: "MilestoneCryptoTests",
            dependencies: ["MilestoneCrypto"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MilestoneRPCTests",
            dependencies: [
                "MilestoneRPC",
                "MilestoneTesting",
                "MilestoneWire",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MilestoneRPCNIOTests",
            dependencies: [
                "MilestoneEchoService",
                "MilestoneRPC",
                "MilestoneRPCNIO",
                "MilestoneTesting",
                "MilestoneWire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MilestoneServiceRuntimeTests",
            dependencies: [
                "MilestoneEchoService",
                "MilestoneRPC",
                "MilestoneRPCNIO",
                "MilestoneServiceRuntime",
                "MilestoneWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MilestoneIdentityTests",
            dependencies: [
                "MilestoneClient",
                "MilestoneCrypto",
                "MilestoneEntraEmulator",
                "MilestoneHTTPClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                "MilestoneDirectory",
                "MilestoneDirectoryTesting",
                "MilestoneIdentity",
                "MilestoneIdentityHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "MilestoneIdentityTesting",
                "MilestoneRPC",
                "MilestoneRPCNIO",
                "MilestoneStorage",
                "MilestoneTesting",
                "MilestoneWire",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MilestoneDirectoryTests",
            dependencies: [
                "MilestoneClient",
                "MilestoneCrypto",
                "MilestoneDirectory",
                "MilestoneStorage",
                .product(name: "GRDB", package: "GRDB.swift"),
                "MilestoneDirectoryTesting",
                "MilestoneRPC",
                "MilestoneRPCNIO",
                "MilestoneTesting",
                "MilestoneWire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)

// Scripts/test runs the codec's tests under AddressSanitizer. They need only the wire layer, so with
// MILESTONE_PACKAGE_SCOPE=wire the package declares just that (and depends on nothing): the sanitized build
// takes seconds instead of rebuilding every dependency. MILESTONE_PACKAGE_SCOPE=fuzz declares the same and
// the fuzz target of the wire decoding (Scripts/fuzz-wire): libFuzzer supplies its `main`, so it exists
// only there, built with `--sanitize=fuzzer`.
let scope = Context.environment["MILESTONE_PACKAGE_SCOPE"]
if scope == "wire" || scope == "fuzz" {
    let wire: Set = ["CProtobufC", "CMilestoneProtos", "MilestoneWire", "MilestoneWireTests"]
    package.targets = package.targets.filter { wire.contains($0.name) }
    package.products = []
    package.dependencies = []
}
if scope == "fuzz" {
    package.targets.append(
        .executableTarget(
            name: "milestone-fuzz-wire",
            dependencies: ["MilestoneWire"],
            swiftSettings: swiftSettings + [.unsafeFlags(["-parse-as-library"])]
        )
    )
}
