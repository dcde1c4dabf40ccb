import Logging
import MilestoneEchoService
import MilestoneRPC
import MilestoneRPCNIO
import MilestoneWire
import NIOCore
import Synchronization

/// The steps of one echo call that are our own code, each timed alone on one thread in a tight loop: the
/// codec on both sides and the server's dispatch (interceptors, handler, response encoding). No sockets,
/// no threads handing over work: what is left of a call's cost when those are taken away, and a figure
/// that moves far less with the machine's noise than calls over loopback do.
package enum CallSteps {
    package struct Step: Sendable {
        package let name: String
        /// Nanoseconds per iteration: the median of the repetitions.
        package let nanoseconds: Double
    }

    /// Times each step `iterations` times, `repetitions` times over; the figure is the median.
    package static func measure(payload: Int, iterations: Int, repetitions: Int) async throws -> [Step] {
        let token = "bench-token-\(UInt64.random(in: .min ... .max))"
        let logger = Logger(label: "milestone.bench") { _ in SwiftLogNoOpLogHandler() }
        // The server's pipeline, composed as RPCServer composes it (request logging, then authentication).
        let pipeline = RPCServer.pipeline(
            configuration: RPCServerConfiguration(authentication: .bearerTokens(BearerTokens(admin: nil, service: token))),
            router: Router(services: [EchoService(access: .adminOrService)]),
            health: HealthService(),
            interceptors: []
        )
        let written = Mutex(ByteBuffer())
        let dispatcher = ServerConnectionDispatcher(
            pipeline: pipeline,
            scheduler: NoTimers(),
            peer: "bench",
            maxFrameSize: 4 << 20,
            logger: logger
        ) { bytes, _ in
            written.withLock { buffer in
                buffer.clear()
                buffer.writeBytes(bytes)
            }
        }
        var metadata = Metadata()
        metadata[Metadata.Keys.authorization] = "Bearer \(token)"
        let wireMetadata = metadata.wireEntries
        let request = TestingV1.EchoRequest(payload: Array(repeating: 0x5A, count: payload))
        var callID: UInt64 = 0
        var steps: [Step] = []
        func time(_ name: String, _ body: () throws -> Void) rethrows {
            for _ in 0..<min(iterations, 1_000) { try body() }
            var samples: [Double] = []
            for _ in 0..<repetitions {
                let start = ContinuousClock.now
                for _ in 0..<iterations { try body() }
                let elapsed = ContinuousClock.now - start
                samples.append(Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9)
            }
            samples.sort()
            steps.append(Step(name: name, nanoseconds: samples[samples.count / 2] / Double(iterations)))
        }

        var payloadBytes: [UInt8] = []
        try time("client: encode the request message") { payloadBytes = try request.wireBytes() }
        var outbound = ByteBuffer()
        func requestFrame() -> RPCV1.Frame {
            callID += 1
            var call = RPCV1.CallRequest()
            call.callID = callID
            call.method = TestingV1.Echo.echo.name
            call.metadata = wireMetadata
            call.payload = payloadBytes
            return RPCV1.Frame(kind: .request(call))
        }
        try time("client: encode the request frame") {
            try requestFrame().withWireBytes { bytes in
                outbound.clear()
                outbound.writeBytes(bytes)
            }
        }
        let requestBytes = Array(outbound.readableBytesView)
        var frame = RPCV1.Frame()
        try time("server: decode the request frame") {
            frame = try requestBytes.withUnsafeBytes { try RPCV1.Frame(wireBytes: $0) }
        }
        guard case .request(var call) = frame.kind else { return steps }
        await dispatcher.serve { receive in
            time("server: interceptors, handler, response frame") {
                callID += 1
                call.callID = callID
                _ = receive(.init(.success(RPCV1.Frame(kind: .request(call))), byteCount: requestBytes.count))
            }
        }
        let responseBytes = written.withLock { Array($0.readableBytesView) }
        var response = RPCV1.Frame()
        try time("client: decode the response frame") {
            response = try responseBytes.withUnsafeBytes { try RPCV1.Frame(wireBytes: $0) }
        }
        guard case .response(let answer) = response.kind, answer.status == .ok else {
            throw BenchError("the echo was not answered OK: \(response)")
        }
        try time("client: decode the response message") {
            _ = try answer.payload.withUnsafeBytes { try TestingV1.EchoResponse(wireBytes: $0) }
        }
        return steps
    }

    struct BenchError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

/// Deadlines are not measured here: the calls set none.
private struct NoTimers: CallTimerScheduler {
    struct Timer: CallTimer {
        func cancel() {}
    }

    func schedule(after delay: Duration, _ body: @escaping @Sendable () -> Void) -> any CallTimer { Timer() }
}
