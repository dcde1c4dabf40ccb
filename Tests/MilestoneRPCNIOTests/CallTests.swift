import Logging
import MilestoneRPC
import MilestoneRPCNIO
import MilestoneEchoService
import MilestoneTesting
import MilestoneWire
import NIOCore
import NIOPosix
import Synchronization
import Testing

@Suite("Calls over TCP", .timeLimit(.minutes(1)))
struct CallTests {
    @Test("health: the server is SERVING; an unknown service is NOT_FOUND")
    func health() async throws {
        try await withTestServer(RPCServer(configuration: .unauthenticated, router: Router(), health: HealthService(services: ["milestone.directory.v1.Directory"]), logger: testLogger), logger: testLogger) { test throws in
            let health = HealthV1.Health.Client(test.client)
            #expect(try await health.check().status == .serving)
            #expect(try await health.check(.init(service: "milestone.directory.v1.Directory")).status == .serving)
            #expect(await statusCode { try await health.check(.init(service: "nope")) } == .notFound)
        }
    }

    @Test("callers running on their client's event loop (requests flushed at once) each get their own response")
    func callersOnTheClientLoop() async throws {
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        try await withTestServer(services: [EchoService()], configuration: .unauthenticated, logger: testLogger) { test throws in
            let client = RPCClient(endpoint: test.endpoint, eventLoopGroup: loop, logger: testLogger)
            try await withThrowingTaskGroup(of: Void.self) { running in
                running.addTask { try await client.run() }
                defer { client.beginGracefulShutdown() }
                let executor = EventLoopTaskExecutor(loop.next())
                try await withThrowingTaskGroup(of: Void.self) { callers in
                    for caller in 0..<8 {
                        callers.addTask(executorPreference: executor) {
                            for index in 0..<100 {
                                #expect(loop.next().inEventLoop)
                                let text = "caller-\(caller)-\(index)"
                                let response = try await client.unary(TestingV1.Echo.echo, echoRequest(text: text))
                                #expect(response.text == text)
                            }
                        }
                    }
                    try await callers.waitForAll()
                }
            }
        }
        try await loop.shutdownGracefully()
    }

    @Test("1,000 concurrent calls over one connection are each answered with their own response")
    func thousandConcurrentCalls() async throws {
        let echo = EchoService()
        try await withTestServer(services: [echo], configuration: .unauthenticated, logger: testLogger) { test throws in
            try await withThrowingTaskGroup(of: (Int, TestingV1.EchoResponse).self) { group throws in
                for index in 0..<1000 {
                    group.addTask {
                        let request = echoRequest(text: "call-\(index)", payload: Array(repeating: UInt8(index % 256), count: index % 64))
                        return (index, try await test.client.unary(TestingV1.Echo.echo, request))
                    }
                }
                var seen = Set<Int>()
                for try await (index, response) in group {
                    #expect(response.text == "call-\(index)")
                    #expect(response.payload == Array(repeating: UInt8(index % 256), count: index % 64))
                    seen.insert(index)
                }
                #expect(seen.count == 1000)
            }
            #expect(echo.calls == 1000)
        }
    }

    @Test("metadata goes both ways: the server sees the client's keys and echoes x-request-id")
    func metadata() async throws {
        try await withTestServer(services: [EchoService()], configuration: .unauthenticated, logger: testLogger) { test throws in
            let options = CallOptions(metadata: ["x-tenant": "acme", "x-request-id": "req-42"])
            let response = try await test.client.call(TestingV1.Echo.echo, echoRequest(), options: options)
            #expect(response.message.metadataKeys == ["x-request-id", "x-tenant"])
            #expect(response.metadata["x-request-id"] == "req-42")
            var changed = response
            changed.metadata = ["x-note": "set by the caller"]
            #expect(changed.metadata["x-note"] == "set by the caller" && changed.metadata["x-request-id"] == nil)
            let generated = try await test.client.call(TestingV1.Echo.echo, echoRequest())
            #expect(generated.metadata["x-request-id"]?.count == 15, "the server makes a request id when none is sent")
        }
    }

    @Test("an unknown method gets UNIMPLEMENTED; a handler's status reaches the client with its message")
    func statuses() async throws {
        try await withTestServer(services: [EchoService()], configuration: .unauthenticated, clientConfiguration: noRetries, logger: testLogger) { test throws in
            let unknown = WireMethod<TestingV1.EchoRequest, TestingV1.EchoResponse>(name: "milestone.testing.v1.Echo/Nope", idempotency: .unknown)
            #expect(await statusCode { try await test.client.unary(unknown, echoRequest()) } == .unimplemented)
            do {
                _ = try await test.client.unary(TestingV1.Echo.echoOnce, echoRequest(text: "tenant acme is taken", failWith: .alreadyExists))
                Issue.record("expected ALREADY_EXISTS")
            } catch let error as RPCError {
                #expect(error.code == .alreadyExists)
                #expect(error.message == "tenant acme is taken")
                #expect("\(error)" == "ALREADY_EXISTS: tenant acme is taken")
            }
        }
    }

    @Test("server-side deadline: the handler is cancelled and the client gets DEADLINE_EXCEEDED")
    func serverDeadline() async throws {
        let echo = EchoService()
        try await withTestServer(services: [echo], configuration: .unauthenticated, logger: testLogger) { test throws in
            let code = await statusCode {
                try await test.client.unary(TestingV1.Echo.echo, echoRequest(delayMillis: 10_000), options: CallOptions(timeout: .milliseconds(200)))
            }
            #expect(code == .deadlineExceeded)
            // The handler never started (the deadline came first and it was never run), or it was cancelled:
            // either way it does not run on for its 10 s.
            if echo.calls > 0 { await echo.waitForCancellations(1) }
        }
    }

    @Test("client-side deadline: a server that never answers still ends the call on time")
    func clientDeadline() async throws {
        let silent = try await SilentServer()
        try await withThrowingTaskGroup(of: Void.self) { group throws in
            group.addTask { try await silent.run() }
            try await withRPCClient(silent.endpoint, configuration: noRetries, logger: testLogger) { client throws in
                let code = await statusCode {
                    try await client.unary(TestingV1.Echo.echo, echoRequest(), options: CallOptions(timeout: .milliseconds(150)))
                }
                #expect(code == .deadlineExceeded)
            }
            group.cancelAll()
        }
    }

    @Test("a call made inside a handler inherits the handler's remaining deadline")
    func deadlinePropagation() async throws {
        let downstreamEcho = EchoService()
        try await withTestServer(services: [downstreamEcho], configuration: .unauthenticated, logger: testLogger) { downstream throws in
            var router = Router()
            router.register(TestingV1.Echo.echoOnce, access: .unauthenticated) { request, _ in
                // No timeout of its own: only the caller's deadline bounds it.
                try await downstream.client.unary(TestingV1.Echo.echo, request)
            }
            try await withTestServer(
                RPCServer(configuration: .unauthenticated, router: router, logger: testLogger),
                clientConfiguration: noRetries, logger: testLogger
            ) { upstream throws in
                // A deadline a stalled machine cannot miss: what is checked is the budget passed downstream.
                let quick = try await upstream.client.unary(TestingV1.Echo.echoOnce, echoRequest(), options: CallOptions(timeout: .seconds(40)))
                #expect(quick.deadlineMillis > 0 && quick.deadlineMillis <= 40_000, "downstream saw \(quick.deadlineMillis) ms")

                let code = await statusCode {
                    try await upstream.client.unary(TestingV1.Echo.echoOnce, echoRequest(delayMillis: 10_000), options: CallOptions(timeout: .milliseconds(300)))
                }
                #expect(code == .deadlineExceeded)
                // The handler never started (the deadline came first and it was never run), or it was cancelled:
                // either way it does not run on for its 10 s.
                if downstreamEcho.calls > 0 { await downstreamEcho.waitForCancellations(1) }
            }
        }
    }

    @Test("Deadline.current bounds a client call that sets no timeout")
    func taskLocalDeadline() async throws {
        try await withTestServer(services: [EchoService()], configuration: .unauthenticated, logger: testLogger) { test throws in
            let unbounded = try await test.client.unary(TestingV1.Echo.echo, echoRequest())
            #expect(unbounded.deadlineMillis == -1)
            // Deadlines far enough away that a stalled machine cannot make the call miss them: what is
            // checked is which deadline the server received, not how fast it answered.
            let bounded = try await Deadline.$current.withValue(.after(.seconds(120))) {
                try await test.client.unary(TestingV1.Echo.echo, echoRequest())
            }
            #expect(bounded.deadlineMillis > 0 && bounded.deadlineMillis <= 120_000)
            let shorter = try await Deadline.$current.withValue(.after(.seconds(600))) {
                try await test.client.unary(TestingV1.Echo.echo, echoRequest(), options: CallOptions(timeout: .seconds(120)))
            }
            #expect(shorter.deadlineMillis > 0 && shorter.deadlineMillis <= 120_000, "the earlier deadline wins")
        }
    }

    @Test("cancelling the calling task cancels the call on the server")
    func cancellation() async throws {
        let echo = EchoService()
        try await withTestServer(services: [echo], configuration: .unauthenticated, logger: testLogger) { test throws in
            let call = Task {
                await statusCode { try await test.client.unary(TestingV1.Echo.echo, echoRequest(delayMillis: 10_000)) }
            }
            await echo.waitForCalls(1)
            call.cancel()
            #expect(await call.value == .cancelled)
            await echo.waitForCancellations(1)
            #expect(try await test.client.unary(TestingV1.Echo.echo, echoRequest(text: "still fine")).text == "still fine")
        }
    }

    @Test("UNAVAILABLE is retried for idempotent methods only, at most 5 attempts")
    func retries() async throws {
        let echo = EchoService()
        try await withTestServer(services: [echo], configuration: .unauthenticated, logger: testLogger) { test throws in
            #expect(await statusCode { try await test.client.unary(TestingV1.Echo.echo, echoRequest(failWith: .unavailable)) } == .unavailable)
            #expect(echo.calls == 5)
            #expect(await statusCode { try await test.client.unary(TestingV1.Echo.echoOnce, echoRequest(failWith: .unavailable)) } == .unavailable)
            #expect(echo.calls == 6)
            #expect(await statusCode { try await test.client.unary(TestingV1.Echo.echo, echoRequest(failWith: .internal)) } == .internal)
            #expect(echo.calls == 7, "only UNAVAILABLE is retried")
        }
    }

    @Test("bearer tokens: missing, wrong, wrong role, right; health needs none")
    func authentication() async throws {
        let tokens = BearerTokens(admin: "admin-secret-token", service: "service-secret-token")
        let configuration = RPCServerConfiguration(authentication: .bearerTokens(tokens))
        try await withTestServer(services: [EchoService(access: .adminOnly)], configuration: configuration, logger: testLogger) { test throws in
            #expect(await statusCode { try await test.client.unary(TestingV1.Echo.echo, echoRequest()) } == .unauthenticated)
            #expect(try await HealthV1.Health.Client(test.client).check().status == .serving)
            let cases: [(String, RPCError.Code?)] = [
                ("wrong-token", .unauthenticated),
                ("service-secret-token", .permissionDenied),
                ("admin-secret-token", nil),
            ]
            for (token, expected) in cases {
                let code = try await test.withClient(configuration: RPCClientConfiguration(token: token)) { client throws in
                    await statusCode { try await client.unary(TestingV1.Echo.echo, echoRequest()) }
                }
                #expect(code == expected, "token \(token.prefix(5))…")
            }
        }
    }

    @Test("beyond the connection limit a client is told RESOURCE_EXHAUSTED")
    func connectionLimit() async throws {
        let configuration = RPCServerConfiguration(authentication: .insecureNoAuthentication, maxConnections: 1)
        try await withTestServer(services: [EchoService()], configuration: configuration, logger: testLogger) { test throws in
            _ = try await test.client.unary(TestingV1.Echo.echo, echoRequest())
            let code = try await test.withClient(configuration: noRetries) { client throws in
                await statusCode { try await client.unary(TestingV1.Echo.echoOnce, echoRequest()) }
            }
            #expect(code == .resourceExhausted || code == .unavailable)
            #expect(try await test.client.unary(TestingV1.Echo.echo, echoRequest(text: "first")).text == "first")
        }
    }

    @Test("keepalive: a connection whose pings go unanswered is closed")
    func keepalive() async throws {
        let silent = try await SilentServer()
        try await withThrowingTaskGroup(of: Void.self) { group throws in
            group.addTask { try await silent.run() }
            let configuration = RPCClientConfiguration(retry: .none, keepaliveInterval: .milliseconds(100), keepaliveTimeout: .milliseconds(100))
            try await withRPCClient(silent.endpoint, configuration: configuration, logger: testLogger) { client throws in
                let code = await statusCode {
                    // Far beyond the keepalive's 200 ms, so that a stalled machine cannot let the deadline win.
                    try await client.unary(TestingV1.Echo.echo, echoRequest(), options: CallOptions(timeout: .seconds(40)))
                }
                #expect(code == .unavailable)
            }
            group.cancelAll()
        }
    }
}
