import NIOCore
import Synchronization

/// Tells the reader of a connection whether the connection's unwritten output is within its bound (the
/// channel's write-buffer high-water mark), and lets it wait until it is again.
///
/// The server awaits it before handling each frame: while a peer does not read its responses, the server
/// stops reading its requests, and NIO's backpressure stops reading the socket, so the memory a
/// connection holds stays bounded whatever the peer does.
final class WritabilityGate: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let state = Mutex<(writable: Bool, closed: Bool, waiters: [CheckedContinuation<Void, Never>])>((true, false, []))

    init() {}

    /// Returns at once when the channel is writable; otherwise when it becomes writable or closes.
    func waitUntilWritable() async {
        if self.state.withLock({ $0.writable || $0.closed }) { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = self.state.withLock { state -> Bool in
                if state.writable || state.closed { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    var isWritable: Bool { self.state.withLock { $0.writable } }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.update(writable: context.channel.isWritable, closed: false)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.update(writable: false, closed: true)
        context.fireChannelInactive()
    }

    private func update(writable: Bool, closed: Bool) {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.writable = writable
            state.closed = state.closed || closed
            guard state.writable || state.closed else { return [] }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
