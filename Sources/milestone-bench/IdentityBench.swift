import ArgumentParser
import Foundation
import Logging
import MilestoneRPC
import MilestoneRPCNIO
import MilestoneWire

/// GetEffectiveConfiguration against real `milestone-directory` and `milestone-identity` processes, the
/// directory loaded with organizations and tenants, every other organization with its own SSO configuration
/// and an instance configuration for the rest.
struct IdentityBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity",
        abstract: "Load the directory and SSO configurations, then measure GetEffectiveConfiguration."
    )

    @Option(help: "Organizations to create.") var organizations = 10_000
    @Option(help: "Tenants per organization.") var tenantsPerOrganization = 10
    @Option(help: "Calls in flight while loading.") var loadConcurrency = 64
    @Option(help: "Calls in flight while measuring.") var concurrency = 8
    @Option(help: "Seconds measured.") var duration: Double = 5
    @Option(help: "Seconds of warm-up.") var warmup: Double = 2
    @Flag(help: "Print one JSON object instead of text.") var json = false
    @Option(help: "Run milestone-identity under this command (a profiler such as heaptrack); RSS figures are then the wrapper's.")
    var identityWrapper: String?

    func run() async throws {
        let processes = try ServiceProcesses()
        defer { processes.stop() }
        let directoryEndpoint = Endpoint(host: "127.0.0.1", port: try await freePort())
        let identityEndpoint = Endpoint(host: "127.0.0.1", port: try await freePort())
        let adminToken = processes.adminToken
        let serviceToken = processes.serviceToken
        _ = try processes.start("milestone-directory", ["--listen", "\(directoryEndpoint)"])
        let identity = try processes.start(
            "milestone-identity", ["--listen", "\(identityEndpoint)", "--directory", "\(directoryEndpoint)", "--http-listen", "127.0.0.1:\(try await freePort())"],
            wrapper: self.identityWrapper
        )
        let logger = Logger(label: "milestone.bench") { _ in SwiftLogNoOpLogHandler() }
        let admin = RPCClientConfiguration(token: adminToken, defaultTimeout: .seconds(30))

        // Load: organizations and tenants, then SSO configurations.
        let load = DirectoryLoader(organizations: self.organizations, tenantsPerOrganization: self.tenantsPerOrganization, loadConcurrency: self.loadConcurrency)
        let (loadSeconds, organizationIDs, slugs) = try await withRPCClient(directoryEndpoint, configuration: admin, logger: logger) { rpc in
            let client = DirectoryV1.Directory.Client(rpc)
            try await waitUntilServing(rpc)
            return try await load.load(client)
        }
        try await withRPCClient(identityEndpoint, configuration: admin, logger: logger) { rpc in
            let client = IdentityV1.Identity.Client(rpc)
            try await waitUntilServing(rpc)
            @Sendable func request(_ scope: IdentityV1.Scope) -> IdentityV1.SetSSOConfigurationRequest {
                .init(
                    scope: scope, provider: .entraID, clientID: "11111111-2222-3333-4444-555555555555",
                    directoryTenantID: "contoso.onmicrosoft.com", clientSecret: "bench-secret-value", secretExpiresOn: "2099-12-31"
                )
            }
            _ = try await client.setSSOConfiguration(request(.init(kind: .instance(true))))
            _ = try await load.parallel(count: organizationIDs.count / 2) { index in
                try await client.setSSOConfiguration(request(.init(kind: .organizationID(organizationIDs[index * 2]))))
            }
        }
        let rssLoaded = residentMiB(pid: identity.processIdentifier)

        let service = RPCClientConfiguration(token: serviceToken, defaultTimeout: .seconds(30))
        let measurement = try await withRPCClient(identityEndpoint, configuration: service, logger: logger) { rpc in
            let client = IdentityV1.Identity.Client(rpc)
            return try await measureCalls(concurrency: self.concurrency, warmup: self.warmup, duration: self.duration) {
                _ = try await client.getEffectiveConfiguration(.init(tenantSlug: slugs[Int.random(in: 0..<slugs.count)]))
            }
        }
        let rssUnderLoad = residentMiB(pid: identity.processIdentifier)
        let peak = peakResidentMiB(pid: identity.processIdentifier)
        if self.json {
            print(String(
                format: #"{"organizations":%d,"tenants":%d,"load_seconds":%.2f,"concurrency":%d,"calls_per_s":%.0f,"p50_us":%.1f,"p99_us":%.1f,"identity_rss_loaded_mib":%.1f,"identity_rss_under_load_mib":%.1f,"identity_peak_rss_mib":%.1f}"#,
                self.organizations, slugs.count, loadSeconds, self.concurrency, measurement.callsPerSecond,
                measurement.p50Micros, measurement.p99Micros, rssLoaded, rssUnderLoad, peak
            ))
        } else {
            print("loaded \(self.organizations) organizations, \(slugs.count) tenants and \(organizationIDs.count / 2 + 1) SSO configurations")
            print(String(format: "GetEffectiveConfiguration at concurrency %d: %.0f calls/s, p50 %.0f µs, p99 %.0f µs", self.concurrency, measurement.callsPerSecond, measurement.p50Micros, measurement.p99Micros))
            print(String(format: "milestone-identity resident memory: %.1f MiB loaded at rest, %.1f MiB under load, peak %.1f MiB", rssLoaded, rssUnderLoad, peak))
        }
    }
}
