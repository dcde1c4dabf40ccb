import NIOCore
import Synchronization

/// Bounds the HTTP edge's connections, like the RPC server's: at most `total` at once, and at most `perPeer`
/// from one address, so that one client cannot hold every socket. A connection over a limit is closed as
/// soon as it opens.
final class ConnectionLimits: Sendable {
    let total: Int
    let perPeer: Int
    private let state = Mutex<(total: Int, byPeer: [String: Int])>((0, [:]))

    init(total: Int = 1024, perPeer: Int = 128) {
        self.total = total
        self.perPeer = perPeer
    }

    /// Counts a connection in; false (and not counted) when it is over a limit.
    func open(peer: String) -> Bool {
        self.state.withLock { state in
            let fromPeer = state.byPeer[peer, default: 0]
            guard state.total < self.total, fromPeer < self.perPeer else { return false }
            state.total += 1
            state.byPeer[peer] = fromPeer + 1
            return true
        }
    }

    func close(peer: String) {
        self.state.withLock { state in
            state.total -= 1
            let left = state.byPeer[peer, default: 1] - 1
            state.byPeer[peer] = left > 0 ? left : nil
        }
    }

    /// Connections open now.
    var count: Int { self.state.withLock { $0.total } }

    /// The handler to put in each connection's pipeline.
    func handler() -> ConnectionLimiter {
        ConnectionLimiter(limits: self)
    }
}

/// Counts its connection against ``ConnectionLimits``; passes everything through.
final class ConnectionLimiter: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny

    private let limits: ConnectionLimits
    private var peer: String?

    init(limits: ConnectionLimits) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.admit(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.admit(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let peer = self.peer {
            self.limits.close(peer: peer)
            self.peer = nil
        }
        context.fireChannelInactive()
    }

    private func admit(context: ChannelHandlerContext) {
        guard self.peer == nil else { return }
        let peer = context.channel.remoteAddress?.ipAddress ?? "unknown"
        if self.limits.open(peer: peer) {
            self.peer = peer
        } else {
            context.close(promise: nil)
        }
    }
}
