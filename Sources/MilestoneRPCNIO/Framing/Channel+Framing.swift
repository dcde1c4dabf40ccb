import NIOCore
import NIOExtras

extension ChannelPipeline.SynchronousOperations {
    /// Adds the length-prefixed framing of inbound bytes (``CoalescingFrameWriter`` frames what it writes).
    func addFraming(_ decoder: LengthPrefixedFrameDecoder) throws {
        try self.addHandler(ByteToMessageHandler(decoder))
    }
}

/// An accepted connection: its channel, the frames it has read, and the gate that tells whether its
/// output is within bounds.
struct ServerConnectionChannel: Sendable {
    let channel: any Channel
    let inbox: FrameInbox
    let writability: WritabilityGate
    /// The connection's share of the server's budget for large frames: released as frames are decoded,
    /// and all of it when the connection ends.
    let largeFrames: LargeFrameReservation
}

extension Channel {
    /// A client's channel with framing; `handler` takes the frames read, on the event loop.
    func addClientFraming(maxFrameSize: Int, handler: ClientFrameHandler) throws {
        try self.pipeline.syncOperations.addFraming(LengthPrefixedFrameDecoder(maxFrameSize: maxFrameSize))
        try self.pipeline.syncOperations.addHandler(handler)
    }

    /// A server connection's channel: idle timeout, frame deadlines, framing (within the server's budget for
    /// large frames) and the writability gate.
    func wrapFramedForServer(_ configuration: RPCServerConfiguration, largeFrames budget: LargeFrameBudget) throws -> ServerConnectionChannel {
        let largeFrames = LargeFrameReservation(budget)
        let operations = self.pipeline.syncOperations
        try operations.addHandler(IdleStateHandler(readTimeout: TimeAmount(configuration.idleTimeout)))
        try operations.addHandler(CloseOnIdleHandler())
        let gate = WritabilityGate()
        try operations.addHandler(gate)
        try operations.addFraming(
            LengthPrefixedFrameDecoder(
                maxFrameSize: configuration.maxFrameSize,
                frameTimeout: configuration.frameTimeout,
                firstFrameTimeout: configuration.firstFrameTimeout,
                largeFrames: largeFrames
            )
        )
        let inbox = FrameInbox()
        try operations.addHandler(FrameInboxHandler(inbox))
        return ServerConnectionChannel(channel: self, inbox: inbox, writability: gate, largeFrames: largeFrames)
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
