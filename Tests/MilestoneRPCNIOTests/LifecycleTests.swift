import Logging

import MilestoneRPC
import MilestoneRPCNIO
import MilestoneEchoService
import MilestoneTesting
import MilestoneWire
import Testing

@Suite("Server lifecycle over TCP", .timeLimit(.minutes(1)))
struct LifecycleTests {
    @Test("graceful drain: calls in flight finish, new calls get UNAVAILABLE, health says NOT_SERVING")
    func drain() async throws {
        let echo = EchoService()
        let server = RPCServer(configuration: .unauthenticated, services: [echo], logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { group throws in
            group.addTask { try await server.run() }
            let endpoint = try await server.listeningEndpoint
            try await withRPCClient(endpoint, configuration: noRetries, logger: testLogger) { client throws in
                _ = try await client.unary(TestingV1.Echo.echo, echoRequest())  // connected
                let inFlight = (0..<5).map { index in
                    Task { try await client.unary(TestingV1.Echo.echoOnce, echoRequest(text: "\(index)", delayMillis: 400)) }
                }
                await echo.waitForCalls(6)
                server.beginGracefulShutdown()
                #expect(try server.health.check(HealthV1.HealthCheckRequest()).status == .notServing)
                for (index, task) in inFlight.enumerated() {
                    #expect(try await task.value.text == "\(index)")
                }
                #expect(await statusCode { try await client.unary(TestingV1.Echo.echoOnce, echoRequest()) } == .unavailable)
            }
            try await group.waitForAll()  // run() returns once drained
        }
        #expect(echo.cancelled == 0)
    }

    @Test("the grace period ends: calls still running are cancelled and run() returns")
    func gracePeriod() async throws {
        let echo = EchoService()
        let configuration = RPCServerConfiguration(authentication: .insecureNoAuthentication, drainGracePeriod: .milliseconds(200))
        let server = RPCServer(configuration: configuration, services: [echo], logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { group throws in
            group.addTask { try await server.run() }
            let endpoint = try await server.listeningEndpoint
            try await withRPCClient(endpoint, configuration: noRetries, logger: testLogger) { client throws in
                let stuck = Task { await statusCode { try await client.unary(TestingV1.Echo.echoOnce, echoRequest(delayMillis: 30_000)) } }
                await echo.waitForCalls(1)
                server.beginGracefulShutdown()
                #expect(await stuck.value == .unavailable)
            }
            try await group.waitForAll()
        }
        #expect(echo.cancelled == 1)
    }

    @Test("the client reconnects after the server restarts on the same port")
    func reconnect() async throws {
        // Between the two servers the port is free, and another test's server may take it: then the second
        // server cannot listen, and the test starts over on a new port (at most three times).
        for attempt in 1...3 {
            let first = RPCServer(configuration: .unauthenticated, services: [EchoService()], logger: testLogger)
            let firstRun = Task { try await first.run() }
            let endpoint = try await first.listeningEndpoint
            let restarted = try await withRPCClient(endpoint, logger: testLogger) { client throws -> Bool in
                #expect(try await client.unary(TestingV1.Echo.echo, echoRequest(text: "before")).text == "before")
                first.beginGracefulShutdown()
                try await firstRun.value

                let second = RPCServer(
                    configuration: RPCServerConfiguration(endpoint: endpoint, authentication: .insecureNoAuthentication),
                    services: [EchoService()],
                    logger: testLogger
                )
                let secondRun = Task { try await second.run() }
                guard (try? await second.listeningEndpoint) == endpoint else {
                    second.beginGracefulShutdown()
                    _ = try? await secondRun.value
                    return false
                }
                #expect(try await client.unary(TestingV1.Echo.echo, echoRequest(text: "after")).text == "after")
                second.beginGracefulShutdown()
                try await secondRun.value
                return true
            }
            if restarted { return }
            if attempt == 3 { Issue.record("the port was taken three times in a row") }
        }
    }

    @Test("with no server, calls fail fast with UNAVAILABLE naming the address")
    func noServer() async throws {
        // Port 1 (tcpmux): nothing listens there. (A port bound and released first could be taken by another
        // test's server meanwhile: the call then reached that server.)
        let endpoint = Endpoint(host: "127.0.0.1", port: 1)
        try await withRPCClient(endpoint, configuration: noRetries, logger: testLogger) { client throws in
            do {
                _ = try await client.unary(TestingV1.Echo.echo, echoRequest())
                Issue.record("expected UNAVAILABLE")
            } catch let error as RPCError {
                #expect(error.code == .unavailable)
                #expect(error.message.contains("\(endpoint.port)"))
            }
        }
    }
}
