import NIOCore
import NIOExtras

/// Splits the inbound byte stream into frames: a 4-byte big-endian length, then that many bytes.
///
/// The slicing is swift-nio-extras' `LengthFieldBasedFrameDecoder`; this adds what a server needs against
/// hostile peers:
/// - the maximum frame size (which that decoder lacks), checked as soon as a length prefix arrives, so an
///   oversized frame is refused before its bytes are buffered;
/// - a deadline for each frame to arrive whole once its first byte is read (a peer trickling a byte every
///   so often cannot hold a connection open forever);
/// - a deadline for the first complete frame after the connection opens;
/// - on a server, the server-wide budget for large frames (``LargeFrameBudget``): a large frame is reserved
///   as soon as its length prefix arrives, and refused when the budget cannot take it.
/// A deadline that passes closes the connection with ``FrameDeadlineError``.
final class LengthPrefixedFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    private let maxFrameSize: Int
    private let frameTimeout: Duration?
    private let firstFrameTimeout: Duration?
    private let lengthFieldDecoder = LengthFieldBasedFrameDecoder(lengthFieldBitLength: .fourBytes)
    private var deadline: Scheduled<Void>?
    private var sawFirstFrame = false
    private let largeFrames: LargeFrameReservation?
    /// The frame whose bytes are arriving has its reservation.
    private var currentFrameReserved = false

    /// - Parameters:
    ///   - frameTimeout: how long a frame may take to arrive whole once its first byte is read (nil: no limit).
    ///   - firstFrameTimeout: how long after the decoder is added the first whole frame must arrive (nil: no limit).
    init(
        maxFrameSize: Int,
        frameTimeout: Duration? = nil,
        firstFrameTimeout: Duration? = nil,
        largeFrames: LargeFrameReservation? = nil
    ) {
        self.maxFrameSize = maxFrameSize
        self.frameTimeout = frameTimeout
        self.firstFrameTimeout = firstFrameTimeout
        self.largeFrames = largeFrames
    }

    func decoderAdded(context: ChannelHandlerContext) {
        if let firstFrameTimeout = self.firstFrameTimeout {
            self.arm(context: context, after: firstFrameTimeout, reason: .noFirstFrame(firstFrameTimeout))
        }
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else {
            self.armFrameDeadlineIfIdle(context: context, buffered: buffer.readableBytes)
            return .needMoreData
        }
        guard Int(length) <= self.maxFrameSize else {
            throw FrameTooLargeError(length: Int(length), limit: self.maxFrameSize)
        }
        if let largeFrames = self.largeFrames, !self.currentFrameReserved {
            guard largeFrames.reserveFrame(bytes: Int(length)) else {
                throw LargeFrameBudgetError(length: Int(length), limit: largeFrames.limit)
            }
            self.currentFrameReserved = true
        }
        // Hand the decoder whole frames only, so it always starts at a length prefix.
        guard buffer.readableBytes >= 4 + Int(length) else {
            self.armFrameDeadlineIfIdle(context: context, buffered: buffer.readableBytes)
            return .needMoreData
        }
        let state = try self.lengthFieldDecoder.decode(context: context, buffer: &buffer)
        // Its reservation now goes with the frame, until the reader has decoded it.
        self.currentFrameReserved = false
        // A whole frame arrived: whatever deadline was running is met.
        self.sawFirstFrame = true
        self.deadline?.cancel()
        self.deadline = nil
        return state
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try self.decode(context: context, buffer: &buffer) == .continue {}
        self.deadline?.cancel()
        self.deadline = nil
        if buffer.readableBytes > 0 {
            throw TruncatedFrameError(bytes: buffer.readableBytes)
        }
        return .needMoreData
    }

    func decoderRemoved(context: ChannelHandlerContext) {
        self.deadline?.cancel()
        self.deadline = nil
    }

    /// Starts the frame deadline when the first bytes of a frame are buffered (the first-frame deadline,
    /// while it runs, covers the first frame).
    private func armFrameDeadlineIfIdle(context: ChannelHandlerContext, buffered: Int) {
        guard buffered > 0, self.deadline == nil, let frameTimeout = self.frameTimeout else { return }
        self.arm(context: context, after: frameTimeout, reason: .frameIncomplete(frameTimeout))
    }

    private func arm(context: ChannelHandlerContext, after timeout: Duration, reason: FrameDeadlineError) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        self.deadline = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            loopBound.value.fireErrorCaught(reason)
            loopBound.value.close(promise: nil)
        }
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

/// A frame did not arrive in time; the connection is closed.
enum FrameDeadlineError: Error, CustomStringConvertible {
    case frameIncomplete(Duration)
    case noFirstFrame(Duration)

    var description: String {
        switch self {
        case .frameIncomplete(let timeout): "a frame did not arrive whole within \(timeout) of its first byte"
        case .noFirstFrame(let timeout): "no complete frame within \(timeout) of connecting"
        }
    }
}
