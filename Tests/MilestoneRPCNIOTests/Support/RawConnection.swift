import MilestoneRPC
import MilestoneWire
import NIOCore
import NIOPosix
import Testing

/// A TCP connection that sends raw bytes and reads length-prefixed frames: to test what the server does
/// with input our client would never send.
struct RawConnection {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>

    /// - Parameter receiveBuffer: a small socket receive buffer (SO_RCVBUF), for a peer that reads slowly.
    static func connect(to endpoint: Endpoint, receiveBuffer: Int? = nil) async throws -> RawConnection {
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        if let receiveBuffer {
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBuffer))
        }
        let channel = try await bootstrap
            .connect(host: endpoint.host, port: endpoint.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return RawConnection(channel: channel)
    }

    /// Runs `body` with the connection's reader and writer; closes it afterwards.
    func use<R: Sendable>(
        _ body: (inout FrameReader, NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws -> R
    ) async throws -> R {
        try await self.channel.executeThenClose { inbound, outbound in
            var reader = FrameReader(iterator: inbound.makeAsyncIterator())
            return try await body(&reader, outbound)
        }
    }
}

/// Reads frames from raw bytes, as a client in another language would.
struct FrameReader {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    var buffer = ByteBuffer()

    /// The next frame, or nil when the server closed the connection.
    mutating func next() async throws -> RPCV1.Frame? {
        while true {
            if let length = self.buffer.getInteger(at: self.buffer.readerIndex, as: UInt32.self),
                self.buffer.readableBytes >= 4 + Int(length)
            {
                self.buffer.moveReaderIndex(forwardBy: 4)
                let bytes = self.buffer.readBytes(length: Int(length))!
                return try RPCV1.Frame(wireBytes: bytes)
            }
            guard var more = try await self.iterator.next() else { return nil }
            self.buffer.writeBuffer(&more)
        }
    }

    /// Reads until the server closes the connection; returns the frames it sent meanwhile.
    mutating func untilClosed() async throws -> [RPCV1.Frame] {
        var frames: [RPCV1.Frame] = []
        do {
            while let frame = try await self.next() { frames.append(frame) }
        } catch is ChannelError {
            // closed under us: closed too
        } catch is IOError {
            // reset by peer (the server closed with our bytes unread): closed too
        }
        return frames
    }
}

extension RPCV1.Frame {
    /// The frame with its 4-byte big-endian length prefix.
    func framedBytes() throws -> [UInt8] {
        let body = try self.wireBytes()
        return withUnsafeBytes(of: UInt32(body.count).bigEndian, Array.init) + body
    }

    var response: RPCV1.CallResponse? {
        if case .response(let response) = self.kind { response } else { nil }
    }

    var goAway: RPCV1.GoAway? {
        if case .goAway(let goAway) = self.kind { goAway } else { nil }
    }
}

func echoRequestFrame(id: UInt64, text: String = "", method: String = TestingV1.Echo.echo.name) throws -> RPCV1.Frame {
    var echo = TestingV1.EchoRequest()
    echo.text = text
    var request = RPCV1.CallRequest()
    request.callID = id
    request.method = method
    request.payload = try echo.wireBytes()
    var frame = RPCV1.Frame()
    frame.kind = .request(request)
    return frame
}

/// A TCP server that accepts connections and never answers: for client-side deadlines and keepalive.
final class SilentServer: Sendable {
    let channel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>

    init() async throws {
        self.channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }

    var endpoint: Endpoint {
        Endpoint(host: "127.0.0.1", port: self.channel.channel.localAddress!.port!)
    }

    /// Accepts and reads (discarding) until the task is cancelled.
    func run() async throws {
        try await self.channel.executeThenClose { inbound in
            try await withThrowingDiscardingTaskGroup { group in
                for try await connection in inbound {
                    group.addTask {
                        try? await connection.executeThenClose { inbound, _ in
                            for try await _ in inbound {}
                        }
                    }
                }
            }
        }
    }
}
