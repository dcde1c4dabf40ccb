import NIOCore
import NIOExtras

extension ChannelPipeline.SynchronousOperations {
    /// Adds the length-prefixed framing, both ways, and wraps the channel for async use.
    func addFraming(maxFrameSize: Int) throws {
        try self.addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder(maxFrameSize: maxFrameSize)))
        try self.addHandler(LengthFieldPrepender(lengthFieldBitLength: .fourBytes))
    }
}

extension Channel {
    /// A channel with framing, as an async channel of frames.
    func wrapFramed(
        maxFrameSize: Int,
        idleTimeout: Duration? = nil
    ) throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        if let idleTimeout {
            try self.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: TimeAmount(idleTimeout)))
            try self.pipeline.syncOperations.addHandler(CloseOnIdleHandler())
        }
        try self.pipeline.syncOperations.addFraming(maxFrameSize: maxFrameSize)
        return try NIOAsyncChannel(wrappingChannelSynchronously: self)
    }
}

/// Closes the connection when `IdleStateHandler` reports no inbound bytes for its timeout.
final class CloseOnIdleHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let (nanos, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        self = .nanoseconds(overflow ? .max : nanos &+ attoseconds / 1_000_000_000)
    }
}
