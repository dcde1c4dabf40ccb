public import MilestoneRPC
public import MilestoneWire
import Synchronization

/// The `milestone.testing.v1.Echo` service: answers with what it was sent, after an optional delay, or
/// fails on request. Counts its calls and the calls it saw cancelled, for tests to check.
public final class EchoService: TestingV1.Echo.ServiceProtocol {
    private let callEvents = EventCounter()
    private let cancelEvents = EventCounter()
    private let methodAccess: MethodAccess

    /// - Parameter access: who may call both methods (default: anyone).
    public init(access: MethodAccess = .unauthenticated) {
        self.methodAccess = access
    }

    /// Calls started so far.
    public var calls: Int { self.callEvents.count }
    /// Calls whose handler was cancelled (client cancel, deadline, drain grace period).
    public var cancelled: Int { self.cancelEvents.count }

    /// Returns once at least `count` calls have started.
    public func waitForCalls(_ count: Int) async {
        await self.callEvents.wait(atLeast: count)
    }

    /// Returns once at least `count` handlers have seen their cancellation.
    public func waitForCancellations(_ count: Int) async {
        await self.cancelEvents.wait(atLeast: count)
    }

    public func access(for method: TestingV1.Echo.Method) -> MethodAccess {
        self.methodAccess
    }

    public func echo(_ request: TestingV1.EchoRequest, context: ServerContext) async throws -> TestingV1.EchoResponse {
        self.callEvents.increment()
        let deadlineMillis = context.deadline.map { Int64($0.remaining.wholeMilliseconds) } ?? -1
        if request.delayMillis > 0 {
            do {
                try await Task.sleep(for: .milliseconds(Int(request.delayMillis)))
            } catch {
                self.cancelEvents.increment()
                throw error
            }
        }
        return try Self.response(to: request, context: context, deadlineMillis: deadlineMillis)
    }

    /// A call without a delay is answered at once, on the thread that read it (no task for the call).
    public func registerImmediateMethods(with router: inout Router) {
        router.registerImmediate(TestingV1.Echo.echo) { request, context in
            try self.echoNow(request, context: context)
        }
        router.registerImmediate(TestingV1.Echo.echoOnce) { request, context in
            try self.echoNow(request, context: context)
        }
    }

    private func echoNow(_ request: TestingV1.EchoRequest, context: ServerContext) throws -> TestingV1.EchoResponse? {
        guard request.delayMillis <= 0 else { return nil }
        self.callEvents.increment()
        let deadlineMillis = context.deadline.map { Int64($0.remaining.wholeMilliseconds) } ?? -1
        return try Self.response(to: request, context: context, deadlineMillis: deadlineMillis)
    }

    private static func response(
        to request: TestingV1.EchoRequest,
        context: ServerContext,
        deadlineMillis: Int64
    ) throws -> TestingV1.EchoResponse {
        if request.failWithCode != 0 {
            let code = RPCError.Code(rawValue: Int(request.failWithCode)) ?? .unknown
            throw RPCError(code: code, message: request.text)
        }
        var response = TestingV1.EchoResponse()
        response.payload = request.payload
        response.text = request.text
        var keys = context.requestMetadata.map(\.key)
        keys.sort()
        response.metadataKeys = keys
        response.deadlineMillis = deadlineMillis
        return response
    }
}

extension EchoService {
    public func echoOnce(_ request: TestingV1.EchoRequest, context: ServerContext) async throws -> TestingV1.EchoResponse {
        try await self.echo(request, context: context)
    }
}
