@testable import MilestoneRPCNIO
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@Suite("A connection's frame inbox", .timeLimit(.minutes(1)))
struct FrameInboxTests {
    /// Counts the socket reads the pipeline asks for (it sits between the inbox and the socket).
    final class ReadCounter: ChannelOutboundHandler, Sendable {
        typealias OutboundIn = ByteBuffer
        let reads = Atomic<Int>(0)

        func read(context: ChannelHandlerContext) {
            self.reads.add(1, ordering: .relaxed)
            context.read()
        }
    }

    @Test("past 64 waiting frames or 1 MiB the socket is not read until the reader takes them")
    func bounded() async throws {
        let channel = EmbeddedChannel()
        let counter = ReadCounter()
        let inbox = FrameInbox()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(FrameInboxHandler(inbox))
        var batch: [ByteBuffer] = []

        // 63 small frames: reading goes on.
        for _ in 0..<63 { try channel.writeInbound(ByteBuffer(bytes: [1, 2, 3])) }
        channel.read()
        #expect(counter.reads.load(ordering: .relaxed) == 1)
        // The 64th: the next read is held.
        try channel.writeInbound(ByteBuffer(bytes: [4]))
        channel.read()
        #expect(counter.reads.load(ordering: .relaxed) == 1)
        // The reader takes all 64 in one batch, which lets the held read through.
        #expect(try await inbox.take(into: &batch, channel: channel))
        #expect(batch.count == 64)
        #expect(counter.reads.load(ordering: .relaxed) == 2)

        // One frame of 1 MiB holds reading too.
        try channel.writeInbound(ByteBuffer(repeating: 0, count: 1 << 20))
        channel.read()
        #expect(counter.reads.load(ordering: .relaxed) == 2)
        #expect(try await inbox.take(into: &batch, channel: channel))
        #expect(batch.count == 1)
        #expect(counter.reads.load(ordering: .relaxed) == 3)

        // The connection's end: frames read before it first, then the end.
        try channel.writeInbound(ByteBuffer(bytes: [5]))
        _ = try channel.finish()
        #expect(try await inbox.take(into: &batch, channel: channel))
        #expect(batch.map(\.readableBytes) == [1])
        #expect(try await !inbox.take(into: &batch, channel: channel))
    }
}
