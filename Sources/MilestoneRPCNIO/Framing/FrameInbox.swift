import MilestoneRPC
import MilestoneWire
import NIOCore
import Synchronization

/// The frames a server connection has read and its reader task has not taken yet.
///
/// It replaces `NIOAsyncChannel`'s inbound stream on the hot path: the pipeline appends frames on the event
/// loop, and the reader takes everything read so far in one batch, so a read of many frames costs one wake
/// of the reader and no per-frame async machinery. Bounded: once `maxFrames` frames or `maxBytes` bytes
/// wait, the connection stops reading its socket (the `read` outbound event is held) until the reader
/// takes them; what waits is then at most those bounds plus one socket read.
///
/// While the reader waits with nothing queued, a request with an immediate answer is answered in the
/// pipeline as it is read (``ReadingThreadAnswerer``) and never reaches the inbox; the first frame the
/// pipeline cannot answer is queued decoded (`handled`), and every frame read after it behind it.
final class FrameInbox: Sendable {
    private struct State {
        var frames: [ByteBuffer] = []
        /// Frames the loop took in hand while the reader waited and left to it: decoded there, or calls
        /// accepted there whose handlers need a task. They come before `frames` (once one waits, the loop
        /// takes no more in hand, so every frame read later goes to `frames`).
        var handled: [ServerConnectionDispatcher.InboundFrame] = []
        var bytes = 0
        var finished = false
        var error: (any Error)?
        /// Unchecked: it is taken out (set to nil) under the lock by whoever resumes it, so it is resumed
        /// once; a checked continuation costs an allocation per wait.
        var waiter: UnsafeContinuation<Void, Never>?
        /// The pipeline asked to read the socket while the inbox was full.
        var readHeld = false
    }

    private let state = Mutex(State())
    /// Answers requests on the loop while the reader is idle (set once the connection's dispatcher exists).
    fileprivate let answerer = Mutex<ReadingThreadAnswerer?>(nil)
    private let maxFrames: Int
    private let maxBytes: Int

    /// - Parameters:
    ///   - maxFrames: frames waiting at which the connection stops reading its socket.
    ///   - maxBytes: bytes of frames waiting at which it stops too.
    init(maxFrames: Int = 64, maxBytes: Int = 1 << 20) {
        self.maxFrames = maxFrames
        self.maxBytes = maxBytes
    }

    /// Waits for frames and moves all of them into `batch` (emptied first); returns false once the
    /// connection has ended and every frame was taken.
    ///
    /// - Throws: the error that ended the connection's input (an oversized frame, a frame deadline), after
    ///   the frames read before it.
    func take(into batch: inout [ByteBuffer], channel: any Channel) async throws -> Bool {
        var handled: [ServerConnectionDispatcher.InboundFrame] = []
        return try await self.take(into: &batch, handled: &handled, channel: channel)
    }

    /// Waits for frames and moves all of them into `handled` (frames the loop decoded or accepted, which
    /// come first) and `batch` (emptied first); returns false once the connection has ended and everything
    /// was taken.
    func take(
        into batch: inout [ByteBuffer],
        handled: inout [ServerConnectionDispatcher.InboundFrame],
        channel: any Channel
    ) async throws -> Bool {
        batch.removeAll(keepingCapacity: true)
        handled.removeAll(keepingCapacity: true)
        while true {
            enum Action { case batch(resumeReading: Bool), end((any Error)?), wait }
            let action = self.state.withLock { state -> Action in
                if !state.frames.isEmpty || !state.handled.isEmpty {
                    swap(&state.frames, &batch)
                    swap(&state.handled, &handled)
                    state.bytes = 0
                    defer { state.readHeld = false }
                    return .batch(resumeReading: state.readHeld)
                }
                if state.finished { return .end(state.error) }
                return .wait
            }
            switch action {
            case .batch(let resumeReading):
                if resumeReading { channel.read() }
                return true
            case .end(let error):
                if let error { throw error }
                return false
            case .wait:
                await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                    let ready = self.state.withLock { state -> Bool in
                        if !state.frames.isEmpty || !state.handled.isEmpty || state.finished { return true }
                        state.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            }
        }
    }

    /// From now on, requests with an immediate answer are answered on the loop as they are read, whenever
    /// the reader waits with nothing queued (``ReadingThreadAnswerer``); nil stops it.
    func answerOnLoop(with answerer: ReadingThreadAnswerer?) {
        self.answerer.withLock { $0 = answerer }
    }

    // MARK: From the pipeline (on the event loop)

    /// The answerer, when the frame read now may be handled on the loop: the reader waits for frames and
    /// none are queued, so every frame read before has been handled (the reader runs on this loop too).
    fileprivate func answererIfIdle() -> ReadingThreadAnswerer? {
        let idle = self.state.withLock { state in
            state.frames.isEmpty && state.handled.isEmpty && state.waiter != nil && !state.finished
        }
        return idle ? self.answerer.withLock { $0 } : nil
    }

    fileprivate func append(handled frame: ServerConnectionDispatcher.InboundFrame) {
        self.state.withLock { state in
            state.handled.append(frame)
            state.bytes += frame.byteCount
        }
    }

    fileprivate func append(_ frame: ByteBuffer) {
        self.state.withLock { state in
            state.frames.append(frame)
            state.bytes += frame.readableBytes
        }
    }

    /// Wakes the reader when frames wait.
    fileprivate func deliver() {
        self.state.withLock { state -> UnsafeContinuation<Void, Never>? in
            guard !state.frames.isEmpty || !state.handled.isEmpty else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }?.resume()
    }

    fileprivate func finish(_ error: (any Error)?) {
        self.state.withLock { state -> UnsafeContinuation<Void, Never>? in
            if !state.finished {
                state.finished = true
                state.error = error
            }
            defer { state.waiter = nil }
            return state.waiter
        }?.resume()
    }

    /// Whether the socket may be read now; if not, the read is held until the reader takes the frames.
    fileprivate func mayRead() -> Bool {
        self.state.withLock { state in
            if state.frames.count < self.maxFrames && state.bytes < self.maxBytes { return true }
            state.readHeld = true
            return false
        }
    }
}

/// The pipeline's end of a ``FrameInbox``: the last inbound handler of a server connection.
final class FrameInboxHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let inbox: FrameInbox
    /// A request answered on the loop broke the protocol: nothing read after it is handled.
    private var refusing = false

    init(_ inbox: FrameInbox) {
        self.inbox = inbox
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        guard !self.refusing else { return }
        if let answerer = self.inbox.answererIfIdle() {
            switch answerer.answer(frame) {
            case .answered:
                return
            case .answeredClosing:
                // The GoAway leaves first, then the reader ends and the server closes the connection.
                self.refusing = true
                answerer.readComplete()
                self.inbox.finish(nil)
                return
            case .needsTask(let call):
                self.inbox.append(handled: .init(accepted: call))
                return
            case .forReader(let decoded):
                self.inbox.append(handled: decoded)
                return
            case .notHandled:
                break
            }
        }
        self.inbox.append(frame)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.inbox.answerer.withLock { $0 }?.readComplete()
        self.inbox.deliver()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.inbox.finish(nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.inbox.finish(error)
    }

    func read(context: ChannelHandlerContext) {
        if self.inbox.mayRead() {
            context.read()
        }
    }
}

/// Answers a server connection's requests on its event loop as they are read, while its reader task waits
/// with nothing queued: a request whose method has an immediate answer then costs no wake of the reader
/// task and no hop. Set by the server once the connection's dispatcher exists (``FrameInbox/answerOnLoop(with:)``).
final class ReadingThreadAnswerer: Sendable {
    enum Result {
        /// Answered, or refused with a response.
        case answered
        /// Refused with GoAway: close the connection.
        case answeredClosing
        /// Accepted; the reader starts its task.
        case needsTask(ServerConnectionDispatcher.AcceptedCall)
        /// Decoded (or found malformed) here, not answered: the reader receives it as it is.
        case forReader(ServerConnectionDispatcher.InboundFrame)
        /// Not looked at: the reader decodes and receives it.
        case notHandled
    }

    /// Frames up to this size are tried on the loop (immediate answers are for small requests; a larger
    /// frame is decoded once, by the reader, which also releases its share of the large-frame budget).
    static let maxFrameBytes = LargeFrameBudget.threshold

    private let dispatcher: ServerConnectionDispatcher
    private let connection: ServerConnectionChannel
    private let writer: CoalescingFrameWriter
    /// Between the first answer of a read and the read's end, responses leave in parts (the writer's
    /// batch), so that the client starts on the first ones while the rest are answered. Loop-bound.
    private let batchOpen = Atomic<Bool>(false)

    init(dispatcher: ServerConnectionDispatcher, connection: ServerConnectionChannel, writer: CoalescingFrameWriter) {
        self.dispatcher = dispatcher
        self.connection = connection
        self.writer = writer
    }

    /// Called on the loop for one frame read.
    func answer(_ buffer: ByteBuffer) -> Result {
        // A peer that does not read its responses: the reader pauses reading (RPCServer.readFrames).
        guard buffer.readableBytes <= Self.maxFrameBytes, self.connection.writability.isWritable else { return .notHandled }
        let frame: RPCV1.Frame
        do {
            frame = try buffer.withUnsafeReadableBytes { try RPCV1.Frame(wireBytes: $0) }
        } catch {
            // The reader tells the peer what is wrong.
            return .forReader(.init(.failure(error), byteCount: buffer.readableBytes))
        }
        if !self.batchOpen.load(ordering: .relaxed) {
            self.batchOpen.store(true, ordering: .relaxed)
            self.writer.beginBatch(frames: 32)
        }
        switch self.dispatcher.receiveOnReadingThread(frame) {
        case .notHandled:
            return .forReader(.init(.success(frame), byteCount: buffer.readableBytes))
        case .handled(.keepOpen):
            return .answered
        case .handled(.close):
            return .answeredClosing
        case .needsTask(let call):
            return .needsTask(call)
        }
    }

    /// The read ended: what its answers gathered goes out.
    func readComplete() {
        if self.batchOpen.load(ordering: .relaxed) {
            self.batchOpen.store(false, ordering: .relaxed)
            self.writer.endBatch()
        }
    }
}
