import NIOCore
import NIOExtras
import NIOPosix

/// The reference: length-prefixed frames echoed by plain NIO handlers, with no envelope, no protobuf,
/// no async bridging. Our RPC's figures are quoted as a ratio of this one's.
enum BareEcho {
    final class ServerHandler: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.write(data, promise: nil)
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            context.flush()
        }
    }

    /// Correlates responses with requests by order (the echo answers in order).
    final class ClientHandler: ChannelDuplexHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundIn = (ByteBuffer, EventLoopPromise<ByteBuffer>)
        typealias OutboundOut = ByteBuffer

        private var pending = CircularBuffer<EventLoopPromise<ByteBuffer>>()

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            let (buffer, response) = self.unwrapOutboundIn(data)
            self.pending.append(response)
            context.write(self.wrapOutboundOut(buffer), promise: promise)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            self.pending.removeFirst().succeed(self.unwrapInboundIn(data))
        }
    }

    static func startServer(group: any EventLoopGroup) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try addFraming(channel, then: ServerHandler()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    static func connect(to port: Int, group: any EventLoopGroup) async throws -> any Channel {
        try await ClientBootstrap(group: group)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try addFraming(channel, then: ClientHandler()) }
            }
            .connect(host: "127.0.0.1", port: port).get()
    }

    /// NIO's own 4-byte length framing, then `handler`.
    private static func addFraming(_ channel: any Channel, then handler: some ChannelHandler) throws {
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LengthFieldBasedFrameDecoder(lengthFieldBitLength: .fourBytes)))
        try channel.pipeline.syncOperations.addHandler(LengthFieldPrepender(lengthFieldBitLength: .fourBytes))
        try channel.pipeline.syncOperations.addHandler(handler)
    }

    static func call(_ channel: any Channel, _ payload: ByteBuffer) async throws -> ByteBuffer {
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        channel.writeAndFlush((payload, promise), promise: nil)
        return try await promise.futureResult.get()
    }
}
