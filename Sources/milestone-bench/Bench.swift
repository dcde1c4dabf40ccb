import ArgumentParser
import Foundation
import Logging
import MilestoneRPC
import MilestoneRPCNIO
import MilestoneEchoService
import MilestoneWire
import NIOCore
import NIOPosix

/// `milestone-bench rpc` (the default) and `milestone-bench directory`. Like the services and the tests,
/// it uses the default executors (calls run on their connection's event loop through task executor
/// preferences; nothing is installed globally).
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "milestone-bench",
        abstract: "Benchmarks of the Milestone RPC framework and services.",
        subcommands: [RPCBench.self, DirectoryBench.self, IdentityBench.self, SessionBench.self],
        defaultSubcommand: RPCBench.self
    )
}

/// Measures unary calls over loopback: our RPC (full envelope, protobuf-c, interceptors, bearer-token
/// authentication) against a bare length-prefixed NIO echo in the same process.
struct RPCBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpc",
        abstract: "Unary calls/s and p50/p99 latency over loopback, against a bare NIO echo."
    )

    @Option(help: "Seconds measured per configuration.")
    var duration: Double = 3

    @Option(help: "Seconds of warm-up per configuration (not measured).")
    var warmup: Double = 0.5

    @Option(help: "Concurrency levels (calls in flight on one connection), comma-separated.")
    var concurrency: String = "1,8,64"

    @Option(help: "Payload sizes in bytes, comma-separated.")
    var payloads: String = "64,4096"

    @Flag(inversion: .prefixedNo, help: "Also measure the bare NIO echo reference.")
    var reference = true

    @Flag(help: "Print one JSON object per configuration instead of the table.")
    var json = false

    func run() async throws {
        let levels = self.concurrency.split(separator: ",").compactMap { Int($0) }
        let sizes = self.payloads.split(separator: ",").compactMap { Int($0) }
        guard !levels.isEmpty, !sizes.isEmpty, levels.allSatisfy({ $0 > 0 }), sizes.allSatisfy({ $0 >= 0 }) else {
            throw ValidationError("--concurrency and --payloads take comma-separated positive numbers")
        }
        let logger = Logger(label: "milestone.bench") { _ in SwiftLogNoOpLogHandler() }
        let group = MultiThreadedEventLoopGroup.singleton

        let token = "bench-token-\(UInt64.random(in: .min ... .max))"
        let server = RPCServer(
            configuration: RPCServerConfiguration(authentication: .bearerTokens(BearerTokens(admin: nil, service: token))),
            services: [EchoService(access: .adminOrService)],
            logger: logger
        )
        let bare = try await BareEcho.startServer(group: group)
        let barePort = bare.localAddress!.port!

        var rows: [Row] = []
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await server.run() }
            let endpoint = try await server.listeningEndpoint
            try await withRPCClient(endpoint, configuration: RPCClientConfiguration(token: token), logger: logger) { client in
                let bareChannel = try await BareEcho.connect(to: barePort, group: group)
                for size in sizes {
                    for level in levels {
                        let request = {
                            var request = TestingV1.EchoRequest()
                            request.payload = Array(repeating: 0x5A, count: size)
                            return request
                        }()
                        let reference = self.reference
                            ? try await self.measure(concurrency: level) {
                                _ = try await BareEcho.call(bareChannel, ByteBuffer(bytes: request.payload))
                            } : Measurement(sortedNanoseconds: [], seconds: 1)
                        let ours = try await self.measure(concurrency: level) {
                            _ = try await client.unary(TestingV1.Echo.echo, request)
                        }
                        let row = Row(concurrency: level, payloadBytes: size, rpc: ours, bare: reference)
                        rows.append(row)
                        if self.json {
                            print(row.json)
                        }
                    }
                }
                try await bareChannel.close()
            }
            server.beginGracefulShutdown()
            try await tasks.waitForAll()
        }
        try await bare.close()
        if !self.json {
            print(Row.table(rows))
            print("peak resident memory: \(peakResidentMiB()) MiB; \(ProcessInfo.processInfo.activeProcessorCount) cores")
        }
    }

    private func measure(concurrency: Int, _ call: @escaping @Sendable () async throws -> Void) async throws -> Measurement {
        try await measureCalls(concurrency: concurrency, warmup: self.warmup, duration: self.duration, call)
    }
}

/// Runs `call` from `concurrency` tasks for the warm-up, then for the measured duration.
func measureCalls(
    concurrency: Int,
    warmup: Double,
    duration: Double,
    _ call: @escaping @Sendable () async throws -> Void
) async throws -> Measurement {
        let clock = ContinuousClock()
        let warmupEnd = clock.now + .seconds(warmup)
        let end = warmupEnd + .seconds(duration)
        let latencies = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var samples: [Int64] = []
                    samples.reserveCapacity(1 << 16)
                    while true {
                        let start = clock.now
                        if start >= end { break }
                        try await call()
                        if start >= warmupEnd {
                            let elapsed = clock.now - start
                            samples.append(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
                        }
                    }
                    return samples
                }
            }
            var all: [Int64] = []
            for try await samples in group { all += samples }
            return all.sorted()
        }
        return Measurement(sortedNanoseconds: latencies, seconds: duration)
}

struct Measurement {
    let callsPerSecond: Double
    let p50Micros: Double
    let p99Micros: Double

    init(sortedNanoseconds: [Int64], seconds: Double) {
        self.callsPerSecond = Double(sortedNanoseconds.count) / seconds
        func percentile(_ p: Double) -> Double {
            guard !sortedNanoseconds.isEmpty else { return 0 }
            let index = min(sortedNanoseconds.count - 1, Int((Double(sortedNanoseconds.count) * p).rounded(.up)) - 1)
            return Double(sortedNanoseconds[max(index, 0)]) / 1000
        }
        self.p50Micros = percentile(0.50)
        self.p99Micros = percentile(0.99)
    }
}

struct Row {
    let concurrency: Int
    let payloadBytes: Int
    let rpc: Measurement
    let bare: Measurement

    var json: String {
        String(
            format: #"{"concurrency":%d,"payload_bytes":%d,"calls_per_s":%.0f,"p50_us":%.1f,"p99_us":%.1f,"# +
                #""bare_calls_per_s":%.0f,"bare_p50_us":%.1f,"bare_p99_us":%.1f,"ratio_to_bare":%.3f}"#,
            self.concurrency, self.payloadBytes, self.rpc.callsPerSecond, self.rpc.p50Micros, self.rpc.p99Micros,
            self.bare.callsPerSecond, self.bare.p50Micros, self.bare.p99Micros,
            self.rpc.callsPerSecond / max(self.bare.callsPerSecond, 1)
        )
    }

    static func table(_ rows: [Row]) -> String {
        var lines = [
            "concurrency  payload   rpc calls/s   p50 µs   p99 µs  | bare calls/s   p50 µs   p99 µs  | rpc/bare",
            String(repeating: "-", count: 104),
        ]
        for row in rows {
            lines.append(
                String(
                    format: "%11d  %7d  %12.0f  %7.1f  %7.1f  | %12.0f  %7.1f  %7.1f  |  %5.2f",
                    row.concurrency, row.payloadBytes, row.rpc.callsPerSecond, row.rpc.p50Micros, row.rpc.p99Micros,
                    row.bare.callsPerSecond, row.bare.p50Micros, row.bare.p99Micros,
                    row.rpc.callsPerSecond / max(row.bare.callsPerSecond, 1)
                )
            )
        }
        return lines.joined(separator: "\n")
    }
}

/// VmHWM from /proc/self/status, in MiB.
func peakResidentMiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kib = Int(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kib / 1024
}
