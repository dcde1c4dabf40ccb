import Logging

import MilestoneRPC
import MilestoneRPCNIO
import MilestoneEchoService
import MilestoneTesting
import MilestoneWire
import NIOCore
import Testing

@Suite("Framing and malformed input over TCP", .timeLimit(.minutes(1)))
struct FramingTests {
    @Test("a frame split across reads is reassembled")
    func splitFrame() async throws {
        try await withTestServer(services: [EchoService()], configuration: .unauthenticated, logger: testLogger) { test throws in
            let bytes = try echoRequestFrame(id: 1, text: String(repeating: "x", count: 2000)).framedBytes()
            let raw = try await RawConnection.connect(to: test.endpoint)
            let response = try await raw.use { reader, writer throws in
                for chunk in [bytes[0..<2], bytes[2..<7], bytes[7..<1000], bytes[1000...]] {
                    try await writer.write(ByteBuffer(bytes: chunk))  // each write is flushed: separate segments
                }
                return try await reader.next()?.response
            }
            #expect(response?.callID == 1)
            #expect(response?.status == .ok)
            #expect(try TestingV1.EchoResponse(wireBytes: response?.payload ?? []).text.count == 2000)
        }
    }

    @Test("many frames in one read are all answered")
    func manyFramesInOneRead() async throws {
        try await withTestServer(services: [EchoService()], configuration: .unauthenticated, logger: testLogger) { test throws in
            var bytes: [UInt8] = []
            for id in 1...50 {
                bytes += try echoRequestFrame(id: UInt64(id), text: "\(id)").framedBytes()
            }
            let raw = try await RawConnection.connect(to: test.endpoint)
            let ids = try await raw.use { reader, writer throws in
                try await writer.write(ByteBuffer(bytes: bytes))
                var ids = Set<UInt64>()
                while ids.count < 50, let frame = try await reader.next() {
                    if let response = frame.response {
                        #expect(response.status == .ok)
                        #expect(try TestingV1.EchoResponse(wireBytes: response.payload).text == "\(response.callID)")
                        ids.insert(response.callID)
                    }
                }
                return ids
            }
            #expect(ids == Set(1...50))
        }
    }

    // Requests whose method has an immediate answer are answered on the loop as they are read (while the
    // reader task waits); one that then needs a task (a delayed echo) is accepted there and started by the
    // reader. Both paths keep the protocol's order and its violations.
    @Test("answered as they are read: a duplicate call id or call id 0 gets GoAway, nothing after it is answered", arguments: [
        "duplicate", "zero",
    ])
    func violationsWhileAnsweringOnTheLoop(kind: String) async throws {
        let echo = EchoService()
        try await withTestServer(services: [echo], configuration: .unauthenticated, logger: testLogger) { test throws in
            var held = TestingV1.EchoRequest()
            held.delayMillis = 30_000  // accepted on the loop, then its task waits: call 1 stays in flight
            var heldRequest = RPCV1.CallRequest()
            heldRequest.callID = 1
            heldRequest.method = TestingV1.Echo.echo.name
            heldRequest.payload = try held.wireBytes()
            // Sent once call 1's task runs, so that the reader waits again and these are answered as read.
            var bytes = try echoRequestFrame(id: 2, text: "two").framedBytes()
            bytes += try echoRequestFrame(id: kind == "duplicate" ? 1 : 0, text: "bad").framedBytes()
            bytes += try echoRequestFrame(id: 3, text: "three").framedBytes()
            let raw = try await RawConnection.connect(to: test.endpoint)
            let frames = try await raw.use { reader, writer throws in
                try await writer.write(ByteBuffer(bytes: try RPCV1.Frame(kind: .request(heldRequest)).framedBytes()))
                await echo.waitForCalls(1)
                try await writer.write(ByteBuffer(bytes: bytes))
                return try await reader.untilClosed()
            }
            let responses = frames.compactMap(\.response)
            #expect(responses.map(\.callID) == [2])
            #expect(responses.first?.status == .ok)
            let goAway = frames.last?.goAway
            #expect(goAway?.status == .invalidArgument)
            #expect(goAway?.message.contains(kind == "duplicate" ? "already in use" : "reserved") == true, "\(String(describing: goAway))")
            #expect(goAway?.lastCallID == 2)
            #expect(try await test.client.unary(TestingV1.Echo.echo, echoRequest(text: "after")).text == "after")
        }
    }

    @Test("a zero-length frame is a no-op")
    func zeroLength() async throws {
        try await withTestServer(services: [EchoService()], configuration: .unauthenticated, logger: testLogger) { test throws in
            let raw = try await RawConnection.connect(to: test.endpoint)
            let response = try await raw.use { reader, writer throws in
                try await writer.write(ByteBuffer(bytes: [0, 0, 0, 0] + (try echoRequestFrame(id: 3).framedBytes())))
                return try await reader.next()?.response
            }
            #expect(response?.callID == 3)
            #expect(response?.status == .ok)
        }
    }

    @Test("a frame over the limit: GoAway RESOURCE_EXHAUSTED, connection closed, others unaffected")
    func oversizedFrame() async throws {
        let configuration = RPCServerConfiguration(authentication: .insecureNoAuthentication, maxFrameSize: 1024)
        try await withTestServer(services: [EchoService()], configuration: configuration, logger: testLogger) { test throws in
            let raw = try await RawConnection.connect(to: test.endpoint)
            let frames = try await raw.use { reader, writer throws in
                // Announce 5 MiB; send only a little of it.
                try await writer.write(ByteBuffer(bytes: [0x00, 0x50, 0x00, 0x00] + Array(repeating: 0x41, count: 100)))
                return try await reader.untilClosed()
            }
            let goAway = try #require(frames.last?.goAway)
            #expect(goAway.status == .resourceExhausted)
            #expect(goAway.message.contains("1024"))
            #expect(try await test.client.unary(TestingV1.Echo.echo, echoRequest(text: "ok")).text == "ok")
        }
    }

    @Test("a request over the client's own frame limit fails before it is sent")
    func oversizedRequest() async throws {
        try await withTestServer(services: [EchoService()], configuration: .unauthenticated, clientConfiguration: RPCClientConfiguration(maxFrameSize: 1024), logger: testLogger) { test throws in
            let code = await statusCode { try await test.client.unary(TestingV1.Echo.echo, echoRequest(payload: Array(repeating: 1, count: 2048))) }
            #expect(code == .resourceExhausted)
            #expect(try await test.client.unary(TestingV1.Echo.echo, echoRequest(text: "ok")).text == "ok")
        }
    }

    @Test("a metadata string holding NUL fails its call before it is sent (not cut short); the connection goes on")
    func nulInClientMetadata() async throws {
        try await withTestServer(services: [EchoService()], configuration: .unauthenticated, logger: testLogger) { test throws in
            var options = CallOptions()
            options.metadata["x-note"] = "before\0after"
            let code = await statusCode { try await test.client.unary(TestingV1.Echo.echo, echoRequest(text: "hidden"), options: options) }
            #expect(code == .invalidArgument)
            #expect(try await test.client.unary(TestingV1.Echo.echo, echoRequest(text: "ok")).text == "ok")
        }
    }

    @Test("garbage closes that connection with GoAway while other connections keep being served")
    func garbage() async throws {
        try await withTestServer(services: [EchoService()], configuration: .unauthenticated, logger: testLogger) { test throws in
            #expect(try await test.client.unary(TestingV1.Echo.echo, echoRequest(text: "before")).text == "before")
            for garbage: [UInt8] in [[0xFF, 0xFF, 0xFF, 0xFF, 0xFF], [0x0B, 0x0C], Array("GET / HTTP/1.1\r\n\r\n".utf8)] {
                let raw = try await RawConnection.connect(to: test.endpoint)
                let frames = try await raw.use { reader, writer throws in
                    try await writer.write(ByteBuffer(bytes: withUnsafeBytes(of: UInt32(garbage.count).bigEndian, Array.init) + garbage))
                    return try await reader.untilClosed()
                }
                #expect(frames.last?.goAway?.status == .invalidArgument)
                #expect(try await test.client.unary(TestingV1.Echo.echo, echoRequest(text: "during")).text == "during")
            }
            // An HTTP client's bytes read as a huge length prefix: refused as too large.
            let raw = try await RawConnection.connect(to: test.endpoint)
            let frames = try await raw.use { reader, writer throws in
                try await writer.write(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
                return try await reader.untilClosed()
            }
            #expect(frames.last?.goAway?.status == .resourceExhausted)
            #expect(try await test.client.unary(TestingV1.Echo.echo, echoRequest(text: "after")).text == "after")
        }
    }

    @Test("a frame truncated by a closed connection does not disturb the server")
    func truncated() async throws {
        try await withTestServer(services: [EchoService()], configuration: .unauthenticated, logger: testLogger) { test throws in
            let raw = try await RawConnection.connect(to: test.endpoint)
            try await raw.use { _, writer throws in
                try await writer.write(ByteBuffer(bytes: [0, 0, 0, 100] + Array(repeating: 0x08, count: 10)))
            }
            #expect(try await HealthV1.Health.Client(test.client).check().status == .serving)
        }
    }

    @Test("the worked example of docs/PROTOCOL.md §11, byte for byte")
    func documentedExample() async throws {
        try await withTestServer(services: [], configuration: .unauthenticated, logger: testLogger) { test throws in
            let raw = try await RawConnection.connect(to: test.endpoint)
            let method = Array("milestone.health.v1.Health/Check".utf8)
            let request: [UInt8] = [0x00, 0x00, 0x00, 0x26, 0x0A, 0x24, 0x08, 0x01, 0x12, 0x20] + method
            let bytes = try await raw.use { reader, writer throws in
                try await writer.write(ByteBuffer(bytes: request))
                var bytes: [UInt8] = []
                while bytes.count < 45, var chunk = try await reader.iterator.next() {
                    bytes += chunk.readBytes(length: chunk.readableBytes) ?? []
                }
                return bytes
            }
            #expect(bytes.count == 45)
            #expect(Array(bytes.prefix(12)) == [0x00, 0x00, 0x00, 0x29, 0x12, 0x27, 0x08, 0x01, 0x22, 0x1F, 0x0A, 0x0C])
            #expect(Array(bytes[12..<24]) == Array("x-request-id".utf8))
            #expect(Array(bytes[24..<26]) == [0x12, 0x0F])
            #expect(bytes[26..<41].allSatisfy { Array("0123456789abcdef".utf8).contains($0) })
            #expect(Array(bytes.suffix(4)) == [0x2A, 0x02, 0x08, 0x01])
        }
    }

    @Test("a ping is answered with a pong carrying its value")
    func ping() async throws {
        try await withTestServer(services: [], configuration: .unauthenticated, logger: testLogger) { test throws in
            let raw = try await RawConnection.connect(to: test.endpoint)
            let pong = try await raw.use { reader, writer throws in
                var ping = RPCV1.Ping()
                ping.opaque = 77
                try await writer.write(ByteBuffer(bytes: try RPCV1.Frame(kind: .ping(ping)).framedBytes()))
                return try await reader.next()
            }
            guard case .pong(let value) = pong?.kind else {
                Issue.record("no pong")
                return
            }
            #expect(value.opaque == 77)
        }
    }
}
