import ArgumentParser
import Foundation
import Logging
import MilestoneEntraEmulator
import MilestoneHTTPClient
import MilestoneRPC
import MilestoneRPCNIO
import MilestoneWire
import Synchronization

/// Sign-in and sessions against real `milestone-directory` and `milestone-identity` processes, with the Entra
/// emulator in this process: signs in many times over RPC (StartLogin, the emulator's picker, CompleteLogin),
/// reports the identity service's own time in CompleteLogin from its log (`own-us`: without the identity
/// provider's round trips), then measures ValidateSession with the sessions created.
struct SessionBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "Sign in many times (CompleteLogin's own time), then measure ValidateSession."
    )

    @Option(help: "Sign-ins (each creates a session).") var signIns = 1_000
    @Option(help: "Calls in flight while measuring ValidateSession.") var concurrency = 8
    @Option(help: "Seconds measured.") var duration: Double = 5
    @Option(help: "Seconds of warm-up.") var warmup: Double = 2
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() async throws {
        let processes = try ServiceProcesses()
        defer { processes.stop() }
        let tenantGUID = UUID().uuidString.lowercased()
        let clientID = UUID().uuidString.lowercased()
        let secret = "bench-\(UUID().uuidString)"
        let users = (0..<100).map { EntraEmulator.User(email: "user\($0)@bench.example", name: "User \($0)") }
        let emulator = try EntraEmulator(tenants: [.init(id: tenantGUID, applications: [.init(clientID: clientID, secret: secret)], users: users)])
        try await emulator.start()
        defer { Task { try? await emulator.stop() } }

        let directoryEndpoint = Endpoint(host: "127.0.0.1", port: try await freePort())
        let identityEndpoint = Endpoint(host: "127.0.0.1", port: try await freePort())
        let httpPort = try await freePort()
        let adminToken = processes.adminToken
        let serviceToken = processes.serviceToken
        let identityLog = processes.folder.appendingPathComponent("identity.log")
        _ = FileManager.default.createFile(atPath: identityLog.path, contents: nil)
        _ = try processes.start("milestone-directory", ["--listen", "\(directoryEndpoint)"])
        let identity = try processes.start(
            "milestone-identity",
            [
                "--listen", "\(identityEndpoint)", "--directory", "\(directoryEndpoint)", "--http-listen", "127.0.0.1:\(httpPort)",
                "--public-base-url", "http://127.0.0.1:\(httpPort)", "--entra-authority", emulator.authority,
            ],
            logLevel: "info", standardError: try FileHandle(forWritingTo: identityLog)
        )
        let logger = Logger(label: "milestone.bench") { _ in SwiftLogNoOpLogHandler() }
        let admin = RPCClientConfiguration(token: adminToken, defaultTimeout: .seconds(30))
        try await withRPCClient(directoryEndpoint, configuration: admin, logger: logger) { rpc in
            try await waitUntilServing(rpc)
            let client = DirectoryV1.Directory.Client(rpc)
            let organization = try await client.createOrganization(.init(name: "Bench", adminEmail: "admin@bench.example"))
            _ = try await client.createTenant(.init(slug: "bench", displayName: "Bench", organizationID: organization.id))
            try await withRPCClient(identityEndpoint, configuration: admin, logger: logger) { rpc in
                try await waitUntilServing(rpc)
                _ = try await IdentityV1.Identity.Client(rpc).setSSOConfiguration(.init(
                    scope: .init(kind: .organizationID(organization.id)), provider: .entraID, clientID: clientID, directoryTenantID: tenantGUID, clientSecret: secret
                ))
            }
        }

        // Sign-ins over RPC, as the HTTP edge of another service would drive them.
        let http = HTTPClient()
        let service = RPCClientConfiguration(token: serviceToken, defaultTimeout: .seconds(30))
        let signInStart = ContinuousClock.now
        let tokens = try await withRPCClient(identityEndpoint, configuration: service, logger: logger) { rpc in
            let client = IdentityV1.Identity.Client(rpc)
            var tokens: [String] = []
            for index in 0..<self.signIns {
                let started = try await client.startLogin(.init(tenantSlug: "bench"))
                var url = URLComponents(string: started.authorizeURL)!
                let form = (url.queryItems ?? []).map { ($0.name, $0.value ?? "") } + [("account", users[index % users.count].email)]
                url.query = nil
                let picked = try await http.send(HTTPRequest(
                    method: "POST", url: url.string!, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                    body: Array(HTTPClient.formEncoded(form).utf8), followsRedirects: false
                ))
                let callback = URLComponents(string: picked.location ?? "")
                func value(_ name: String) -> String { callback?.queryItems?.first { $0.name == name }?.value ?? "" }
                let completed = try await client.completeLogin(.init(state: value("state"), code: value("code"), tenantSlug: "bench"))
                tokens.append(completed.sessionToken)
            }
            return tokens
        }
        let signInSeconds = (ContinuousClock.now - signInStart) / .seconds(1)
        // The service's own time per CompleteLogin, from its "signed in" log lines (the first, which fetched
        // the discovery document and keys, is left out).
        let log = (try? String(contentsOf: identityLog, encoding: .utf8)) ?? ""
        let own = log.split(separator: "\n").filter { $0.contains("signed in") }.dropFirst().compactMap { line -> Double? in
            guard let range = line.range(of: "own-us=") else { return nil }
            return Double(line[range.upperBound...].prefix { $0.isNumber })
        }.sorted()
        func percentile(_ values: [Double], _ p: Double) -> Double {
            values.isEmpty ? 0 : values[min(values.count - 1, Int(Double(values.count) * p))]
        }

        let measurement = try await withRPCClient(identityEndpoint, configuration: service, logger: logger) { rpc in
            let client = IdentityV1.Identity.Client(rpc)
            // The sessions in turn (a shared counter): drawing a random index costs the benchmark a system call
            // per call, which is not the service's time.
            let turn = Turn()
            return try await measureCalls(concurrency: self.concurrency, warmup: self.warmup, duration: self.duration) {
                let index = turn.next() % tokens.count
                _ = try await client.validateSession(.init(sessionToken: tokens[index], tenantSlug: "bench"))
            }
        }
        // The floor: the cheapest call (a health check) to the same process over the same kind of connection.
        let floor = try await withRPCClient(identityEndpoint, configuration: service, logger: logger) { rpc in
            let health = HealthV1.Health.Client(rpc)
            return try await measureCalls(concurrency: self.concurrency, warmup: self.warmup, duration: self.duration) {
                _ = try await health.check()
            }
        }
        let rss = residentMiB(pid: identity.processIdentifier)
        if self.json {
            print(String(
                format: #"{"sign_ins":%d,"sign_ins_per_s":%.0f,"complete_login_own_p50_us":%.0f,"complete_login_own_p99_us":%.0f,"concurrency":%d,"validate_calls_per_s":%.0f,"validate_p50_us":%.1f,"validate_p99_us":%.1f,"health_calls_per_s":%.0f,"identity_rss_mib":%.1f}"#,
                tokens.count, Double(tokens.count) / signInSeconds, percentile(own, 0.5), percentile(own, 0.99), self.concurrency,
                measurement.callsPerSecond, measurement.p50Micros, measurement.p99Micros, floor.callsPerSecond, rss
            ))
        } else {
            print(String(format: "%d sign-ins over RPC (StartLogin, the emulator's picker, CompleteLogin): %.0f/s end to end", tokens.count, Double(tokens.count) / signInSeconds))
            print(String(format: "CompleteLogin, the identity service's own time (without the IdP's round trips): p50 %.0f µs, p99 %.0f µs (%d samples)", percentile(own, 0.5), percentile(own, 0.99), own.count))
            print(String(format: "ValidateSession at concurrency %d: %.0f calls/s, p50 %.0f µs, p99 %.0f µs", self.concurrency, measurement.callsPerSecond, measurement.p50Micros, measurement.p99Micros))
            print(String(format: "Health.Check to the same process, same concurrency (the RPC floor): %.0f calls/s, p50 %.0f µs (ValidateSession / floor = %.2f)", floor.callsPerSecond, floor.p50Micros, measurement.callsPerSecond / floor.callsPerSecond))
            print(String(format: "milestone-identity resident memory after: %.1f MiB", rss))
        }
    }
}

/// A counter the benchmark's callers share.
private final class Turn: Sendable {
    private let count = Atomic<Int>(0)

    func next() -> Int {
        self.count.wrappingAdd(1, ordering: .relaxed).oldValue
    }
}
