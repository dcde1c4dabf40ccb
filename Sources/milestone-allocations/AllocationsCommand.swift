import ArgumentParser
import Foundation
import MilestoneBenchSupport

/// `milestone-allocations`: heap allocations per call of the benchmark's workload, counted in a process of
/// their own. It links ordo-one's malloc interposer (which puts itself in front of every allocation);
/// `milestone-bench` does not, so that its timings are not those of an instrumented allocator.
@main
struct AllocationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "milestone-allocations",
        abstract: "Heap allocations per unary call (client and server in this process): our RPC and the bare NIO echo, as JSON."
    )

    @Option(help: "Payload sizes in bytes, comma-separated.")
    var payloads: String = "64"

    @Option(help: "Sequential calls counted (after 200 not counted).")
    var calls = 2_000

    func run() async throws {
        let sizes = self.payloads.split(separator: ",").compactMap { Int($0) }
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 >= 0 }), self.calls > 0 else {
            throw ValidationError("--payloads takes comma-separated sizes and --calls a positive number")
        }
        guard AllocationCounter.isActive else {
            throw ValidationError("the malloc interposer is not active in this process: allocations cannot be counted here")
        }
        try await EchoWorkload.run { workload in
            for size in sizes {
                let rpc = try await self.perCall(workload.rpcCall(payload: size))
                let bare = try await self.perCall(workload.bareCall(payload: size))
                print(String(format: #"{"payload_bytes":%d,"calls":%d,"allocations_per_call":%.1f,"reference_allocations_per_call":%.1f}"#, size, self.calls, rpc, bare))
            }
        }
    }

    private func perCall(_ call: @Sendable () async throws -> Void) async throws -> Double {
        for _ in 0..<200 { try await call() }
        let count = try await AllocationCounter.count {
            for _ in 0..<self.calls { try await call() }
        }
        return Double(count) / Double(self.calls)
    }
}
