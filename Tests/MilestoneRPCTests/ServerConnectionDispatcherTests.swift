import Logging
@testable import MilestoneRPC
import MilestoneWire
import Synchronization
import Testing

@Suite("Server connection dispatcher (no sockets)")
struct ServerConnectionDispatcherTests {
    static let slow = WireMethod<HealthCheckRequest, HealthCheckResponse>(name: "test.v1.T/Slow", idempotency: .unknown)
    static let secret = WireMethod<HealthCheckRequest, HealthCheckResponse>(name: "test.v1.T/Secret", idempotency: .unknown)
    static let boom = WireMethod<HealthCheckRequest, HealthCheckResponse>(name: "test.v1.T/Boom", idempotency: .unknown)

    struct LeakyError: Error, CustomStringConvertible {
        var description: String { "password=hunter2" }
    }

    func makeDispatcher(
        tokens: BearerTokens? = nil,
        scheduler: ManualTimerScheduler = ManualTimerScheduler(),
        sink: FrameSink
    ) -> ServerConnectionDispatcher {
        var router = Router()
        HealthService().register(in: &router)
        router.register(Self.slow, access: .unauthenticated) { _, _ in
            try await Task.sleep(for: .seconds(30))
            return HealthCheckResponse()
        }
        router.register(Self.secret, access: .adminOnly) { _, _ in HealthCheckResponse() }
        router.register(Self.boom, access: .unauthenticated) { _, _ in throw LeakyError() }
        var interceptors: [any ServerInterceptor] = [RequestLoggingInterceptor()]
        if let tokens { interceptors.append(AuthenticationInterceptor(tokens: tokens)) }
        return ServerConnectionDispatcher(
            pipeline: ServerPipeline(router: router, interceptors: interceptors),
            scheduler: scheduler,
            peer: "test",
            maxFrameSize: 4 << 20,
            logger: quietLogger
        ) { bytes in sink.write(bytes) }
    }

    func send(_ dispatcher: ServerConnectionDispatcher, _ frame: Frame) async -> ServerConnectionDispatcher.Outcome {
        await dispatcher.receive(.success(frame), byteCount: 0)
    }

    @Test("a call is answered with its id, status and the request id")
    func answersCall() async throws {
        let sink = FrameSink()
        let dispatcher = self.makeDispatcher(sink: sink)
        let payload = try HealthCheckRequest().wireBytes()
        _ = await self.send(dispatcher, requestFrame(id: 7, method: Health.check.name, payload: payload, metadata: [("x-request-id", "req-1")]))
        let response = try #require(try await sink.waitForResponses(1).first)
        #expect(response.callID == 7)
        #expect(response.status == .ok)
        #expect(try HealthCheckResponse(wireBytes: response.payload).status == .serving)
        #expect(Metadata(wireEntries: response.metadata)["x-request-id"] == "req-1")
    }

    @Test("an unknown method gets UNIMPLEMENTED naming it")
    func unknownMethod() async throws {
        let sink = FrameSink()
        let dispatcher = self.makeDispatcher(sink: sink)
        _ = await self.send(dispatcher, requestFrame(id: 1, method: "nope.v1.Nope/Nothing"))
        let response = try #require(try await sink.waitForResponses(1).first)
        #expect(response.status == .unimplemented)
        #expect(response.message.contains("nope.v1.Nope/Nothing"))
    }

    @Test("a payload that does not decode gets INVALID_ARGUMENT")
    func badPayload() async throws {
        let sink = FrameSink()
        let dispatcher = self.makeDispatcher(sink: sink)
        _ = await self.send(dispatcher, requestFrame(id: 1, method: Health.check.name, payload: [0xFF, 0xFF]))
        let response = try #require(try await sink.waitForResponses(1).first)
        #expect(response.status == .invalidArgument)
        #expect(response.message.contains("HealthCheckRequest"))
    }

    @Test("an uppercase metadata key gets INVALID_ARGUMENT")
    func badMetadata() async throws {
        let sink = FrameSink()
        let dispatcher = self.makeDispatcher(sink: sink)
        _ = await self.send(dispatcher, requestFrame(id: 1, method: Health.check.name, metadata: [("X-Bad", "1")]))
        let response = try #require(try await sink.waitForResponses(1).first)
        #expect(response.status == .invalidArgument)
        #expect(response.message.contains("X-Bad"))
    }

    @Test("an unexpected handler error becomes INTERNAL without its details")
    func internalErrorsDoNotLeak() async throws {
        let sink = FrameSink()
        let dispatcher = self.makeDispatcher(sink: sink)
        _ = await self.send(dispatcher, requestFrame(id: 3, method: Self.boom.name))
        let response = try #require(try await sink.waitForResponses(1).first)
        #expect(response.status == .internal)
        #expect(!response.message.contains("hunter2"))
        #expect(try Frame(kind: .response(response)).wireBytes().contains(Array("hunter2".utf8)) == false)
    }

    @Test("the deadline answers DEADLINE_EXCEEDED once and cancels the handler")
    func deadline() async throws {
        let sink = FrameSink()
        let scheduler = ManualTimerScheduler()
        let dispatcher = self.makeDispatcher(scheduler: scheduler, sink: sink)
        _ = await self.send(dispatcher, requestFrame(id: 5, method: Self.slow.name, timeoutMicros: 50_000))
        #expect(scheduler.timers.withLock { $0.count } == 1)
        #expect(dispatcher.callsInFlight == 1)
        scheduler.fireAll()
        let responses = try await sink.waitForResponses(1)
        #expect(responses.map(\.status) == [.deadlineExceeded])
        await dispatcher.waitUntilIdle()
        try await Task.sleep(for: .milliseconds(50))
        #expect(sink.responses.count == 1, "the cancelled handler must not answer a second time")
    }

    @Test("a cancel stops the handler and nothing is sent")
    func cancel() async throws {
        let sink = FrameSink()
        let dispatcher = self.makeDispatcher(sink: sink)
        _ = await self.send(dispatcher, requestFrame(id: 9, method: Self.slow.name))
        var cancel = CallCancel()
        cancel.callID = 9
        _ = await self.send(dispatcher, Frame(kind: .cancel(cancel)))
        await dispatcher.waitUntilIdle()
        try await Task.sleep(for: .milliseconds(50))
        #expect(sink.responses.isEmpty)
    }

    @Test("protocol violations close the connection with GoAway", arguments: [
        requestFrame(id: 0, method: Health.check.name),
        Frame(kind: .response(CallResponse())),
    ])
    func violations(frame: Frame) async throws {
        let sink = FrameSink()
        let dispatcher = self.makeDispatcher(sink: sink)
        let outcome = await self.send(dispatcher, frame)
        guard case .close = outcome else {
            Issue.record("expected close, got \(outcome)")
            return
        }
        guard case .goAway(let goAway) = sink.all.last?.kind else {
            Issue.record("no GoAway sent")
            return
        }
        #expect(goAway.status == .invalidArgument)
    }

    @Test("a duplicate call id in flight is a protocol violation")
    func duplicateID() async throws {
        let sink = FrameSink()
        let dispatcher = self.makeDispatcher(sink: sink)
        _ = await self.send(dispatcher, requestFrame(id: 4, method: Self.slow.name))
        let outcome = await self.send(dispatcher, requestFrame(id: 4, method: Self.slow.name))
        #expect(outcome != .keepOpen)
        dispatcher.close()
    }

    @Test("calls beyond the per-connection limit get RESOURCE_EXHAUSTED; the connection stays open")
    func concurrentCallLimit() async throws {
        let sink = FrameSink()
        var router = Router()
        router.register(Self.slow, access: .unauthenticated) { _, _ in
            try await Task.sleep(for: .seconds(30))
            return HealthCheckResponse()
        }
        let dispatcher = ServerConnectionDispatcher(
            pipeline: ServerPipeline(router: router, interceptors: []),
            scheduler: ManualTimerScheduler(),
            peer: "test",
            maxFrameSize: 4 << 20,
            maxConcurrentCalls: 2,
            logger: quietLogger
        ) { bytes in sink.write(bytes) }
        for id in 1...3 {
            #expect(await self.send(dispatcher, requestFrame(id: UInt64(id), method: Self.slow.name)) == .keepOpen)
        }
        let refused = try #require(try await sink.waitForResponses(1).first)
        #expect(refused.callID == 3)
        #expect(refused.status == .resourceExhausted)
        #expect(refused.message.contains("limit 2"))
        #expect(dispatcher.callsInFlight == 2)
        dispatcher.close()
    }

    @Test("a malformed frame closes the connection")
    func malformed() async throws {
        let sink = FrameSink()
        let dispatcher = self.makeDispatcher(sink: sink)
        let outcome = await dispatcher.receive(.failure(WireError(code: .malformedMessage, message: "x")), byteCount: 3)
        #expect(outcome != .keepOpen)
    }

    @Test("ping is answered with pong carrying the same value")
    func ping() async throws {
        let sink = FrameSink()
        let dispatcher = self.makeDispatcher(sink: sink)
        var ping = Ping()
        ping.opaque = 1234
        _ = await self.send(dispatcher, Frame(kind: .ping(ping)))
        guard case .pong(let pong) = sink.all.last?.kind else {
            Issue.record("no pong")
            return
        }
        #expect(pong.opaque == 1234)
    }

    @Test("draining sends GoAway, refuses new calls with UNAVAILABLE, and waits for calls in flight")
    func drain() async throws {
        let sink = FrameSink()
        let dispatcher = self.makeDispatcher(sink: sink)
        _ = await self.send(dispatcher, requestFrame(id: 1, method: Self.slow.name))
        let drained = Mutex(false)
        let drainTask = Task {
            await dispatcher.drain()
            drained.withLock { $0 = true }
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(!drained.withLock { $0 })
        guard case .goAway(let goAway) = sink.all.first?.kind else {
            Issue.record("no GoAway")
            return
        }
        #expect(goAway.lastCallID == 1)
        #expect(goAway.status == .unavailable)
        _ = await self.send(dispatcher, requestFrame(id: 2, method: Health.check.name))
        let refused = try #require(try await sink.waitForResponses(1).first)
        #expect(refused.callID == 2)
        #expect(refused.status == .unavailable)
        dispatcher.close()  // the grace period ends: the slow call is cancelled
        await drainTask.value
        #expect(drained.withLock { $0 })
    }

    @Test("authentication: missing, malformed, wrong, wrong role, right; health exempt")
    func authentication() async throws {
        let tokens = BearerTokens(admin: "admin-token-123", service: "service-token-456")
        let cases: [(metadata: [(String, String)], method: String, expected: StatusCode)] = [
            ([], Self.secret.name, .unauthenticated),
            ([("authorization", "Basic abc")], Self.secret.name, .unauthenticated),
            ([("authorization", "Bearer nope")], Self.secret.name, .unauthenticated),
            ([("authorization", "Bearer service-token-456")], Self.secret.name, .permissionDenied),
            ([("authorization", "Bearer admin-token-123")], Self.secret.name, .ok),
            ([("authorization", "bearer admin-token-123")], Self.secret.name, .ok),
            ([], Health.check.name, .ok),
        ]
        for (index, testCase) in cases.enumerated() {
            let sink = FrameSink()
            let dispatcher = self.makeDispatcher(tokens: tokens, sink: sink)
            _ = await self.send(dispatcher, requestFrame(id: UInt64(index + 1), method: testCase.method, metadata: testCase.metadata))
            let response = try #require(try await sink.waitForResponses(1).first)
            #expect(response.status == testCase.expected, "case \(index)")
            #expect(!response.message.contains("admin-token-123"))
            #expect(!response.message.contains("service-token-456"))
        }
    }
}
