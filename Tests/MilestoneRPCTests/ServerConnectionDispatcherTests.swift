import Logging
@testable import MilestoneRPC
import MilestoneWire
import Synchronization
import MilestoneTesting
import Testing

@Suite("Server connection dispatcher (no sockets)", .timeLimit(.minutes(1)))
struct ServerConnectionDispatcherTests {
    typealias Check = WireMethod<HealthV1.HealthCheckRequest, HealthV1.HealthCheckResponse>
    static let slow = Check(name: "test.v1.T/Slow", idempotency: .unknown)
    static let secret = Check(name: "test.v1.T/Secret", idempotency: .unknown)
    static let boom = Check(name: "test.v1.T/Boom", idempotency: .unknown)
    static let gated = Check(name: "test.v1.T/Gated", idempotency: .unknown)

    /// Observations of the handlers of one dispatcher.
    final class Probe: Sendable {
        /// A slow handler started.
        let started = OneShotSignal()
        /// A slow handler saw its cancellation.
        let cancelled = OneShotSignal()
        /// Opens the gate the gated handler waits behind (it ignores cancellation while waiting).
        let gate = OneShotSignal()
        /// Whether the gated handler was cancelled when the gate opened, once it ran.
        let gatedRuns = Mutex<[Bool]>([])
        /// The gated handler returned.
        let gatedFinished = OneShotSignal()
    }

    func makeDispatcher(
        tokens: BearerTokens? = nil,
        scheduler: ManualTimerScheduler = ManualTimerScheduler(),
        maxConcurrentCalls: Int = .max,
        probe: Probe = Probe(),
        sink: FrameSink
    ) -> ServerConnectionDispatcher {
        var router = Router(services: [HealthService()])
        router.register(Self.slow, access: .unauthenticated) { _, _ in
            probe.started.fire()
            do {
                try await Task.sleep(for: .seconds(3600))
            } catch {
                probe.cancelled.fire()
                throw error
            }
            return HealthV1.HealthCheckResponse()
        }
        router.register(Self.gated, access: .unauthenticated) { _, _ in
            probe.started.fire()
            await withTaskCancellationHandler {
                await probe.gate.wait()
            } onCancel: {
                probe.cancelled.fire()
            }
            probe.gatedRuns.withLock { $0.append(Task.isCancelled) }
            probe.gatedFinished.fire()
            return HealthV1.HealthCheckResponse()
        }
        router.register(Self.secret, access: .adminOnly) { _, _ in HealthV1.HealthCheckResponse() }
        router.register(Self.boom, access: .unauthenticated) { _, _ in throw LeakyError() }
        var interceptors: [any ServerInterceptor] = [RequestLoggingInterceptor()]
        if let tokens { interceptors.append(AuthenticationInterceptor(tokens: tokens)) }
        let dispatcher = ServerConnectionDispatcher(
            pipeline: ServerPipeline(router: router, interceptors: interceptors),
            scheduler: scheduler,
            peer: "test",
            maxFrameSize: 4 << 20,
            maxConcurrentCalls: maxConcurrentCalls,
            logger: quietLogger
        ) { bytes, answersCall in sink.write(bytes, answersCall) }
        sink.reportWrites(to: dispatcher)
        return dispatcher
    }

    @Test("a call is answered with its id, status and the request id")
    func answersCall() async throws {
        let sink = FrameSink()
        try await withDispatcher(self.makeDispatcher(sink: sink)) { send in
            let payload = try HealthV1.HealthCheckRequest().wireBytes()
            _ = send(requestFrame(id: 7, method: HealthV1.Health.check.name, payload: payload, metadata: [("x-request-id", "req-1")]))
            let response = try #require(await sink.waitForResponses(1).first)
            #expect(response.callID == 7)
            #expect(response.status == .ok)
            #expect(try HealthV1.HealthCheckResponse(wireBytes: response.payload).status == .serving)
            #expect(Metadata(wireEntries: response.metadata)["x-request-id"] == "req-1")
        }
    }

    @Test("an unknown method gets UNIMPLEMENTED naming it")
    func unknownMethod() async throws {
        let sink = FrameSink()
        try await withDispatcher(self.makeDispatcher(sink: sink)) { send in
            _ = send(requestFrame(id: 1, method: "nope.v1.Nope/Nothing"))
            let response = try #require(await sink.waitForResponses(1).first)
            #expect(response.status == .unimplemented)
            #expect(response.message.contains("nope.v1.Nope/Nothing"))
        }
    }

    @Test("a payload that does not decode gets INVALID_ARGUMENT")
    func badPayload() async throws {
        let sink = FrameSink()
        try await withDispatcher(self.makeDispatcher(sink: sink)) { send in
            _ = send(requestFrame(id: 1, method: HealthV1.Health.check.name, payload: [0xFF, 0xFF]))
            let response = try #require(await sink.waitForResponses(1).first)
            #expect(response.status == .invalidArgument)
            #expect(response.message.contains("HealthCheckRequest"))
        }
    }

    @Test("an uppercase metadata key gets INVALID_ARGUMENT")
    func badMetadata() async throws {
        let sink = FrameSink()
        try await withDispatcher(self.makeDispatcher(sink: sink)) { send in
            _ = send(requestFrame(id: 1, method: HealthV1.Health.check.name, metadata: [("X-Bad", "1")]))
            let response = try #require(await sink.waitForResponses(1).first)
            #expect(response.status == .invalidArgument)
            #expect(response.message.contains("X-Bad"))
        }
    }

    @Test("an unexpected handler error becomes INTERNAL without its details")
    func internalErrorsDoNotLeak() async throws {
        let sink = FrameSink()
        try await withDispatcher(self.makeDispatcher(sink: sink)) { send in
            _ = send(requestFrame(id: 3, method: Self.boom.name))
            let response = try #require(await sink.waitForResponses(1).first)
            #expect(response.status == .internal)
            #expect(!response.message.contains("hunter2"))
            #expect(try RPCV1.Frame(kind: .response(response)).wireBytes().contains(Array("hunter2".utf8)) == false)
        }
    }

    @Test("a domain error that is RPCErrorConvertible becomes its status")
    func convertibleErrors() async throws {
        struct Missing: RPCErrorConvertible {
            var rpcError: RPCError { RPCError(code: .notFound, message: "no such thing") }
        }
        let method = Check(name: "test.v1.T/Missing", idempotency: .unknown)
        var router = Router()
        router.register(method, access: .unauthenticated) { _, _ in throw Missing() }
        let sink = FrameSink()
        let dispatcher = ServerConnectionDispatcher(
            pipeline: ServerPipeline(router: router, interceptors: []),
            scheduler: ManualTimerScheduler(), peer: "test", maxFrameSize: 4 << 20, logger: quietLogger
        ) { bytes, answersCall in sink.write(bytes, answersCall) }
        sink.reportWrites(to: dispatcher)
        try await withDispatcher(dispatcher) { send in
            _ = send(requestFrame(id: 1, method: method.name))
            let response = try #require(await sink.waitForResponses(1).first)
            #expect(response.status == .notFound)
            #expect(response.message == "no such thing")
        }
    }

    @Test("the deadline answers DEADLINE_EXCEEDED once and cancels the handler")
    func deadline() async throws {
        let sink = FrameSink()
        let scheduler = ManualTimerScheduler()
        let probe = Probe()
        let dispatcher = self.makeDispatcher(scheduler: scheduler, probe: probe, sink: sink)
        try await withDispatcher(dispatcher) { send in
            _ = send(requestFrame(id: 5, method: Self.slow.name, timeoutMicros: 50_000))
            #expect(scheduler.timers.withLock { $0.count } == 1)
            #expect(dispatcher.callsInFlight == 1)
            await probe.started.wait()
            scheduler.fireAll()
            #expect(await sink.waitForResponses(1).map(\.status) == [.deadlineExceeded])
            await probe.cancelled.wait()  // the deadline itself cancelled the handler, before the connection closed
        }
        #expect(sink.responses.count == 1, "the cancelled handler must not answer a second time")
    }

    @Test("a deadline that passes before the call's task starts still cancels the call")
    func deadlineBeforeStart() async throws {
        let sink = FrameSink()
        let probe = Probe()
        let dispatcher = self.makeDispatcher(scheduler: ManualTimerScheduler(fireImmediately: true), probe: probe, sink: sink)
        try await withDispatcher(dispatcher) { send in
            _ = send(requestFrame(id: 1, method: Self.gated.name, timeoutMicros: 1))
            #expect(await sink.waitForResponses(1).map(\.status) == [.deadlineExceeded])
            probe.gate.fire()
        }
        // Either the handler never ran, or it ran cancelled: never as if the call were still wanted.
        #expect(probe.gatedRuns.withLock { $0 }.allSatisfy { $0 })
        #expect(sink.responses.count == 1)
    }

    @Test("a cancel stops the handler and nothing is sent")
    func cancel() async throws {
        let sink = FrameSink()
        let probe = Probe()
        try await withDispatcher(self.makeDispatcher(probe: probe, sink: sink)) { send in
            _ = send(requestFrame(id: 9, method: Self.slow.name))
            await probe.started.wait()
            _ = send(RPCV1.Frame(kind: .cancel(RPCV1.CallCancel(callID: 9))))
            await probe.cancelled.wait()
        }
        #expect(sink.responses.isEmpty)
    }

    @Test("serving returns only after every call's task has ended, even one that ignores cancellation")
    func structuredCalls() async throws {
        let sink = FrameSink()
        let probe = Probe()
        let dispatcher = self.makeDispatcher(probe: probe, sink: sink)
        let served = OneShotSignal()
        async let serving: Void = {
            try await withDispatcher(dispatcher) { send in
                _ = send(requestFrame(id: 1, method: Self.gated.name))
                await probe.started.wait()
            }  // the connection ends here: the gated call is cancelled but keeps running until its gate opens
            served.fire()
        }()
        await probe.cancelled.wait()  // the connection ended and cancelled the call; its task still runs
        #expect(!served.hasFired)
        probe.gate.fire()
        try await serving
        #expect(probe.gatedFinished.hasFired, "serve returned before the handler's task ended")
        #expect(probe.gatedRuns.withLock { $0 } == [true], "closing the connection cancelled the call")
    }

    @Test("protocol violations close the connection with GoAway", arguments: [
        requestFrame(id: 0, method: HealthV1.Health.check.name),
        RPCV1.Frame(kind: .response(RPCV1.CallResponse())),
    ])
    func violations(frame: RPCV1.Frame) async throws {
        let sink = FrameSink()
        try await withDispatcher(self.makeDispatcher(sink: sink)) { send in
            let outcome = send(frame)
            guard case .close = outcome else {
                Issue.record("expected close, got \(outcome)")
                return
            }
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
        try await withDispatcher(self.makeDispatcher(sink: sink)) { send in
            #expect(send(requestFrame(id: 4, method: Self.slow.name)) == .keepOpen)
            #expect(send(requestFrame(id: 4, method: Self.slow.name)) != .keepOpen)
        }
    }

    @Test("calls beyond the per-connection limit get RESOURCE_EXHAUSTED; the connection stays open")
    func concurrentCallLimit() async throws {
        let sink = FrameSink()
        let dispatcher = self.makeDispatcher(maxConcurrentCalls: 2, sink: sink)
        try await withDispatcher(dispatcher) { send in
            for id in 1...3 {
                #expect(send(requestFrame(id: UInt64(id), method: Self.slow.name)) == .keepOpen)
            }
            let refused = try #require(await sink.waitForResponses(1).first)
            #expect(refused.callID == 3)
            #expect(refused.status == .resourceExhausted)
            #expect(refused.message.contains("limit 2"))
            #expect(dispatcher.callsInFlight == 2)
        }
    }

    @Test("answered calls whose response is not yet written count against the in-flight limit")
    func unwrittenResponsesCount() async throws {
        let sink = FrameSink(holdsWrites: true)
        let dispatcher = self.makeDispatcher(maxConcurrentCalls: 2, sink: sink)
        try await withDispatcher(dispatcher) { send in
            let check = HealthV1.Health.check.name
            _ = send(requestFrame(id: 1, method: check))
            _ = send(requestFrame(id: 2, method: check))
            _ = await sink.waitForResponses(2)  // answered, but the peer has not read them
            _ = send(requestFrame(id: 3, method: check))
            let refused = try #require(await sink.waitForResponses(3).last)
            #expect(refused.callID == 3)
            #expect(refused.status == .resourceExhausted)
            sink.completeWrites()  // the peer reads: room again
            _ = send(requestFrame(id: 4, method: check))
            let accepted = try #require(await sink.waitForResponses(4).last)
            #expect(accepted.callID == 4)
            #expect(accepted.status == .ok)
        }
    }

    @Test("a request id that could forge log lines is replaced; a safe one is echoed", arguments: [
        ("req-1:ok_2.x", true), ("line\nbreak", false), ("spa ce", false), (String(repeating: "a", count: 129), false), ("", false),
    ])
    func requestIDs(requestID: String, echoed: Bool) async throws {
        let sink = FrameSink()
        try await withDispatcher(self.makeDispatcher(sink: sink)) { send in
            _ = send(requestFrame(id: 1, method: HealthV1.Health.check.name, metadata: [("x-request-id", requestID)]))
            let response = try #require(await sink.waitForResponses(1).first)
            let returned = try #require(Metadata(wireEntries: response.metadata)["x-request-id"])
            #expect((returned == requestID) == echoed)
            #expect(Metadata.isSafeIdentifier(returned))
        }
    }

    @Test("a malformed frame closes the connection")
    func malformed() async throws {
        let sink = FrameSink()
        let dispatcher = self.makeDispatcher(sink: sink)
        await dispatcher.serve { receive in
            let outcome = receive(.init(.failure(WireError(code: .malformedMessage, message: "x")), byteCount: 3))
            #expect(outcome != .keepOpen)
        }
        guard case .goAway = sink.all.last?.kind else {
            Issue.record("no GoAway sent")
            return
        }
    }

    @Test("ping is answered with pong carrying the same value")
    func ping() async throws {
        let sink = FrameSink()
        try await withDispatcher(self.makeDispatcher(sink: sink)) { send in
            _ = send(RPCV1.Frame(kind: .ping(RPCV1.Ping(opaque: 1234))))
        }
        guard case .pong(let pong) = sink.all.last?.kind else {
            Issue.record("no pong")
            return
        }
        #expect(pong.opaque == 1234)
    }

    @Test("draining sends GoAway, refuses new calls with UNAVAILABLE, and waits for calls in flight")
    func drain() async throws {
        let sink = FrameSink()
        let probe = Probe()
        let dispatcher = self.makeDispatcher(probe: probe, sink: sink)
        try await withDispatcher(dispatcher) { send in
            _ = send(requestFrame(id: 1, method: Self.gated.name))
            await probe.started.wait()
            let drained = OneShotSignal()
            async let draining: Void = {
                await dispatcher.drain()
                drained.fire()
            }()
            // GoAway first; the gated call holds the drain open.
            await sink.wait { !$0.isEmpty }
            guard case .goAway(let goAway) = sink.all.first?.kind else {
                Issue.record("no GoAway")
                probe.gate.fire()
                await draining
                return
            }
            #expect(goAway.lastCallID == 1)
            #expect(goAway.status == .unavailable)
            _ = send(requestFrame(id: 2, method: HealthV1.Health.check.name))
            let refused = try #require(await sink.waitForResponses(1).first)
            #expect(refused.callID == 2)
            #expect(refused.status == .unavailable)
            #expect(!drained.hasFired)
            probe.gate.fire()
            await draining
            #expect(sink.responses.map(\.callID).sorted() == [1, 2])
        }
    }

    @Test("authentication: missing, malformed, padded, wrong, wrong role, right; health exempt")
    func authentication() async throws {
        let tokens = BearerTokens(admin: "admin-token-123", service: "service-token-456")
        let cases: [(metadata: [(String, String)], method: String, expected: RPCV1.StatusCode)] = [
            ([], Self.secret.name, .unauthenticated),
            ([("authorization", "Basic abc")], Self.secret.name, .unauthenticated),
            ([("authorization", "Bearer nope")], Self.secret.name, .unauthenticated),
            ([("authorization", "Bearer service-token-456")], Self.secret.name, .permissionDenied),
            ([("authorization", "Bearer admin-token-123")], Self.secret.name, .ok),
            ([("authorization", "bearer admin-token-123")], Self.secret.name, .ok),
            ([("authorization", "BEARER   admin-token-123  ")], Self.secret.name, .ok),
            ([("authorization", "Bearer    ")], Self.secret.name, .unauthenticated),
            ([("authorization", "Bearer admin-token-123x")], Self.secret.name, .unauthenticated),
            ([("authorization", "Bearer admin token-123")], Self.secret.name, .unauthenticated),
            ([], HealthV1.Health.check.name, .ok),
        ]
        for (index, testCase) in cases.enumerated() {
            let sink = FrameSink()
            try await withDispatcher(self.makeDispatcher(tokens: tokens, sink: sink)) { send in
                _ = send(requestFrame(id: UInt64(index + 1), method: testCase.method, metadata: testCase.metadata))
                let response = try #require(await sink.waitForResponses(1).first)
                #expect(response.status == testCase.expected, "case \(index)")
                #expect(!response.message.contains("admin-token-123"))
                #expect(!response.message.contains("service-token-456"))
            }
        }
    }
}
