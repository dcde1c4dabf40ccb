import ArgumentParser
import Foundation
import Logging
import MilestoneRPC
import MilestoneRPCNIO
import MilestoneBenchSupport
import MilestoneWire
import NIOCore
import NIOPosix

/// `milestone-bench rpc` (the default), `steps`, `directory`, `identity` and `sessions`. Like the services and the tests,
/// it uses the default executors (calls run on their connection's event loop through task executor
/// preferences; nothing is installed globally).
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "milestone-bench",
        abstract: "Benchmarks of the Milestone RPC framework and services.",
        subcommands: [RPCBench.self, StepsBench.self, DirectoryBench.self, IdentityBench.self, SessionBench.self],
        defaultSubcommand: RPCBench.self
    )
}

/// Measures unary calls over loopback: our RPC (full envelope, protobuf-c, interceptors, bearer-token
/// authentication) against a bare length-prefixed NIO echo in the same process, in alternating rounds.
struct RPCBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpc",
        abstract: "Unary calls/s and p50/p99 latency over loopback against a bare NIO echo, in alternating rounds; allocations per call; memory."
    )

    @Option(help: "Seconds measured per round and side.")
    var duration: Double = 2

    @Option(help: "Seconds of warm-up before each round (not measured).")
    var warmup: Double = 0.3

    @Option(help: "Alternating rounds (rpc, bare, rpc, bare, …) per configuration; figures are their medians.")
    var rounds = 5

    @Option(help: "Concurrency levels (calls in flight on one connection), comma-separated.")
    var concurrency: String = "1,8,64"

    @Option(help: "Payload sizes in bytes, comma-separated.")
    var payloads: String = "64"

    @Option(help: "Sequential calls counted for the allocations per call.")
    var allocationCalls = 2_000

    @Flag(help: "Print one JSON object per configuration, then one for the process, instead of the tables.")
    var json = false

    @Flag(help: "Run the callers (rpc and bare alike) on the clients' event loop instead of Swift's global executor.")
    var callersOnEventLoop = false

    @Option(help: "Measure one side only, for profiling: rpc or bare (its rounds then show 0 for the other).")
    var only: String?

    func run() async throws {
        let levels = self.concurrency.split(separator: ",").compactMap { Int($0) }
        let sizes = self.payloads.split(separator: ",").compactMap { Int($0) }
        guard !levels.isEmpty, !sizes.isEmpty, levels.allSatisfy({ $0 > 0 }), sizes.allSatisfy({ $0 >= 0 }) else {
            throw ValidationError("--concurrency and --payloads take comma-separated positive numbers")
        }
        guard self.only == nil || self.only == "rpc" || self.only == "bare" else {
            throw ValidationError("--only takes rpc or bare")
        }
        guard self.rounds > 0, self.duration > 0, self.allocationCalls > 0 else {
            throw ValidationError("--rounds, --duration and --allocation-calls must be positive")
        }
        // Counted first, in a process of its own (the interposer that counts slows every allocation).
        let allocations = AllocationsProcess.perCall(payloads: sizes, calls: self.allocationCalls)
        var lines: [String] = []
        try await EchoWorkload.run { workload in
            // Where the callers run: the clients' loop (`--callers-on-event-loop`), or Swift's global executor.
            let callers = self.callersOnEventLoop ? EventLoopTaskExecutor(workload.clientLoop) : nil
            let threads = MeasuredThreads(serverLoop: workload.serverLoopThread, clientLoop: workload.clientLoopThread)
            for size in sizes {
                let rpcCall = workload.rpcCall(payload: size)
                let bareCall = workload.bareCall(payload: size)
                let counted = allocations[size]
                for level in levels {
                    let rounds = try await AlternatingRounds.run(
                        name: "rpc", referenceName: "bare NIO echo", rounds: self.rounds,
                        ours: { self.only == "bare" ? .none : try await self.measure(concurrency: level, on: callers, threads: threads, rpcCall) },
                        reference: { self.only == "rpc" ? .none : try await self.measure(concurrency: level, on: callers, threads: threads, bareCall) }
                    )
                    if self.json {
                        let counts = [
                            counted.map { String(format: #""allocations_per_call":%.1f"#, $0.rpc) },
                            counted.map { String(format: #""reference_allocations_per_call":%.1f"#, $0.bare) },
                        ].compactMap { $0 }
                        print("{" + ([#""concurrency":\#(level),"payload_bytes":\#(size)"#, rounds.jsonFields] + counts).joined(separator: ",") + "}")
                    } else {
                        lines.append(rounds.report(label: "concurrency \(level), payload \(size) B"))
                    }
                }
                if !self.json {
                    lines.append(Self.describe(allocations: counted, payload: size))
                }
            }
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if self.json {
            print(String(format: #"{"resident_mib":%.1f,"peak_resident_mib":%.1f,"cores":%d}"#, residentMiB(pid: getpid()), peakResidentMiB(pid: getpid()), cores))
        } else {
            lines.append(String(format: "memory of the whole benchmark process: resident %.1f MiB, peak %.1f MiB; %d cores", residentMiB(pid: getpid()), peakResidentMiB(pid: getpid()), cores))
            print(lines.joined(separator: "\n\n"))
        }
    }

    private static func describe(allocations: (rpc: Double, bare: Double)?, payload: Int) -> String {
        guard let allocations else {
            return "allocations per call: not counted (milestone-allocations did not run: build it beside milestone-bench)"
        }
        return String(
            format: "allocations per call (client + server, one process, %d B, sequential; milestone-allocations): rpc %.1f, bare %.1f",
            payload, allocations.rpc, allocations.bare
        )
    }

    private func measure(
        concurrency: Int,
        on callers: EventLoopTaskExecutor?,
        threads: MeasuredThreads,
        _ call: @escaping @Sendable () async throws -> Void
    ) async throws -> Measurement {
        if let callers {
            return try await withTaskExecutorPreference(callers) {
                try await measureCalls(concurrency: concurrency, warmup: self.warmup, duration: self.duration, threads: threads, call)
            }
        }
        return try await measureCalls(concurrency: concurrency, warmup: self.warmup, duration: self.duration, threads: threads, call)
    }
}

/// The event-loop threads whose CPU time a measurement reports apart from the rest.
struct MeasuredThreads: Sendable {
    let serverLoop: Int32
    let clientLoop: Int32
}

/// Runs `call` from `concurrency` tasks for the warm-up, then for the measured duration; with `threads`,
/// also reads the CPU time each thread used during the measured duration.
func measureCalls(
    concurrency: Int,
    warmup: Double,
    duration: Double,
    threads: MeasuredThreads? = nil,
    _ call: @escaping @Sendable () async throws -> Void
) async throws -> Measurement {
        let clock = ContinuousClock()
        let warmupEnd = clock.now + .seconds(warmup)
        let end = warmupEnd + .seconds(duration)
        // The CPU times at the measured window's start and end, read by a task of their own.
        let cpuWindow = Task { () -> (ThreadCPU, ThreadCPU)? in
            guard threads != nil else { return nil }
            try? await Task.sleep(until: warmupEnd, clock: clock)
            let start = ThreadCPU.snapshot()
            try? await Task.sleep(until: end, clock: clock)
            return (start, ThreadCPU.snapshot())
        }
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
        var measurement = Measurement(sortedNanoseconds: latencies, seconds: duration)
        if let threads, let (start, stop) = await cpuWindow.value {
            measurement.cpu = ThreadCPU.perCall(
                from: start, to: stop, calls: latencies.count, serverLoop: threads.serverLoop, clientLoop: threads.clientLoop
            )
        }
        return measurement
}

struct Measurement {
    let callsPerSecond: Double
    let p50Micros: Double
    let p99Micros: Double
    /// CPU per call by thread during the measured duration, when it was read.
    var cpu: CPUPerCall?

    /// Nothing measured.
    static let none = Measurement(sortedNanoseconds: [], seconds: 1)

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


/// Runs `milestone-allocations` (beside this binary) and reads its counts; empty when it cannot.
enum AllocationsProcess {
    static func perCall(payloads: [Int], calls: Int) -> [Int: (rpc: Double, bare: Double)] {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("milestone-allocations")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else { return [:] }
        let process = Process()
        process.executableURL = binary
        process.arguments = ["--payloads", payloads.map(String.init).joined(separator: ","), "--calls", "\(calls)"]
        let output = Pipe()
        process.standardOutput = output
        do {
            try process.run()
        } catch {
            return [:]
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return [:] }
        var counts: [Int: (rpc: Double, bare: Double)] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let size = object["payload_bytes"] as? Int,
                let rpc = object["allocations_per_call"] as? Double,
                let bare = object["reference_allocations_per_call"] as? Double
            else { continue }
            counts[size] = (rpc, bare)
        }
        return counts
    }
}

/// Times the steps of an echo call that are our own code (codec, interceptors, handler), each alone on one
/// thread: no sockets and no thread hand-offs, so the figures hold still on a noisy machine.
struct StepsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "steps",
        abstract: "Nanoseconds per step of an echo call on one thread (codec, interceptors, handler), without sockets."
    )

    @Option(help: "Iterations of each step per repetition.")
    var iterations = 200_000

    @Option(help: "Repetitions of each step; the figure is their median.")
    var repetitions = 5

    @Option(help: "Payload size in bytes.")
    var payload = 64

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    func validate() throws {
        guard self.iterations > 0, self.repetitions > 0, self.payload >= 0 else {
            throw ValidationError("--iterations and --repetitions take positive numbers, --payload a size of 0 or more")
        }
    }

    func run() async throws {
        let steps = try await CallSteps.measure(payload: self.payload, iterations: self.iterations, repetitions: self.repetitions)
        let total = steps.reduce(0) { $0 + $1.nanoseconds }
        if self.json {
            let fields = steps.map { String(format: #""%@":%.0f"#, $0.name, $0.nanoseconds) }.joined(separator: ",")
            print(String(format: #"{"payload_bytes":%d,"ns_per_step":{%@},"total_ns":%.0f}"#, self.payload, fields, total))
            return
        }
        print("steps of one echo call (\(self.payload) B), one thread, no sockets: median of \(self.repetitions) × \(self.iterations)")
        for step in steps {
            print("  " + step.name.padding(toLength: 48, withPad: " ", startingAt: 0) + String(format: "%7.0f ns", step.nanoseconds))
        }
        print("  " + "total".padding(toLength: 48, withPad: " ", startingAt: 0) + String(format: "%7.0f ns", total))
    }
}
