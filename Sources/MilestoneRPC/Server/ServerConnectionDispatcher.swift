package import Logging
package import MilestoneWire
import Synchronization

/// Serves the calls of one connection, whatever carries its frames: decodes each frame, answers calls
/// whose method has an immediate answer on the spot, runs the other handlers concurrently (one child task
/// per call, in the connection's task group), enforces deadlines, honours cancels, answers pings, and
/// drains.
///
/// The transport calls ``serve(_:)`` with a function that reads the connection's frames and hands each to
/// the dispatcher; ``serve(_:)`` returns once reading ended and every call's task has finished. Encoded
/// frames go out through the `write` function the transport gives, which copies them; the transport calls
/// ``responsesWritten(_:)`` once responses' bytes are written: until then each answered call still counts
/// against the in-flight limit.
package final class ServerConnectionDispatcher: Sendable {
    /// What the transport does with the connection after a frame.
    package enum Outcome: Sendable, Equatable {
        case keepOpen
        /// The peer broke the protocol: a GoAway was sent; close the connection.
        case close(reason: String)
    }

    /// One frame read from the connection: decoded, or why not, and its size.
    package struct InboundFrame: Sendable {
        package var decoded: Result<RPCV1.Frame, any Error>
        package var byteCount: Int

        /// A call accepted on the reading thread (``receiveOnReadingThread(_:)``): its task is started.
        package var accepted: AcceptedCall?

        package init(_ decoded: Result<RPCV1.Frame, any Error>, byteCount: Int) {
            self.decoded = decoded
            self.byteCount = byteCount
            self.accepted = nil
        }

        package init(accepted call: AcceptedCall) {
            self.decoded = .success(RPCV1.Frame())
            self.byteCount = 0
            self.accepted = call
        }
    }

    /// A call accepted on the reading thread (``receiveOnReadingThread(_:)``) whose handler needs a task:
    /// the transport passes it to ``serve(_:)``'s `receive` (``InboundFrame/init(accepted:)``), which starts it.
    package struct AcceptedCall: Sendable {
        fileprivate let handler: Router.Handler
        fileprivate let request: ServerRequest
        fileprivate let context: ServerContext
        fileprivate let callID: UInt64
        fileprivate let cancellation: CallCancellation
    }

    /// What ``receiveOnReadingThread(_:)`` did with a frame.
    package enum ReadingThreadOutcome: Sendable {
        /// Answered (or refused) on the spot; the transport goes on as the outcome says.
        case handled(Outcome)
        /// Accepted; its handler needs a task: give it to ``serve(_:)``'s read.
        case needsTask(AcceptedCall)
        /// Not a request with an immediate answer: give the frame to ``serve(_:)``'s read as usual.
        case notHandled
    }

    private let table: Mutex<ServerCallTable>
    private let pipeline: ServerPipeline
    private let scheduler: any CallTimerScheduler
    private let write: Write
    private let peer: String
    private let logger: Logger
    private let maxFrameSize: Int
    private let taskExecutor: (any TaskExecutor)?

    /// Writes one encoded frame (copying the bytes before it returns). For a frame that answers a call
    /// (`answersCall`), the transport calls ``responsesWritten(_:)`` once its bytes are written, or cannot
    /// be (the connection closed).
    package typealias Write = @Sendable (_ bytes: UnsafeRawBufferPointer, _ answersCall: Bool) -> Void

    /// - Parameters:
    ///   - taskExecutor: where the calls' tasks run (the transport's I/O thread), or nil for the default
    ///     executor.
    ///   - maxConcurrentCalls: calls in flight at once, counting answered calls whose response is not
    ///     written yet; more get RESOURCE_EXHAUSTED.
    package init(
        pipeline: ServerPipeline,
        scheduler: any CallTimerScheduler,
        taskExecutor: (any TaskExecutor)? = nil,
        peer: String,
        maxFrameSize: Int,
        maxConcurrentCalls: Int = .max,
        logger: Logger,
        write: @escaping Write
    ) {
        self.table = Mutex(ServerCallTable(maxConcurrentCalls: maxConcurrentCalls))
        self.pipeline = pipeline
        self.taskExecutor = taskExecutor
        self.maxFrameSize = maxFrameSize
        self.scheduler = scheduler
        self.peer = peer
        self.logger = logger
        self.write = write
    }

    // MARK: Serving

    /// Serves the connection: `read` reads frames and passes each to the `receive` function it is given,
    /// stopping when that answers ``Outcome/close(reason:)`` or the connection ends. Then every call still
    /// running is cancelled, and this returns once all of their tasks have finished.
    package func serve(_ read: (_ receive: (InboundFrame) -> Outcome) async -> Void) async {
        await withDiscardingTaskGroup { group in
            await read { frame in self.receive(frame, in: &group) }
            self.close()
        }
    }

    /// Handles a frame on the thread that read it, with no task and no hop, when it is a request whose
    /// method has an immediate answer (``Router/registerImmediate(_:access:handler:)``); other frames are
    /// left to ``serve(_:)``'s read (``ReadingThreadOutcome/notHandled``). The transport calls it only when
    /// every frame read before has been received, so that frames are still handled in order.
    package func receiveOnReadingThread(_ frame: RPCV1.Frame) -> ReadingThreadOutcome {
        guard case .request(let request) = frame.kind,
            let entry = self.pipeline.entry(for: request.method), entry.immediateHandler != nil
        else { return .notHandled }
        switch self.accept(request, entry: entry) {
        case .done(let outcome): return .handled(outcome)
        case .needsTask(let call): return .needsTask(call)
        }
    }

    // MARK: Inbound frames

    private func receive(_ inbound: InboundFrame, in group: inout DiscardingTaskGroup) -> Outcome {
        if let call = inbound.accepted {
            self.start(call, in: &group)
            return .keepOpen
        }
        let frame: RPCV1.Frame
        switch inbound.decoded {
        case .success(let decoded):
            frame = decoded
        case .failure(let error):
            return self.protocolViolation("malformed frame of \(inbound.byteCount) bytes: \(error)")
        }
        switch frame.kind {
        case .request(let request):
            return self.receive(request, in: &group)
        case .cancel(let cancel):
            self.receiveCancel(callID: cancel.callID)
            return .keepOpen
        case .ping(let ping):
            var pong = RPCV1.Pong()
            pong.opaque = ping.opaque
            self.send(RPCV1.Frame(kind: .pong(pong)))
            return .keepOpen
        case .pong, nil:
            // A pong answers nothing the server asked; an empty frame is a no-op.
            return .keepOpen
        case .goAway:
            // The client is going away; it closes the connection itself.
            return .keepOpen
        case .response:
            return self.protocolViolation("a client sent a response frame")
        }
    }

    private func receive(_ request: RPCV1.CallRequest, in group: inout DiscardingTaskGroup) -> Outcome {
        switch self.accept(request) {
        case .done(let outcome):
            return outcome
        case .needsTask(let call):
            self.start(call, in: &group)
            return .keepOpen
        }
    }

    private enum Accepted {
        case done(Outcome)
        case needsTask(AcceptedCall)
    }

    /// Accepts a request: answers it at once (refused, or its immediate answer), or records it and returns
    /// what its task needs. `entry`: the method's, when the caller has looked it up already.
    private func accept(_ request: RPCV1.CallRequest, entry known: ServerPipeline.Entry? = nil) -> Accepted {
        let callID = request.callID
        guard callID != 0 else {
            return .done(self.protocolViolation("call id 0 is reserved"))
        }
        let metadata = Metadata(wireEntries: request.metadata)
        // A client's request id is echoed and logged only when it is a safe identifier; otherwise one is made.
        let requestID = metadata[Metadata.Keys.requestID].flatMap { Metadata.isSafeIdentifier($0) ? $0 : nil }
            ?? self.makeRequestID()

        let entry = known ?? self.pipeline.entry(for: request.method)
        if let entry, let immediate = entry.immediateHandler {
            return self.acceptImmediate(request, metadata: metadata, requestID: requestID, entry: entry, immediate)
        }
        let cancellation = CallCancellation()
        let admission = self.table.withLock { $0.receiveRequest(callID: callID, cancellation: cancellation) }
        if let refused = self.refusal(admission, callID: callID, requestID: requestID) {
            return refused
        }

        if let problem = Metadata.problem(in: request.metadata) {
            self.answerNow(callID: callID, requestID: requestID, RPCError(code: .invalidArgument, message: problem))
            return .done(.keepOpen)
        }
        guard let entry else {
            let shown = request.method.isEmpty ? "(empty)" : "\"\(request.method.prefix(200))\""
            self.answerNow(
                callID: callID,
                requestID: requestID,
                RPCError(code: .unimplemented, message: "unknown method \(shown)")
            )
            return .done(.keepOpen)
        }

        let context = self.context(request, metadata: metadata, requestID: requestID, entry: entry)
        let serverRequest = ServerRequest(metadata: metadata, payload: request.payload)
        return .needsTask(self.accepted(request, serverRequest, context, entry: entry, cancellation: cancellation))
    }

    /// Accepts a request whose method has an immediate answer: admitted without an entry in the call table
    /// (it is answered before the connection's next frame is read), answered here; recorded and given a
    /// task only when the immediate answer gives up.
    private func acceptImmediate(
        _ request: RPCV1.CallRequest,
        metadata: Metadata,
        requestID: String,
        entry: ServerPipeline.Entry,
        _ immediate: Router.ImmediateHandler
    ) -> Accepted {
        let callID = request.callID
        let admission = self.table.withLock { $0.admitImmediate(callID: callID) }
        if let refused = self.refusal(admission, callID: callID, requestID: requestID) {
            return refused
        }
        // Admitted: counted as being answered until its response is written (``responsesWritten(_:)``).
        if let problem = Metadata.problem(in: request.metadata) {
            self.sendResponse(callID: callID, requestID: requestID, .failure(RPCError(code: .invalidArgument, message: problem)), answersCall: true)
            return .done(.keepOpen)
        }
        let context = self.context(request, metadata: metadata, requestID: requestID, entry: entry)
        let serverRequest = ServerRequest(metadata: metadata, payload: request.payload)
        if let result = self.answerImmediately(immediate, serverRequest, context) {
            self.sendResponse(callID: callID, requestID: requestID, result, answersCall: true)
            return .done(.keepOpen)
        }
        let cancellation = CallCancellation()
        guard self.table.withLock({ $0.promoteAdmitted(callID: callID, cancellation: cancellation) }) else {
            return .done(.keepOpen)  // The connection closed meanwhile.
        }
        return .needsTask(self.accepted(request, serverRequest, context, entry: entry, cancellation: cancellation))
    }

    /// The answer to a request the call table did not admit (nil: admitted).
    private func refusal(_ admission: ServerCallTable.RequestAction, callID: UInt64, requestID: String) -> Accepted? {
        switch admission {
        case .accept:
            return nil
        case .rejectDuplicateID:
            return .done(self.protocolViolation("call id \(callID) is already in use"))
        case .rejectTooManyCalls:
            let limit = self.table.withLock { $0.maxConcurrentCalls }
            self.sendResponse(
                callID: callID,
                requestID: requestID,
                .failure(RPCError(code: .resourceExhausted, message: "too many calls in flight on this connection (limit \(limit))"))
            )
            return .done(.keepOpen)
        case .rejectDraining:
            self.sendResponse(
                callID: callID,
                requestID: requestID,
                .failure(RPCError(code: .unavailable, message: "the server is shutting down; retry on a new connection"))
            )
            return .done(.keepOpen)
        case .rejectClosed:
            return .done(.keepOpen)
        }
    }

    private func context(
        _ request: RPCV1.CallRequest,
        metadata: Metadata,
        requestID: String,
        entry: ServerPipeline.Entry
    ) -> ServerContext {
        let deadline = request.timeoutMicros > 0
            ? Deadline.after(.microseconds(Int64(clamping: request.timeoutMicros))) : nil
        return ServerContext(
            method: request.method,
            requestMetadata: metadata,
            requestID: requestID,
            deadline: deadline,
            peer: self.peer,
            access: entry.access,
            logger: self.logger
        )
    }

    /// A recorded call that needs its handler's task: its deadline's timer armed.
    private func accepted(
        _ request: RPCV1.CallRequest,
        _ serverRequest: ServerRequest,
        _ context: ServerContext,
        entry: ServerPipeline.Entry,
        cancellation: CallCancellation
    ) -> AcceptedCall {
        let callID = request.callID
        let requestID = context.requestID
        if let deadline = context.deadline {
            let timer = self.scheduler.schedule(after: deadline.remaining) { [self] in
                self.expire(callID: callID, requestID: requestID)
            }
            if !self.table.withLock({ $0.setTimer(callID: callID, timer) }) {
                // Answered (or the connection closed) before the timer was recorded.
                timer.cancel()
            }
        }
        return AcceptedCall(handler: entry.handler, request: serverRequest, context: context, callID: callID, cancellation: cancellation)
    }

    /// Starts an accepted call's handler in its own task, in the connection's group.
    private func start(_ call: AcceptedCall, in group: inout DiscardingTaskGroup) {
        // An immediate task: it starts on this thread (the connection's loop) at once and runs until its
        // first suspension, so a handler that does not suspend answers with no hop through the executor's
        // queue; one that waits on I/O continues on the executor as before. A call cancelled meanwhile (its
        // deadline, a cancel frame, the connection's end) does not run its handler.
        group.addImmediateTask(executorPreference: self.taskExecutor) {
            await self.run(call.handler, call.request, call.context, callID: call.callID, cancellation: call.cancellation)
        }
    }

    nonisolated(nonsending) private func run(
        _ handler: Router.Handler,
        _ request: ServerRequest,
        _ context: ServerContext,
        callID: UInt64,
        cancellation: CallCancellation
    ) async {
        // Cancelled before it started (its deadline passed, the client cancelled, the connection closed):
        // whoever cancelled it answered, or nobody is to be answered.
        guard cancellation.attach() else { return }
        let result: Result<ServerResponse, RPCError>
        do {
            let response: ServerResponse
            if context.deadline == nil && Deadline.current == nil {
                // Nothing to set: no task-local record pushed and popped for the call.
                response = try await handler(request, context)
            } else {
                response = try await Deadline.$current.withValue(context.deadline) {
                    try await handler(request, context)
                }
            }
            result = .success(response)
        } catch let error as RPCError {
            result = .failure(error)
        } catch is CancellationError {
            result = .failure(
                context.deadline?.hasPassed == true
                    ? RPCError(code: .deadlineExceeded, message: "the deadline passed before the call finished")
                    : RPCError(code: .cancelled, message: "the call was cancelled")
            )
        } catch {
            result = .failure(Self.unexpected(error, context))
        }
        cancellation.detach()
        guard let call = self.table.withLock({ $0.finish(callID: callID) }) else {
            return  // The deadline, a cancel or the connection's end answered it already.
        }
        call.timer?.cancel()
        self.sendResponse(callID: callID, requestID: context.requestID, result, answersCall: true)
    }

    /// Runs a method's immediate answer: its result, or nil when the asynchronous handler is to answer.
    private func answerImmediately(
        _ handler: Router.ImmediateHandler,
        _ request: ServerRequest,
        _ context: ServerContext
    ) -> Result<ServerResponse, RPCError>? {
        do {
            return try handler(request, context).map { .success($0) }
        } catch let error as RPCError {
            return .failure(error)
        } catch {
            return .failure(Self.unexpected(error, context))
        }
    }

    /// A handler's error that is not an ``RPCError``: logged with its details, answered INTERNAL without them.
    private static func unexpected(_ error: any Error, _ context: ServerContext) -> RPCError {
        context.logger.error(
            "handler failed with an unexpected error",
            metadata: ["method": "\(context.method)", "error": "\(String(reflecting: error))"]
        )
        return RPCError(code: .internal, message: "internal error (request id \(context.requestID))")
    }

    /// The call's deadline passed: cancel its task and answer DEADLINE_EXCEEDED, on the timer's thread.
    private func expire(callID: UInt64, requestID: String) {
        guard let call = self.table.withLock({ $0.expire(callID: callID) }) else { return }
        call.cancellation.cancel()
        self.sendResponse(
            callID: callID,
            requestID: requestID,
            .failure(RPCError(code: .deadlineExceeded, message: "the deadline passed before the call finished")),
            answersCall: true
        )
    }

    private func receiveCancel(callID: UInt64) {
        let (call, waiters) = self.table.withLock { table in
            let call = table.cancel(callID: callID)
            return (call, table.takeIdleWaiters())
        }
        call?.timer?.cancel()
        call?.cancellation.cancel()
        for waiter in waiters { waiter.resume() }
    }

    /// Answers an accepted call that never reached a handler.
    private func answerNow(callID: UInt64, requestID: String, _ error: RPCError) {
        guard self.table.withLock({ $0.finish(callID: callID) }) != nil else { return }
        self.sendResponse(callID: callID, requestID: requestID, .failure(error), answersCall: true)
    }

    /// `count` responses were written (or the connection closed before they could be): their calls no
    /// longer count against the in-flight limit. Called by the transport.
    package func responsesWritten(_ count: Int) {
        let waiters = self.table.withLock { $0.answered(count: count) }
        for waiter in waiters { waiter.resume() }
    }

    // MARK: Draining and closing

    /// Sends GoAway and refuses new calls; returns once every accepted call has been answered.
    package func drain(reason: String = "the server is shutting down") async {
        if let lastCallID = self.table.withLock({ $0.beginDrain() }) {
            var goAway = RPCV1.GoAway()
            goAway.lastCallID = lastCallID
            goAway.status = .unavailable
            goAway.message = reason
            self.send(RPCV1.Frame(kind: .goAway(goAway)))
        }
        await self.waitUntilIdle()
    }

    /// Cancels every call still running; they get no response (the connection is closing).
    package func close() {
        let (calls, waiters) = self.table.withLock { table in
            (table.close(), table.takeAllWaiters())
        }
        for call in calls {
            call.timer?.cancel()
            call.cancellation.cancel()
        }
        for waiter in waiters { waiter.resume() }
    }

    package func waitUntilIdle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let registered = self.table.withLock { $0.waitForIdle(continuation) }
            if !registered { continuation.resume() }
        }
    }

    package var callsInFlight: Int {
        self.table.withLock { $0.calls.count }
    }

    // MARK: Writing

    private func protocolViolation(_ reason: String) -> Outcome {
        self.goAway(.invalidArgument, reason)
        return .close(reason: reason)
    }

    /// Tells the client the connection is closing and why (the transport closes it): a protocol violation,
    /// an oversized frame, or the connection limit.
    package func goAway(_ code: RPCError.Code, _ reason: String) {
        self.logger.warning(
            "closing connection",
            metadata: ["peer": "\(self.peer)", "status": "\(code)", "reason": "\(reason)"]
        )
        var goAway = RPCV1.GoAway()
        goAway.lastCallID = self.table.withLock { $0.lastAcceptedCallID }
        goAway.status = code.wireStatus
        goAway.message = reason
        self.send(RPCV1.Frame(kind: .goAway(goAway)))
    }

    private func sendResponse(
        callID: UInt64,
        requestID: String,
        _ result: Result<ServerResponse, RPCError>,
        answersCall: Bool = false
    ) {
        var response = RPCV1.CallResponse()
        response.callID = callID
        switch result {
        case .success(let success):
            response.status = .ok
            response.metadata = success.metadata.wireEntries(setting: Metadata.Keys.requestID, to: requestID)
            response.payload = success.payload
        case .failure(let error):
            response.status = error.code.wireStatus
            response.message = error.message
            response.metadata = error.metadata.wireEntries(setting: Metadata.Keys.requestID, to: requestID)
        }
        // Filled only when the response cannot be sent as it is.
        var fallback = RPCV1.CallResponse()
        do {
            // Encoded on the stack and copied into the connection's outbound buffer (no array per frame).
            var oversized: Int?
            try RPCV1.Frame(kind: .response(response)).withWireBytes { bytes in
                guard bytes.count <= self.maxFrameSize else {
                    oversized = bytes.count
                    return
                }
                self.write(bytes, answersCall)
            }
            guard let oversized else { return }
            fallback.status = .resourceExhausted
            fallback.message = "the response of \(oversized) bytes exceeds the frame limit of \(self.maxFrameSize) bytes"
        } catch {
            // Only a NUL character in a handler's string can make encoding fail.
            fallback.status = .internal
            fallback.message = "the response could not be encoded"
        }
        fallback.callID = callID
        fallback.metadata = Metadata().wireEntries(setting: Metadata.Keys.requestID, to: requestID)
        self.logger.error("response not sent", metadata: ["call-id": "\(callID)", "reason": "\(fallback.message)"])
        self.send(RPCV1.Frame(kind: .response(fallback)), answersCall: answersCall)
    }

    private func send(_ frame: RPCV1.Frame, answersCall: Bool = false) {
        do {
            try frame.withWireBytes { self.write($0, answersCall) }
        } catch {
            self.logger.error("frame could not be encoded", metadata: ["error": "\(error)"])
            if answersCall { self.responsesWritten(1) }
        }
    }

    /// Request ids made here: a random per-connection prefix (28 bits) and a per-connection counter (32
    /// bits), 15 hex digits: no system call per call (unlike drawing random bits each time), and short
    /// enough for Swift's small-string form (no allocation at either end).
    private let requestIDPrefix = UInt64.random(in: 0..<(1 << 28))
    private let requestIDCounter = Atomic<UInt32>(0)

    private func makeRequestID() -> String {
        let count = self.requestIDCounter.wrappingAdd(1, ordering: .relaxed).newValue
        let value = self.requestIDPrefix << 32 | UInt64(count)
        return String(unsafeUninitializedCapacity: 15) { digits in
            for index in 0..<15 {
                let nibble = UInt8(truncatingIfNeeded: value >> (56 - 4 * index)) & 0xF
                digits[index] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
            }
            return 15
        }
    }
}

extension RPCV1.Frame {
    package init(kind: Kind) {
        self.init()
        self.kind = kind
    }
}
