import Logging
@testable import MilestoneRPC
import MilestoneWire
import Synchronization
import MilestoneTesting
import Testing

/// Methods with an immediate answer (`Router.registerImmediate`): tried first on the reading thread, with
/// the interceptors' immediate forms around them; nil, or an interceptor without one, goes to the
/// asynchronous handler.
@Suite("Immediate answers (no sockets)", .timeLimit(.minutes(1)))
struct ImmediateAnswerTests {
    typealias Echo = WireMethod<TestingV1.EchoRequest, TestingV1.EchoResponse>
    static let method = Echo(name: "test.v1.T/Now", idempotency: .unknown)
    static let guarded = Echo(name: "test.v1.T/Guarded", idempotency: .unknown)
    static let tokens = BearerTokens(admin: "admin-token-123", service: "service-token-456")

    /// Which path answered each call, in order.
    final class Paths: Sendable {
        let taken = Mutex<[String]>([])

        func record(_ path: String) {
            self.taken.withLock { $0.append(path) }
        }

        var all: [String] { self.taken.withLock { $0 } }
    }

    /// An interceptor with no immediate form (the protocol's default).
    struct AsyncOnlyInterceptor: ServerInterceptor {
        nonisolated(nonsending) func intercept(
            request: ServerRequest,
            context: ServerContext,
            next: nonisolated(nonsending) @Sendable (ServerRequest, ServerContext) async throws -> ServerResponse
        ) async throws -> ServerResponse {
            try await next(request, context)
        }
    }

    /// The immediate handler: `text` says what it does ("now", "later" for nil, "fail", "boom").
    func makeDispatcher(paths: Paths, sink: FrameSink, extraInterceptors: [any ServerInterceptor] = []) -> ServerConnectionDispatcher {
        var router = Router()
        for method in [Self.method, Self.guarded] {
            router.register(method, access: method == Self.guarded ? .adminOnly : .unauthenticated) { request, _ in
                paths.record("async")
                return TestingV1.EchoResponse(text: "async:\(request.text)")
            }
            router.registerImmediate(method) { request, context in
                switch request.text {
                case "later":
                    return nil
                case "fail":
                    throw RPCError(code: .failedPrecondition, message: "not now")
                case "boom":
                    throw LeakyError()
                default:
                    paths.record("immediate")
                    return TestingV1.EchoResponse(text: "immediate:\(context.role.map { "\($0)" } ?? "anonymous")")
                }
            }
        }
        let interceptors: [any ServerInterceptor] = [RequestLoggingInterceptor(), AuthenticationInterceptor(tokens: Self.tokens)] + extraInterceptors
        let dispatcher = ServerConnectionDispatcher(
            pipeline: ServerPipeline(router: router, interceptors: interceptors),
            scheduler: ManualTimerScheduler(),
            peer: "test",
            maxFrameSize: 4 << 20,
            logger: quietLogger
        ) { bytes, answersCall in sink.write(bytes, answersCall) }
        sink.reportWrites(to: dispatcher)
        return dispatcher
    }

    func call(_ method: Echo, _ text: String, id: UInt64, token: String? = nil) throws -> RPCV1.Frame {
        requestFrame(
            id: id,
            method: method.name,
            payload: try TestingV1.EchoRequest(text: text).wireBytes(),
            metadata: token.map { [("authorization", "Bearer \($0)")] } ?? []
        )
    }

    @Test("an immediate answer is the response; nil goes on to the asynchronous handler")
    func immediateOrAsync() async throws {
        let sink = FrameSink()
        let paths = Paths()
        try await withDispatcher(self.makeDispatcher(paths: paths, sink: sink)) { send in
            _ = send(try self.call(Self.method, "now", id: 1))
            _ = send(try self.call(Self.method, "later", id: 2))
            let responses = await sink.waitForResponses(2).sorted { $0.callID < $1.callID }
            #expect(responses.map(\.status) == [.ok, .ok])
            #expect(try TestingV1.EchoResponse(wireBytes: responses[0].payload).text == "immediate:anonymous")
            #expect(try TestingV1.EchoResponse(wireBytes: responses[1].payload).text == "async:later")
            #expect(!responses[0].metadata.filter { $0.key == "x-request-id" }.isEmpty, "an immediate answer carries the request id too")
        }
        #expect(paths.all == ["immediate", "async"])
    }

    @Test("on the reading thread: an immediate answer is given there; nil is accepted there and its task started by serve; other frames are left to serve")
    func onTheReadingThread() async throws {
        let sink = FrameSink()
        let paths = Paths()
        let dispatcher = self.makeDispatcher(paths: paths, sink: sink)
        let now = try self.call(Self.method, "now", id: 1)
        let later = try self.call(Self.method, "later", id: 2)
        let others = [requestFrame(id: 3, method: "test.v1.T/Unknown"), RPCV1.Frame(kind: .ping(RPCV1.Ping()))]
        await dispatcher.serve { receive in
            guard case .handled(.keepOpen) = dispatcher.receiveOnReadingThread(now) else {
                Issue.record("an immediate answer is given on the reading thread")
                return
            }
            #expect(await sink.waitForResponses(1).map(\.callID) == [1])
            guard case .needsTask(let accepted) = dispatcher.receiveOnReadingThread(later) else {
                Issue.record("nil from the immediate answer: accepted, its handler needs a task")
                return
            }
            #expect(paths.all == ["immediate"], "the accepted call's handler has not run yet")
            for frame in others {
                guard case .notHandled = dispatcher.receiveOnReadingThread(frame) else {
                    Issue.record("frames without an immediate answer are left to serve: \(frame)")
                    return
                }
            }
            #expect(receive(.init(accepted: accepted)) == .keepOpen)
            #expect(await sink.waitForResponses(2).map(\.callID).sorted() == [1, 2])
        }
        #expect(paths.all == ["immediate", "async"])
        let answer = sink.responses.first { $0.callID == 2 }
        #expect(try TestingV1.EchoResponse(wireBytes: answer?.payload ?? []).text == "async:later")
        #expect(sink.responses.count == 2, "nothing answered the frames left to serve: serve never got them")
    }

    @Test("the interceptors run around an immediate answer: authentication refuses, or sets the role")
    func interceptorsAroundImmediate() async throws {
        let sink = FrameSink()
        let paths = Paths()
        try await withDispatcher(self.makeDispatcher(paths: paths, sink: sink)) { send in
            _ = send(try self.call(Self.guarded, "now", id: 1))
            _ = send(try self.call(Self.guarded, "now", id: 2, token: "service-token-456"))
            _ = send(try self.call(Self.guarded, "now", id: 3, token: "admin-token-123"))
            let responses = await sink.waitForResponses(3).sorted { $0.callID < $1.callID }
            #expect(responses.map(\.status) == [.unauthenticated, .permissionDenied, .ok])
            #expect(try TestingV1.EchoResponse(wireBytes: responses[2].payload).text == "immediate:admin")
        }
        #expect(paths.all == ["immediate"], "refused calls reach neither handler")
    }

    @Test("errors of an immediate answer: an RPCError is the status, anything else INTERNAL without its details")
    func immediateErrors() async throws {
        let sink = FrameSink()
        try await withDispatcher(self.makeDispatcher(paths: Paths(), sink: sink)) { send in
            _ = send(try self.call(Self.method, "fail", id: 1))
            _ = send(try self.call(Self.method, "boom", id: 2))
            let responses = await sink.waitForResponses(2).sorted { $0.callID < $1.callID }
            #expect(responses[0].status == .failedPrecondition)
            #expect(responses[0].message == "not now")
            #expect(responses[1].status == .internal)
            #expect(try RPCV1.Frame(kind: .response(responses[1])).wireBytes().contains(Array("hunter2".utf8)) == false)
        }
    }

    @Test("an interceptor without an immediate form sends every call to the asynchronous handler")
    func asyncOnlyInterceptor() async throws {
        let sink = FrameSink()
        let paths = Paths()
        try await withDispatcher(self.makeDispatcher(paths: paths, sink: sink, extraInterceptors: [AsyncOnlyInterceptor()])) { send in
            _ = send(try self.call(Self.method, "now", id: 1))
            let response = try #require(await sink.waitForResponses(1).first)
            #expect(try TestingV1.EchoResponse(wireBytes: response.payload).text == "async:now")
        }
        #expect(paths.all == ["async"])
    }

    @Test("a draining connection refuses a call before its immediate answer runs")
    func drainingRefusesImmediate() async throws {
        let sink = FrameSink()
        let paths = Paths()
        let dispatcher = self.makeDispatcher(paths: paths, sink: sink)
        try await withDispatcher(dispatcher) { send in
            await dispatcher.drain()
            _ = send(try self.call(Self.method, "now", id: 1))
            let responses = await sink.waitForResponses(1)
            #expect(responses.first?.status == .unavailable)
        }
        #expect(paths.all.isEmpty)
    }
}
