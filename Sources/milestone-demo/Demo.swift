import ArgumentParser
import Logging
import MilestoneRPC
import MilestoneRPCNIO
import MilestoneEchoService
import MilestoneWire
import ServiceLifecycle
import UnixSignals

/// Starts an RPC server (health + echo) and calls it through the client library, printing each step;
/// then serves until Ctrl-C / SIGTERM, which drains it gracefully.
@main
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "milestone-demo",
        abstract: "Start a demo Milestone RPC server and call it end to end."
    )

    @Option(help: "Where to listen, HOST:PORT (port 0 picks a free one).")
    var listen: String = "127.0.0.1:7400"

    @Flag(help: "Stop after the demo calls instead of serving until Ctrl-C.")
    var once = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        guard let endpoint = Endpoint(self.listen) else {
            throw ValidationError("--listen must be HOST:PORT, for example 127.0.0.1:7400")
        }
        guard let level = Logger.Level(rawValue: self.logLevel) else {
            throw ValidationError("--log-level must be one of: trace, debug, info, notice, warning, error, critical")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "milestone.demo")
        // A fresh admin token for this run only; it is never printed.
        let token = (0..<4).map { _ in String(UInt64.random(in: .min ... .max), radix: 36) }.joined()
        let server = RPCServer(
            configuration: RPCServerConfiguration(
                endpoint: endpoint, authentication: .bearerTokens(BearerTokens(admin: token, service: nil))
            ),
            services: [EchoService(access: .adminOnly)],
            logger: logger
        )
        let demo = DemoCalls(server: server, token: token, once: self.once, logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: server),
                    .init(service: demo, successTerminationBehavior: self.once ? .gracefullyShutdownGroup : .ignore),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}

/// The client side of the demo, as a service of the group: waits for the server, then calls it.
struct DemoCalls: Service {
    let server: RPCServer
    let token: String
    let once: Bool
    let logger: Logger

    func run() async throws {
        let endpoint = try await self.server.listeningEndpoint
        print("1. server listening on \(endpoint)")
        try await withRPCClient(endpoint, configuration: RPCClientConfiguration(token: self.token, defaultTimeout: .seconds(5)), logger: self.logger) { client in
            let health = HealthV1.Health.Client(client)
            let echo = TestingV1.Echo.serviceName
            print("2. Health/Check(\"\") -> \(try await health.check().status)")
            print("3. Health/Check(\"\(echo)\") -> \(try await health.check(.init(service: echo)).status)")
            var request = TestingV1.EchoRequest()
            request.text = "hello from the client library"
            let response = try await client.call(TestingV1.Echo.echo, request)
            print("4. Echo/Echo -> \"\(response.message.text)\" (request id \(response.metadata[Metadata.Keys.requestID] ?? "-"))")
            do {
                try await withRPCClient(endpoint, logger: self.logger) { anonymous in
                    _ = try await anonymous.unary(TestingV1.Echo.echo, request)
                }
            } catch let error as RPCError {
                print("5. Echo/Echo without a token -> \(error)")
            }
        }
        if self.once {
            print("demo complete")
        } else {
            print("demo complete; serving on \(endpoint) until Ctrl-C")
        }
    }
}
