import Logging
@testable import MilestoneRPC
import MilestoneWire
import Synchronization
import MilestoneTesting
import Testing

/// Timers fired by hand.
final class ManualTimerScheduler: CallTimerScheduler {
    final class Timer: CallTimer {
        let delay: Duration
        let body: @Sendable () -> Void
        let cancelled = Mutex(false)
        init(delay: Duration, body: @escaping @Sendable () -> Void) {
            self.delay = delay
            self.body = body
        }
        func cancel() { self.cancelled.withLock { $0 = true } }
        func fire() { if !self.cancelled.withLock({ $0 }) { self.body() } }
    }

    let timers = Mutex<[Timer]>([])
    /// Fire each timer as soon as it is scheduled (a deadline that has already passed).
    let fireImmediately: Bool

    init(fireImmediately: Bool = false) {
        self.fireImmediately = fireImmediately
    }

    func schedule(after delay: Duration, _ body: @escaping @Sendable () -> Void) -> any CallTimer {
        let timer = Timer(delay: delay, body: body)
        self.timers.withLock { $0.append(timer) }
        if self.fireImmediately { timer.fire() }
        return timer
    }

    func fireAll() {
        for timer in self.timers.withLock({ $0 }) { timer.fire() }
    }
}

/// An error whose description holds a secret: it must never reach a response.
struct LeakyError: Error, CustomStringConvertible {
    var description: String { "password=hunter2" }
}

/// Collects the frames a dispatcher writes; tests await what they expect (no polling).
final class FrameSink: Sendable {
    private typealias Condition = @Sendable ([RPCV1.Frame]) -> Bool

    private struct State {
        var frames: [RPCV1.Frame] = []
        var waiters: [(condition: Condition, continuation: CheckedContinuation<Void, Never>)] = []
        /// Responses not reported written yet: the "socket" has not taken these bytes.
        var unwritten = 0
        var responsesWritten: (@Sendable (Int) -> Void)?
    }

    private let state = Mutex(State())
    /// When true, written responses stay "unwritten" (not reported to the dispatcher) until
    /// ``completeWrites()``.
    let holdsWrites: Bool

    init(holdsWrites: Bool = false) {
        self.holdsWrites = holdsWrites
    }

    /// Reports written responses to `dispatcher`, as the transport does.
    func reportWrites(to dispatcher: ServerConnectionDispatcher) {
        self.state.withLock { $0.responsesWritten = { [weak dispatcher] in dispatcher?.responsesWritten($0) } }
    }

    /// Completes every held write, as a peer that finally reads.
    func completeWrites() {
        let (count, report) = self.state.withLock { state in
            defer { state.unwritten = 0 }
            return (state.unwritten, state.responsesWritten)
        }
        if count > 0 { report?(count) }
    }

    func write(_ bytes: UnsafeRawBufferPointer, _ answersCall: Bool) {
        let frame = try! RPCV1.Frame(wireBytes: bytes)
        if answersCall {
            let report = self.state.withLock { state -> (@Sendable (Int) -> Void)? in
                if self.holdsWrites {
                    state.unwritten += 1
                    return nil
                }
                return state.responsesWritten
            }
            report?(1)
        }
        let ready = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.frames.append(frame)
            let frames = state.frames
            let ready = state.waiters.filter { $0.condition(frames) }.map(\.continuation)
            state.waiters.removeAll { $0.condition(frames) }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    var all: [RPCV1.Frame] { self.state.withLock { $0.frames } }

    var responses: [RPCV1.CallResponse] {
        self.all.compactMap { if case .response(let response) = $0.kind { response } else { nil } }
    }

    /// Returns once the frames written satisfy `condition` (the suite's time limit bounds the wait).
    func wait(until condition: @escaping @Sendable ([RPCV1.Frame]) -> Bool) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = self.state.withLock { state -> Bool in
                if condition(state.frames) { return true }
                state.waiters.append((condition, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Returns once at least `count` responses were written.
    func waitForResponses(_ count: Int) async -> [RPCV1.CallResponse] {
        await self.wait { frames in frames.filter(\.isResponse).count >= count }
        return self.responses
    }
}

extension RPCV1.Frame {
    var isResponse: Bool {
        if case .response = self.kind { true } else { false }
    }
}

/// Runs `dispatcher` (its structured serve loop) for the duration of `body`, which sends frames with the
/// function it is given; returns once the connection is closed and every call's task has ended.
func withDispatcher(
    _ dispatcher: ServerConnectionDispatcher,
    _ body: (_ send: (RPCV1.Frame) -> ServerConnectionDispatcher.Outcome) async throws -> Void
) async throws {
    var failure: (any Error)?
    await dispatcher.serve { receive in
        await withoutActuallyEscaping(receive) { receive in
            do {
                try await body { frame in receive(.init(.success(frame), byteCount: 0)) }
            } catch {
                failure = error
            }
        }
    }
    if let failure { throw failure }
}

func requestFrame(
    id: UInt64,
    method: String,
    payload: [UInt8] = [],
    metadata: [(String, String)] = [],
    timeoutMicros: UInt64 = 0
) -> RPCV1.Frame {
    var request = RPCV1.CallRequest()
    request.callID = id
    request.method = method
    request.payload = payload
    request.timeoutMicros = timeoutMicros
    request.metadata = metadata.map { key, value in RPCV1.MetadataEntry(key: key, value: value) }
    return RPCV1.Frame(kind: .request(request))
}

let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
