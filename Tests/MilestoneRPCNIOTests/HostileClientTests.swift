import Logging
import MilestoneEchoService
import MilestoneRPC
@testable import MilestoneRPCNIO
import MilestoneTesting
import MilestoneWire
import NIOCore
import NIOPosix
import Testing

/// What a hostile client tries, and what the server does about it.
@Suite("Hostile clients", .timeLimit(.minutes(2)))
struct HostileClientTests {
    /// A server of `router` (plus health), run for the duration of `body`.
    func withServer(
        _ configuration: RPCServerConfiguration,
        router: Router = Router(),
        _ body: (RPCServer, Endpoint) async throws -> Void
    ) async throws {
        let server = RPCServer(configuration: configuration, router: router, logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let endpoint = try await server.listeningEndpoint
            defer { server.beginGracefulShutdown() }
            try await body(server, endpoint)
        }
    }

    @Test("a client that sends but never reads: the server stops reading instead of queueing answers")
    func neverReads() async throws {
        let big = WireMethod<TestingV1.EchoRequest, TestingV1.EchoResponse>(name: "test.v1.T/Big", idempotency: .noSideEffects)
        let calls = EventCounter()
        var router = Router()
        router.register(big, access: .unauthenticated) { _, _ in
            calls.increment()
            return TestingV1.EchoResponse(payload: [UInt8](repeating: 7, count: 64 * 1024))
        }
        let configuration = RPCServerConfiguration(
            authentication: .insecureNoAuthentication, maxUnwrittenBytesPerConnection: 64 * 1024
        )
        let rounds = 10, perRound = 20  // 12.5 MiB of answers in all: far more than the socket buffers hold
        try await self.withServer(configuration, router: router) { server, endpoint in
            let raw = try await RawConnection.connect(to: endpoint, receiveBuffer: 16 * 1024)
            try await raw.use { reader, writer in
                var sent = 0
                var paused = false
                for _ in 0..<rounds where !paused {
                    var bytes: [UInt8] = []
                    for _ in 0..<perRound {
                        sent += 1
                        bytes += try echoRequestFrame(id: UInt64(sent), method: big.name).framedBytes()
                    }
                    try await writer.write(ByteBuffer(bytes: bytes))
                    // Either the server handles this round, or it stops reading: whichever comes first.
                    let target = sent
                    paused = await withTaskGroup(of: Bool.self) { group in
                        group.addTask { await calls.wait(atLeast: target); return false }
                        group.addTask { await server.readPauses.wait(atLeast: 1); return true }
                        let first = await group.next()!
                        group.cancelAll()
                        return first
                    }
                }
                #expect(paused, "the server paused reading while the client read nothing")
                #expect(calls.count < sent, "and did not handle what it had not read")
                var answered = 0
                while answered < sent, let frame = try await reader.next() {
                    #expect(frame.response?.status == .ok)
                    answered += 1
                }
                #expect(answered == sent, "once the client reads, every call is answered")
            }
        }
    }

    @Test("a frame that never completes is cut off; so is a connection that sends no frame")
    func frameDeadlines() async throws {
        let configuration = RPCServerConfiguration(
            authentication: .insecureNoAuthentication, frameTimeout: .milliseconds(200), firstFrameTimeout: .milliseconds(200)
        )
        try await self.withServer(configuration) { _, endpoint in
            // Half a length prefix, then a byte now and then: the frame's deadline runs from its first byte.
            let trickler = try await RawConnection.connect(to: endpoint)
            let start = Array(try echoRequestFrame(id: 1).framedBytes().prefix(6))
            let closedTrickler = try await trickler.use { reader, writer in
                // Keeps trickling (each byte would reset an idle timer) until the server hangs up — which on a
                // saturated machine may be before the first bytes go (the first-frame deadline is 200 ms):
                // either way the server is the one that closes.
                for byte in 0..<1000 {
                    do {
                        try await writer.write(ByteBuffer(bytes: byte == 0 ? start : [UInt8(byte % 200)]))
                    } catch {
                        break
                    }
                    if !trickler.channel.channel.isActive { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                return try await reader.untilClosed()
            }
            #expect(closedTrickler.isEmpty, "closed without an answer")
            #expect(!trickler.channel.channel.isActive)

            // Connects and says nothing.
            let silent = try await RawConnection.connect(to: endpoint)
            let frames = try await silent.use { reader, _ in try await reader.untilClosed() }
            #expect(frames.isEmpty)
        }
    }

    @Test("one peer address cannot take every connection slot")
    func perPeerLimit() async throws {
        let configuration = RPCServerConfiguration(authentication: .insecureNoAuthentication, maxConnectionsPerPeer: 2)
        try await self.withServer(configuration) { _, endpoint in
            // Each connection is admitted (it answers a ping) before the next one opens.
            func ping(_ opaque: UInt64) throws -> ByteBuffer {
                ByteBuffer(bytes: try RPCV1.Frame(kind: .ping(.init(opaque: opaque))).framedBytes())
            }
            try await RawConnection.connect(to: endpoint).use { firstReader, firstWriter in
                try await firstWriter.write(try ping(1))
                #expect(try await firstReader.next()?.kind == .pong(.init(opaque: 1)))
                try await RawConnection.connect(to: endpoint).use { secondReader, secondWriter in
                    try await secondWriter.write(try ping(2))
                    #expect(try await secondReader.next()?.kind == .pong(.init(opaque: 2)))

                    let third = try await RawConnection.connect(to: endpoint)
                    let refused = try await third.use { reader, _ in try await reader.untilClosed() }
                    let goAway = try #require(refused.first?.goAway)
                    #expect(goAway.status == .resourceExhausted)
                    #expect(goAway.message.contains("2 connections"))

                    try await firstWriter.write(try ping(3))
                    #expect(try await firstReader.next()?.kind == .pong(.init(opaque: 3)), "still served")
                    try await secondWriter.write(try ping(4))
                    #expect(try await secondReader.next()?.kind == .pong(.init(opaque: 4)), "still served")
                }
            }
        }
    }

    @Test("a string holding NUL is refused, not cut: a method name in the envelope closes the connection")
    func nulInEnvelope() async throws {
        try await self.withServer(.unauthenticated) { _, endpoint in
            let answered = try await Self.sendRequest(method: "milestone.health.v1.Health/Check\u{0}junk", to: endpoint)
            #expect(answered.compactMap(\.response).isEmpty, "Check must not run")
            #expect(answered.last?.goAway?.status == .invalidArgument)
            #expect(answered.last?.goAway?.message.contains("NUL") == true)
        }
    }

    @Test("a 4 MB frame of empty metadata entries is refused before it is decoded; the server serves on")
    func amplifyingFrame() async throws {
        try await self.withServer(.unauthenticated) { _, endpoint in
            // 2,000,000 × metadata {}: 4 MB that protobuf-c would turn into hundreds of MB of structs (2
            // bytes per entry on the wire).
            var entries = [UInt8](repeating: 0x00, count: 4_000_000)
            for index in stride(from: 0, to: entries.count, by: 2) { entries[index] = 0x22 }
            let answered = try await Self.sendRequest(method: "milestone.health.v1.Health/Check", then: entries, to: endpoint)
            #expect(answered.compactMap(\.response).isEmpty, "Check must not run")
            #expect(answered.last?.goAway?.status == .invalidArgument)
            #expect(answered.last?.goAway?.message.contains("more than 1024 entries") == true, "\(String(describing: answered.last))")

            let status = try await withRPCClient(endpoint, logger: testLogger) { client in
                try await HealthV1.Health.Client(client).check().status
            }
            #expect(status == .serving)
        }
    }

    /// Sends `Frame{request{call_id: 1, method, <fields>}}`, encoded by hand (what our encoder refuses to
    /// make), and returns what the server sent until it closed the connection.
    static func sendRequest(method: String, then fields: [UInt8] = [], to endpoint: Endpoint) async throws -> [RPCV1.Frame] {
        let methodBytes = Array(method.utf8)
        let request = [0x08, 0x01, 0x12] + varint(methodBytes.count) + methodBytes + fields
        let frame = [0x0A] + varint(request.count) + request
        let framed = withUnsafeBytes(of: UInt32(frame.count).bigEndian, Array.init) + frame
        let raw = try await RawConnection.connect(to: endpoint)
        return try await raw.use { reader, writer in
            try await writer.write(ByteBuffer(bytes: framed))
            return try await reader.untilClosed()
        }
    }

    static func varint(_ value: Int) -> [UInt8] {
        var value = UInt64(value)
        var bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        return bytes + [UInt8(value)]
    }
}
