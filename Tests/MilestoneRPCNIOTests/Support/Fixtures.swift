import Logging
import MilestoneRPC
import MilestoneRPCNIO
import MilestoneTesting
import MilestoneWire
import Testing

let testLogger = Logger(label: "milestone.test") { _ in SwiftLogNoOpLogHandler() }

/// A router with the echo service.
func echoRouter(_ echo: EchoService, access: MethodAccess = .unauthenticated) -> Router {
    var router = Router()
    echo.register(in: &router, access: access)
    return router
}

func echoRequest(text: String = "", payload: [UInt8] = [], delayMillis: UInt32 = 0, failWith: RPCError.Code? = nil) -> EchoRequest {
    var request = EchoRequest()
    request.text = text
    request.payload = payload
    request.delayMillis = delayMillis
    request.failWithCode = UInt32(failWith?.rawValue ?? 0)
    return request
}

/// Polls `condition` for up to 5 s.
func eventually(_ condition: () -> Bool) async throws -> Bool {
    for _ in 0..<500 {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

let noRetries = RPCClientConfiguration(retry: .none)
