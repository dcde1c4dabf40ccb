import NIOCore
import NIOExtras

/// Splits the inbound byte stream into frames: a 4-byte big-endian length, then that many bytes.
///
/// The slicing is swift-nio-extras' `LengthFieldBasedFrameDecoder`; this adds the maximum frame size
/// (which that decoder lacks), checked as soon as a length prefix arrives, so an oversized frame is
/// refused before its bytes are buffered.
final class LengthPrefixedFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    private let maxFrameSize: Int
    private let lengthFieldDecoder = LengthFieldBasedFrameDecoder(lengthFieldBitLength: .fourBytes)

    init(maxFrameSize: Int) {
        self.maxFrameSize = maxFrameSize
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else {
            return .needMoreData
        }
        guard Int(length) <= self.maxFrameSize else {
            throw FrameTooLargeError(length: Int(length), limit: self.maxFrameSize)
        }
        // Hand the decoder whole frames only, so it always starts at a length prefix.
        guard buffer.readableBytes >= 4 + Int(length) else {
            return .needMoreData
        }
        return try self.lengthFieldDecoder.decode(context: context, buffer: &buffer)
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try self.decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0 {
            throw TruncatedFrameError(bytes: buffer.readableBytes)
        }
        return .needMoreData
    }
}

/// A length prefix announced a frame above the limit.
struct FrameTooLargeError: Error, CustomStringConvertible {
    let length: Int
    let limit: Int

    var description: String {
        "frame of \(self.length) bytes exceeds the limit of \(self.limit) bytes"
    }
}

/// The connection ended inside a frame.
struct TruncatedFrameError: Error, CustomStringConvertible {
    let bytes: Int

    var description: String {
        "connection closed inside a frame (\(self.bytes) bytes left over)"
    }
}
