import Logging
import NIOCore

/// The last inbound handler of a client connection: hands each frame to its ``ClientConnection`` on the
/// event loop, where the response settles its call (no reader task between the socket and the caller).
final class ClientFrameHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let connection: ClientConnection
    private let goingAway: @Sendable (ClientConnection) -> Void
    private let logger: Logger

    /// - Parameter goingAway: called when the server sent GoAway (no new calls on this connection).
    init(connection: ClientConnection, logger: Logger, goingAway: @escaping @Sendable (ClientConnection) -> Void) {
        self.connection = connection
        self.logger = logger
        self.goingAway = goingAway
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .goingAway = self.connection.receive(self.unwrapInboundIn(data)) {
            self.goingAway(self.connection)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.logger.debug("connection read failed; closing", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}
