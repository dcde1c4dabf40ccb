import ArgumentParser
import Foundation
import MilestoneRPC
import MilestoneRPCNIO
import MilestoneWire

/// Release service executables run as their own processes for a benchmark: one scratch data folder, fresh
/// admin and service tokens in their environment, and everything stopped (SIGINT, newest first: a profiler
/// wrapper then writes its data) and removed by ``stop()``.
final class ServiceProcesses {
    let folder: URL
    let adminToken = "bench-admin-\(UInt64.random(in: .min ... .max))"
    let serviceToken = "bench-service-\(UInt64.random(in: .min ... .max))"
    private var processes: [Process] = []

    init() throws {
        self.folder = FileManager.default.temporaryDirectory.appendingPathComponent("milestone-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.folder, withIntermediateDirectories: true)
    }

    /// Starts `name` (beside this executable unless `binary` says where) with `arguments`, the data folder and
    /// `logLevel`; under `wrapper` (a profiler command) when given; its standard error to `standardError`.
    func start(
        _ name: String, _ arguments: [String], binary: String? = nil, logLevel: String = "warning",
        wrapper: String? = nil, standardError: FileHandle? = nil
    ) throws -> Process {
        let path = binary ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ValidationError("no \(name) at \(path): build it (swift build -c release --product \(name))")
        }
        let process = Process()
        let all = arguments + ["--data-dir", self.folder.path, "--log-level", logLevel]
        if let wrapper {
            let parts = wrapper.split(separator: " ").map(String.init)
            process.executableURL = URL(fileURLWithPath: parts[0])
            process.arguments = Array(parts.dropFirst()) + [path] + all
        } else {
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = all
        }
        var environment = ProcessInfo.processInfo.environment
        environment["MILESTONE_ADMIN_TOKEN"] = self.adminToken
        environment["MILESTONE_SERVICE_TOKEN"] = self.serviceToken
        process.environment = environment
        if let standardError { process.standardError = standardError }
        try process.run()
        self.processes.append(process)
        return process
    }

    func stop() {
        for process in self.processes.reversed() where process.isRunning {
            process.interrupt()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: self.folder)
    }
}

/// Returns once the server behind `rpc` reports SERVING (checking every 100 ms, for at most 15 s).
func waitUntilServing(_ rpc: RPCClient) async throws {
    for _ in 0..<150 {
        if (try? await HealthV1.Health.Client(rpc).check().status) == .serving { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw ValidationError("the service at \(rpc.endpoint) did not report SERVING within 15 s")
}
