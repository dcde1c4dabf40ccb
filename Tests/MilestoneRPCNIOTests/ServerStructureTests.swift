import Logging
import MilestoneEchoService
import MilestoneRPC
@testable import MilestoneRPCNIO
import MilestoneTesting
import MilestoneWire
import NIOCore
import NIOPosix
import Synchronization
import Testing

@Suite("Server structure: lifecycle, authentication, shared event loops", .timeLimit(.minutes(1)))
struct ServerStructureTests {
    @Test("lifecycle state machine: runs once, endpoint waiters resumed or failed, shutdown once")
    func lifecycleStateMachine() {
        var lifecycle = RPCServerLifecycle<String>()
        guard case .bind = lifecycle.startRunning() else {
            Issue.record("the first run must bind")
            return
        }
        guard case .fail(let error) = lifecycle.startRunning() else {
            Issue.record("a second run must fail")
            return
        }
        #expect(error.code == .failedPrecondition)
        let bound = lifecycle.bound(Endpoint(host: "127.0.0.1", port: 1), listener: "listener")
        #expect(bound.waiters.isEmpty && !bound.closeNow)
        let first = lifecycle.connectionOpened(peer: "10.0.0.1", limit: 3, perPeerLimit: 2)
        let second = lifecycle.connectionOpened(peer: "10.0.0.1", limit: 3, perPeerLimit: 2)
        let third = lifecycle.connectionOpened(peer: "10.0.0.1", limit: 3, perPeerLimit: 2)
        let other = lifecycle.connectionOpened(peer: "10.0.0.2", limit: 3, perPeerLimit: 2)
        #expect([first, second, third, other] == [.admitted, .admitted, .overPeerLimit, .overServerLimit])
        for peer in ["10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.2"] { lifecycle.connectionClosed(peer: peer) }
        #expect(lifecycle.connections == 0)
        #expect(lifecycle.connections(from: "10.0.0.1") == 0)
        let shutdown = lifecycle.requestShutdown()
        #expect(shutdown?.listener == "listener")
        #expect(lifecycle.requestShutdown() == nil, "shutdown happens once")
    }

    @Test("a server registers its services' immediate answers, its own health check's too")
    func immediateAnswersRegistered() {
        let server = RPCServer(configuration: .unauthenticated, services: [EchoService()], logger: testLogger)
        #expect(server.pipeline.entry(for: HealthV1.Health.check.name)?.immediateHandler != nil)
        #expect(server.pipeline.entry(for: TestingV1.Echo.echo.name)?.immediateHandler != nil)
    }

    @Test("shutdown requested while binding closes the listener as soon as it is bound")
    func shutdownWhileBinding() {
        var lifecycle = RPCServerLifecycle<String>()
        _ = lifecycle.startRunning()
        #expect(lifecycle.requestShutdown()?.listener == nil)
        #expect(lifecycle.bound(Endpoint(host: "127.0.0.1", port: 1), listener: "listener").closeNow)
    }

    @Test("a server that is never run can be dropped; waiting for its endpoint ends at shutdown")
    func neverRun() async throws {
        do {
            let unused = RPCServer(configuration: .unauthenticated, services: [EchoService()], logger: testLogger)
            _ = unused
        }
        let server = RPCServer(configuration: .unauthenticated, services: [EchoService()], logger: testLogger)
        async let endpoint = server.listeningEndpoint
        server.beginGracefulShutdown()
        do {
            _ = try await endpoint
            Issue.record("expected the wait to fail")
        } catch let error as RPCError {
            #expect(error.code == .unavailable)
        }
        await #expect(throws: RPCError.self) { try await server.run() }
    }

    @Test("a server with access rules and no token refuses to start")
    func refusesWithoutTokens() async throws {
        let server = RPCServer(
            configuration: RPCServerConfiguration(authentication: .bearerTokens(BearerTokens([]))),
            services: [EchoService(access: .adminOnly)],
            logger: testLogger
        )
        do {
            try await server.run()
            Issue.record("expected run() to refuse")
        } catch let error as RPCError {
            #expect(error.code == .failedPrecondition)
            #expect(error.message.contains("token"))
        }
        await #expect(throws: RPCError.self) { _ = try await server.listeningEndpoint }
    }

    @Test("services register their methods and health names")
    func registrableServices() async throws {
        try await withTestServer(services: [EchoService()], configuration: .unauthenticated, logger: testLogger) { test throws in
            let health = HealthV1.Health.Client(test.client)
            #expect(try await health.check(.init(service: TestingV1.Echo.serviceName)).status == .serving)
            let echo = TestingV1.Echo.Client(test.client)
            #expect(try await echo.echo(.init(text: "generated client")).text == "generated client")
        }
    }

    @Test("generated clients send an idempotency key with non-idempotent methods only")
    func idempotencyKeys() async throws {
        try await withTestServer(services: [EchoService()], configuration: .unauthenticated, logger: testLogger) { test throws in
            let echo = TestingV1.Echo.Client(test.client)
            #expect(try await echo.echoOnce().metadataKeys.contains("idempotency-key"))
            #expect(try await !echo.echo().metadataKeys.contains("idempotency-key"))
            var options = CallOptions()
            options.idempotencyKey = "mine"
            #expect(options.withIdempotencyKey().idempotencyKey == "mine", "a key the caller set is kept")
        }
    }

    @Test("run() returns only after every handler has ended, even one that ignores cancellation")
    func runWaitsForHandlers() async throws {
        let started = OneShotSignal()
        let cancelled = OneShotSignal()
        let gate = OneShotSignal()
        let finished = OneShotSignal()
        let slow = WireMethod<TestingV1.EchoRequest, TestingV1.EchoResponse>(name: "test.v1.T/Stubborn", idempotency: .unknown)
        var router = Router()
        router.register(slow, access: .unauthenticated) { request, _ in
            started.fire()
            await withTaskCancellationHandler {
                await gate.wait()
            } onCancel: {
                cancelled.fire()
            }
            finished.fire()
            return TestingV1.EchoResponse()
        }
        let server = RPCServer(
            configuration: RPCServerConfiguration(authentication: .insecureNoAuthentication, drainGracePeriod: .zero),
            router: router,
            logger: testLogger
        )
        let stopped = OneShotSignal()
        async let running: Void = {
            try await server.run()
            stopped.fire()
        }()
        let endpoint = try await server.listeningEndpoint
        try await withRPCClient(endpoint, configuration: noRetries, logger: testLogger) { client in
            async let call = statusCode { try await client.unary(slow, TestingV1.EchoRequest()) }
            await started.wait()
            server.beginGracefulShutdown()
            await cancelled.wait()  // the grace period (zero) is over: the handler was cancelled, yet still runs
            #expect(!stopped.hasFired, "run() returned while a handler still ran")
            gate.fire()
            _ = await call
        }
        try await running
        #expect(finished.hasFired)
    }

    @Test("a server runs on the event loop group it is given, handlers included")
    func sharedEventLoops() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let method = WireMethod<TestingV1.EchoRequest, TestingV1.EchoResponse>(name: "test.v1.T/Where", idempotency: .unknown)
        var router = Router()
        router.register(method, access: .unauthenticated) { _, _ in
            let before = loop.inEventLoop
            // After a suspension too: the call's task keeps its connection's loop as its executor.
            try await Task.sleep(for: .milliseconds(1))
            await Task.yield()
            return TestingV1.EchoResponse(text: before && loop.inEventLoop ? "on the given loop" : "elsewhere")
        }
        let server = RPCServer(configuration: .unauthenticated, router: router, eventLoopGroup: group, logger: testLogger)
        try await withTestServer(server, logger: testLogger) { test throws in
            #expect(try await test.client.unary(method, TestingV1.EchoRequest()).text == "on the given loop")
        }
        try await group.shutdownGracefully()
    }
}
