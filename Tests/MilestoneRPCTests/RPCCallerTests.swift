import MilestoneRPC
import MilestoneWire
import Synchronization
import Testing

/// An in-process caller: what a test fake implements (encoded messages in, encoded messages out); the
/// generated clients' typed calls encode and decode around it.
private final class RecordingCaller: RPCCaller {
    let requests = Mutex<[EncodedRequest]>([])
    let answer: @Sendable (EncodedRequest) throws -> EncodedResponse

    init(answer: @escaping @Sendable (EncodedRequest) throws -> EncodedResponse) {
        self.answer = answer
    }

    func call(_ request: EncodedRequest, options: CallOptions) async throws -> EncodedResponse {
        self.requests.withLock { $0.append(request) }
        return try self.answer(request)
    }
}

@Suite("Callers on encoded messages", .timeLimit(.minutes(1)))
struct RPCCallerTests {
    @Test("a generated client's call reaches the caller encoded, with the method's name and idempotency")
    func typedCallThroughCaller() async throws {
        let caller = RecordingCaller { request in
            let asked = try HealthV1.HealthCheckRequest(wireBytes: request.payload)
            var response = HealthV1.HealthCheckResponse()
            response.status = asked.service == "down" ? .notServing : .serving
            return EncodedResponse(payload: try response.wireBytes(), metadata: ["x-request-id": "r-1"])
        }
        let client = HealthV1.Health.Client(caller)
        #expect(try await client.check(HealthV1.HealthCheckRequest(service: "down")).status == .notServing)
        let full = try await caller.call(HealthV1.Health.check, HealthV1.HealthCheckRequest())
        #expect(full.message.status == .serving)
        #expect(full.metadata["x-request-id"] == "r-1")
        let sent = caller.requests.withLock { $0 }
        #expect(sent.map(\.method) == [HealthV1.Health.check.name, HealthV1.Health.check.name])
        #expect(sent.allSatisfy { $0.isIdempotent == HealthV1.Health.check.isIdempotent })
    }

    @Test("a response that is not the method's message is INTERNAL; the caller's status passes through")
    func undecodableResponse() async throws {
        let garbage = RecordingCaller { _ in EncodedResponse(payload: [0xFF, 0xFF, 0xFF]) }
        let error = await #expect(throws: RPCError.self) {
            try await HealthV1.Health.Client(garbage).check()
        }
        #expect(error?.code == .internal)
        #expect(error?.message.contains("HealthCheckResponse") == true)

        let refusing = RecordingCaller { _ in throw RPCError(code: .unavailable, message: "no server") }
        let refused = await #expect(throws: RPCError.self) {
            try await HealthV1.Health.Client(refusing).check()
        }
        #expect(refused?.code == .unavailable)
    }
}
