import ArgumentParser
import Foundation
import Logging
import MilestoneClient
import MilestoneRPC
import MilestoneRPCNIO
import MilestoneWire
import NIOCore
import NIOPosix

/// ResolveTenant against a real `milestone-directory` process loaded with organizations and tenants.
struct DirectoryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "directory",
        abstract: "Load organizations and tenants into milestone-directory, then measure ResolveTenant."
    )

    @Option(help: "Organizations to create.") var organizations = 10_000
    @Option(help: "Tenants per organization.") var tenantsPerOrganization = 10
    @Option(help: "Calls in flight while loading.") var loadConcurrency = 64
    @Option(help: "Calls in flight while measuring ResolveTenant.") var concurrency = 8
    @Option(help: "Seconds measured per round and side.") var duration: Double = 2
    @Option(help: "Seconds of warm-up before each round.") var warmup: Double = 0.3
    @Option(help: "Alternating rounds (ResolveTenant, Health.Check, …); figures are their medians.") var rounds = 5
    @Option(help: "The milestone-directory binary. (default: beside this one)") var directoryBinary: String?
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() async throws {
        let processes = try ServiceProcesses()
        defer { processes.stop() }
        let endpoint = Endpoint(host: "127.0.0.1", port: try await freePort())
        let process = try processes.start("milestone-directory", ["--listen", "\(endpoint)"], binary: self.directoryBinary)
        let adminToken = processes.adminToken
        let serviceToken = processes.serviceToken
        let pid = process.processIdentifier
        let logger = Logger(label: "milestone.bench") { _ in SwiftLogNoOpLogHandler() }

        let admin = RPCClientConfiguration(token: adminToken, defaultTimeout: .seconds(30))
        let service = RPCClientConfiguration(token: serviceToken, defaultTimeout: .seconds(30))
        let (rssStart, loadSeconds, slugs) = try await withRPCClient(endpoint, configuration: admin, logger: logger) { rpc in
            let directory = DirectoryV1.Directory.Client(rpc)
            try await waitUntilServing(rpc)
            let rssStart = residentMiB(pid: pid)  // serving, empty database
            let loader = DirectoryLoader(organizations: self.organizations, tenantsPerOrganization: self.tenantsPerOrganization, loadConcurrency: self.loadConcurrency)
            let (seconds, _, slugs) = try await loader.load(directory)
            return (rssStart, seconds, slugs)
        }
        try await Task.sleep(for: .seconds(1))
        let rssLoaded = residentMiB(pid: pid)

        var rssUnderLoad: [Double] = []
        var rssWarm = 0.0
        let (warmSeconds, rounds) = try await withRPCClient(endpoint, configuration: service, logger: logger) { rpc in
            let directory = DirectoryV1.Directory.Client(rpc)
            let health = HealthV1.Health.Client(rpc)
            // Every slug resolved once: the service's resolve cache fills as it would under real traffic.
            let warmStart = ContinuousClock.now
            let loader = DirectoryLoader(organizations: self.organizations, tenantsPerOrganization: self.tenantsPerOrganization, loadConcurrency: self.loadConcurrency)
            _ = try await loader.parallel(count: slugs.count) { index in
                _ = try await directory.resolveTenant(.init(slug: slugs[index]))
            }
            let warmSeconds = (ContinuousClock.now - warmStart).seconds
            rssWarm = residentMiB(pid: pid)
            // ResolveTenant of random slugs against the cheapest call to the same process (the echo of this
            // service), in alternating rounds.
            let rounds = try await AlternatingRounds.run(
                name: "ResolveTenant", referenceName: "Health.Check (the echo call)", rounds: self.rounds,
                ours: {
                    let measurement = try await measureCalls(concurrency: self.concurrency, warmup: self.warmup, duration: self.duration) {
                        let slug = slugs[Int.random(in: 0..<slugs.count)]
                        _ = try await directory.resolveTenant(.init(slug: slug))
                    }
                    rssUnderLoad.append(residentMiB(pid: pid))
                    return measurement
                },
                reference: {
                    try await measureCalls(concurrency: self.concurrency, warmup: self.warmup, duration: self.duration) {
                        _ = try await health.check()
                    }
                }
            )
            return (warmSeconds, rounds)
        }
        let peak = peakResidentMiB(pid: pid)
        let total = self.organizations * (self.tenantsPerOrganization + 1)
        let maxUnderLoad = rssUnderLoad.max() ?? 0

        if self.json {
            print("{" + [
                String(
                    format: #""organizations":%d,"tenants":%d,"load_seconds":%.2f,"load_calls_per_s":%.0f,"warm_seconds":%.2f,"concurrency":%d"#,
                    self.organizations, slugs.count, loadSeconds, Double(total) / loadSeconds, warmSeconds, self.concurrency
                ),
                rounds.jsonFields,
                String(format: #""rss_start_mib":%.1f,"rss_loaded_mib":%.1f,"rss_warm_mib":%.1f,"rss_under_load_mib":%.1f,"peak_rss_mib":%.1f"#, rssStart, rssLoaded, rssWarm, maxUnderLoad, peak),
            ].joined(separator: ",") + "}")
        } else {
            print("loaded \(self.organizations) organizations and \(slugs.count) tenants (\(total) CreateOrganization/CreateTenant calls) in \(String(format: "%.1f", loadSeconds)) s = \(String(format: "%.0f", Double(total) / loadSeconds)) calls/s at concurrency \(self.loadConcurrency); every slug resolved once in \(String(format: "%.1f", warmSeconds)) s")
            print(rounds.report(label: "concurrency \(self.concurrency), \(slugs.count) tenants"))
            print(String(format: "milestone-directory resident memory: %.1f MiB at start, %.1f MiB loaded at rest, %.1f MiB with every slug resolved once, %.1f MiB under load (highest of the rounds), peak %.1f MiB", rssStart, rssLoaded, rssWarm, maxUnderLoad, peak))
        }
    }
}

extension Duration {
    var seconds: Double {
        Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18
    }
}

/// Loads the directory through its API: organizations, then their tenants, a number of calls at a time.
struct DirectoryLoader: Sendable {
    var organizations: Int
    var tenantsPerOrganization: Int
    var loadConcurrency: Int

    /// Creates the organizations, then their tenants; returns the seconds it took, the organizations' ids
    /// and the tenants' slugs.
    func load(_ directory: DirectoryV1.Directory.Client) async throws -> (seconds: Double, organizationIDs: [String], slugs: [String]) {
        let start = ContinuousClock.now
        let organizationIDs = try await self.parallel(count: self.organizations) { index in
            try await directory.createOrganization(
                .init(name: "Organization \(index)", adminEmail: "admin\(index)@org\(index).example")
            ).id
        }
        let perOrganization = self.tenantsPerOrganization
        let slugs = try await self.parallel(count: self.organizations * perOrganization) { index in
            let slug = "tenant-\(index)"
            _ = try await directory.createTenant(
                .init(slug: slug, displayName: "Tenant \(index)", organizationID: organizationIDs[index / perOrganization])
            )
            return slug
        }
        let elapsed = ContinuousClock.now - start
        return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, organizationIDs, slugs)
    }

    /// Runs `body` for 0..<count, `loadConcurrency` at a time; the results in order.
    func parallel<T: Sendable>(count: Int, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            var results = [T?](repeating: nil, count: count)
            var next = 0
            for _ in 0..<min(self.loadConcurrency, count) {
                let index = next
                group.addTask { (index, try await body(index)) }
                next += 1
            }
            while let (index, value) = try await group.next() {
                results[index] = value
                if next < count {
                    let index = next
                    group.addTask { (index, try await body(index)) }
                    next += 1
                }
            }
            return results.map { $0! }
        }
    }
}

/// A port nothing listens on right now.
func freePort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress?.port ?? 0
    try await channel.close()
    return port
}

/// VmRSS of a process, in MiB.
func residentMiB(pid: Int32) -> Double {
    statusField("VmRSS:", pid: pid)
}

func peakResidentMiB(pid: Int32) -> Double {
    statusField("VmHWM:", pid: pid)
}

private func statusField(_ field: String, pid: Int32) -> Double {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
        let kib = Double(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kib / 1024
}
