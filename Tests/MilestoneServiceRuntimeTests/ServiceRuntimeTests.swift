import ArgumentParser
import Foundation
import Logging
import MilestoneEchoService
import MilestoneRPC
import MilestoneRPCNIO
import MilestoneServiceRuntime
import MilestoneWire
import Testing

@Suite("Service runtime: a service is its domain code and little else", .timeLimit(.minutes(1)))
struct ServiceRuntimeTests {
    @Test("prepare builds an authenticated server for the services, with the data folder's tokens")
    func prepareAndServe() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("milestone-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let service = ServiceDescription(name: "echo", defaultPort: 7498)
        let runtime = try ServiceRuntime(
            service, options: try ServiceOptions.parse(["--listen", "127.0.0.1:0", "--data-dir", folder.path]), environment: [:]
        )
        let logger = Logger(label: "milestone.test") { _ in SwiftLogNoOpLogHandler() }
        let prepared = try await runtime.prepare(logger: logger) { context in
            #expect(context.dataFile("echo.sqlite") == folder.appendingPathComponent("echo.sqlite").path)
            return ServiceSetup(rpcServices: [EchoService(access: .adminOnly)])
        }
        let credentials = try #require(try LocalCredentials.load(dataDirectory: folder.path))
        async let running: Void = prepared.server.run()
        let endpoint = try await prepared.server.listeningEndpoint
        try await withRPCClient(endpoint, configuration: RPCClientConfiguration(token: credentials.adminToken), logger: logger) { client throws in
            let echo = TestingV1.Echo.Client(client)
            #expect(try await echo.echo(.init(text: "through the runtime")).text == "through the runtime")
            let health = HealthV1.Health.Client(client)
            #expect(try await health.check(.init(service: TestingV1.Echo.serviceName)).status == .serving)
        }
        try await withRPCClient(endpoint, configuration: RPCClientConfiguration(retry: .none), logger: logger) { anonymous in
            do {
                _ = try await TestingV1.Echo.Client(anonymous).echo()
                Issue.record("an unauthenticated call must be refused")
            } catch let error as RPCError {
                #expect(error.code == .unauthenticated)
            }
        }
        prepared.server.beginGracefulShutdown()
        try await running
    }
}
