import NIOCore
import Synchronization

/// The frames a server connection has read and its reader task has not taken yet.
///
/// It replaces `NIOAsyncChannel`'s inbound stream on the hot path: the pipeline appends frames on the event
/// loop, and the reader takes everything read so far in one batch, so a read of many frames costs one wake
/// of the reader and no per-frame async machinery. Bounded: once `maxFrames` frames or `maxBytes` bytes
/// wait, the connection stops reading its socket (the `read` outbound event is held) until the reader
/// takes them; what waits is then at most those bounds plus one socket read.
final class FrameInbox: Sendable {
    private struct State {
        var frames: [ByteBuffer] = []
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
        batch.removeAll(keepingCapacity: true)
        while true {
            enum Action { case batch(resumeReading: Bool), end((any Error)?), wait }
            let action = self.state.withLock { state -> Action in
                if !state.frames.isEmpty {
                    swap(&state.frames, &batch)
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
                        if !state.frames.isEmpty || state.finished { return true }
                        state.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            }
        }
    }

    // MARK: From the pipeline (on the event loop)

    fileprivate func append(_ frame: ByteBuffer) {
        self.state.withLock { state in
            state.frames.append(frame)
            state.bytes += frame.readableBytes
        }
    }

    /// Wakes the reader when frames wait.
    fileprivate func deliver() {
        self.state.withLock { state -> UnsafeContinuation<Void, Never>? in
            guard !state.frames.isEmpty else { return nil }
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

    init(_ inbox: FrameInbox) {
        self.inbox = inbox
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.inbox.append(self.unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
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
