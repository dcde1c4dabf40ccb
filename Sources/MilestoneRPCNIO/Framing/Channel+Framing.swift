import NIOCore
import NIOExtras

extension ChannelPipeline.SynchronousOperations {
    /// Adds the length-prefixed framing, both ways.
    func addFraming(_ decoder: LengthPrefixedFrameDecoder) throws {
        try self.addHandler(ByteToMessageHandler(decoder))
        try self.addHandler(LengthFieldPrepender(lengthFieldBitLength: .fourBytes))
    }
}

/// An accepted connection: its frames as an async channel, and the gate that tells whether its output is
/// within bounds.
struct ServerConnectionChannel: Sendable {
    let frames: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    let writability: WritabilityGate
}

extension Channel {
    /// A client's channel with framing, as an async channel of frames.
    func wrapFramed(maxFrameSize: Int) throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try self.pipeline.syncOperations.addFraming(LengthPrefixedFrameDecoder(maxFrameSize: maxFrameSize))
        return try NIOAsyncChannel(wrappingChannelSynchronously: self)
    }

    /// A server connection's channel: idle timeout, frame deadlines, framing and the writability gate.
    func wrapFramedForServer(_ configuration: RPCServerConfiguration) throws -> ServerConnectionChannel {
        let operations = self.pipeline.syncOperations
        try operations.addHandler(IdleStateHandler(readTimeout: TimeAmount(configuration.idleTimeout)))
        try operations.addHandler(CloseOnIdleHandler())
        let gate = WritabilityGate()
        try operations.addHandler(gate)
        try operations.addFraming(
            LengthPrefixedFrameDecoder(
                maxFrameSize: configuration.maxFrameSize,
                frameTimeout: configuration.frameTimeout,
                firstFrameTimeout: configuration.firstFrameTimeout
            )
        )
        return ServerConnectionChannel(frames: try NIOAsyncChannel(wrappingChannelSynchronously: self), writability: gate)
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
