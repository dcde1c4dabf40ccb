import MilestoneEchoService
import MilestoneRPC
@testable import MilestoneRPCNIO
import MilestoneTesting
import MilestoneWire
import NIOCore
import NIOEmbedded
import Testing

/// Many connections, each inside a frame just under the limit, must not add up to more than the server's
/// budget for large frames.
@Suite("The server's budget for large frames", .timeLimit(.minutes(1)))
struct LargeFrameBudgetTests {
    func decoder(_ reservation: LargeFrameReservation) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(LengthPrefixedFrameDecoder(maxFrameSize: 4 << 20, largeFrames: reservation))
        )
        return channel
    }

    func bytes(announcing length: Int, sending count: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(length))
        buffer.writeRepeatingByte(0, count: count)
        return buffer
    }

    @Test("a large frame is reserved when its length arrives and given back once decoded, or when its connection ends; one that does not fit is refused")
    func reserveAndRelease() throws {
        let budget = LargeFrameBudget(limit: 1 << 20)
        let first = LargeFrameReservation(budget)
        let firstChannel = try self.decoder(first)
        try firstChannel.writeInbound(self.bytes(announcing: 800_000, sending: 100))
        #expect(budget.bytesInUse == 800_000, "reserved in full on its length prefix")

        let second = try self.decoder(LargeFrameReservation(budget))
        let refused = #expect(throws: LargeFrameBudgetError.self) {
            try second.writeInbound(self.bytes(announcing: 300_000, sending: 0))
        }
        #expect(refused?.description.contains("1048576 bytes of large frames") == true)

        // Small frames never count.
        let small = try self.decoder(LargeFrameReservation(budget))
        try small.writeInbound(self.bytes(announcing: 10, sending: 10))
        #expect(try small.readInbound(as: ByteBuffer.self)?.readableBytes == 10)
        #expect(budget.bytesInUse == 800_000)

        // The first frame arrives whole: still held until the reader has decoded it.
        var rest = ByteBuffer()
        rest.writeRepeatingByte(0, count: 800_000 - 100)
        try firstChannel.writeInbound(rest)
        let frame = try #require(try firstChannel.readInbound(as: ByteBuffer.self))
        #expect(frame.readableBytes == 800_000)
        #expect(budget.bytesInUse == 800_000)
        first.releaseFrame(bytes: frame.readableBytes)
        #expect(budget.bytesInUse == 0)

        // A connection that ends inside a frame gives its reservation back, and reserves nothing more.
        let third = LargeFrameReservation(budget)
        try self.decoder(third).writeInbound(self.bytes(announcing: 300_000, sending: 10))
        #expect(budget.bytesInUse == 300_000)
        third.end()
        #expect(budget.bytesInUse == 0)
        #expect(!third.reserveFrame(bytes: 100_000))
        #expect(budget.bytesInUse == 0)
    }

    @Test("over TCP: a frame that does not fit gets GoAway RESOURCE_EXHAUSTED; a large call that fits is answered and leaves nothing reserved")
    func overTCP() async throws {
        let configuration = RPCServerConfiguration(authentication: .insecureNoAuthentication, maxLargeFrameBytes: 1 << 20)
        try await withTestServer(services: [EchoService()], configuration: configuration, logger: testLogger) { test throws in
            let raw = try await RawConnection.connect(to: test.endpoint)
            let frames = try await raw.use { reader, writer throws in
                // 2 MiB announced: under the 4 MiB frame limit, over the 1 MiB budget.
                try await writer.write(self.bytes(announcing: 2 << 20, sending: 100))
                return try await reader.untilClosed()
            }
            let goAway = try #require(frames.last?.goAway)
            #expect(goAway.status == .resourceExhausted)
            #expect(goAway.message.contains("large frames"), "\(goAway.message)")
            #expect(test.server.largeFrameRefusals.count == 1)

            let payload = [UInt8](repeating: 0x5A, count: 512 * 1024)
            #expect(try await test.client.unary(TestingV1.Echo.echo, echoRequest(payload: payload)).payload == payload)
            #expect(test.server.largeFrames.bytesInUse == 0, "decoded, so given back")
        }
    }
}
