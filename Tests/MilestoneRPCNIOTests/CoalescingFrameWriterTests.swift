@testable import MilestoneRPCNIO
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@Suite("A connection's frame writer", .timeLimit(.minutes(1)))
struct CoalescingFrameWriterTests {
    private func connectedChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7400)).wait()
        return channel
    }

    /// The frames of one written buffer: each behind its 4-byte length.
    private func frames(in buffer: ByteBuffer?) -> [[UInt8]] {
        guard var buffer else { return [] }
        var frames: [[UInt8]] = []
        while let length = buffer.readInteger(as: UInt32.self), let bytes = buffer.readBytes(length: Int(length)) {
            frames.append(bytes)
        }
        return frames
    }

    @Test("frames written in one tick leave together, each behind its length, once the tick ends")
    func tick() throws {
        let channel = try self.connectedChannel()
        let writer = CoalescingFrameWriter(channel: channel)
        writer.write([1, 2])
        writer.write([3])
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        channel.embeddedEventLoop.run()
        #expect(self.frames(in: try channel.readOutbound(as: ByteBuffer.self)) == [[1, 2], [3]])
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
    }

    @Test("a read's responses leave in parts of a quarter of the batch, the rest at its end")
    func batch() throws {
        let channel = try self.connectedChannel()
        let writer = CoalescingFrameWriter(channel: channel)
        writer.beginBatch(frames: 64)
        for index in 0..<20 { writer.write([UInt8(index)]) }
        // The first 16 went out as soon as they were there; the other 4 wait for the next part or the end.
        #expect(self.frames(in: try channel.readOutbound(as: ByteBuffer.self)) == (0..<16).map { [UInt8($0)] })
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        writer.endBatch()
        #expect(self.frames(in: try channel.readOutbound(as: ByteBuffer.self)) == (16..<20).map { [UInt8($0)] })
        // A small batch: parts of two frames.
        writer.beginBatch(frames: 3)
        writer.write([1])
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        writer.write([2])
        #expect(self.frames(in: try channel.readOutbound(as: ByteBuffer.self)) == [[1], [2]])
        writer.write([3])
        writer.endBatch()
        #expect(self.frames(in: try channel.readOutbound(as: ByteBuffer.self)) == [[3]])
        // Nothing is left for the tick's end.
        channel.embeddedEventLoop.run()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
    }

    @Test("64 KiB of responses go out without waiting for the batch's end")
    func batchBytes() throws {
        let channel = try self.connectedChannel()
        let writer = CoalescingFrameWriter(channel: channel)
        writer.beginBatch(frames: 64)
        writer.write([UInt8](repeating: 7, count: 40_000))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        writer.write([UInt8](repeating: 8, count: 30_000))
        #expect(self.frames(in: try channel.readOutbound(as: ByteBuffer.self)).map(\.count) == [40_000, 30_000])
        writer.endBatch()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
    }

    @Test("the buffer kept between flushes is never written into while the channel still holds it")
    func reusedBuffer() throws {
        let channel = try self.connectedChannel()
        let writer = CoalescingFrameWriter(channel: channel)
        writer.write([1, 2])
        channel.embeddedEventLoop.run()
        // The channel still holds the first buffer (nothing read it yet): the next frames go elsewhere.
        writer.write([3])
        channel.embeddedEventLoop.run()
        writer.write([4, 5, 6])
        channel.embeddedEventLoop.run()
        #expect(self.frames(in: try channel.readOutbound(as: ByteBuffer.self)) == [[1, 2]])
        #expect(self.frames(in: try channel.readOutbound(as: ByteBuffer.self)) == [[3]])
        #expect(self.frames(in: try channel.readOutbound(as: ByteBuffer.self)) == [[4, 5, 6]])
    }

    @Test("tracked frames are reported once written, counted per flush; untracked ones are not")
    func trackedFrames() throws {
        let channel = try self.connectedChannel()
        let writer = CoalescingFrameWriter(channel: channel)
        let reported = Reports()
        writer.onTrackedWritten { count in reported.add(count) }
        writer.write([1], tracked: true)
        writer.write([2])
        writer.write([3], tracked: true)
        #expect(reported.all == [])
        channel.embeddedEventLoop.run()
        #expect(reported.all == [2])
        writer.write([4])
        channel.embeddedEventLoop.run()
        #expect(reported.all == [2])
        // A write that fails (the connection closed) still reports its tracked frames.
        writer.write([5], tracked: true)
        try channel.close().wait()
        channel.embeddedEventLoop.run()
        #expect(reported.all == [2, 1])
    }
}

/// What a writer reported, from the loop's thread.
private final class Reports: Sendable {
    private let counts = Mutex<[Int]>([])

    func add(_ count: Int) {
        self.counts.withLock { $0.append(count) }
    }

    var all: [Int] { self.counts.withLock { $0 } }
}
