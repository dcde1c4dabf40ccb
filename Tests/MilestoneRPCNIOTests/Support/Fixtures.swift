import Logging
import MilestoneRPC
import MilestoneRPCNIO
import MilestoneEchoService
import MilestoneTesting
import MilestoneWire
import Testing

let testLogger = Logger(label: "milestone.test") { _ in SwiftLogNoOpLogHandler() }

extension RPCServerConfiguration {
    /// Port 0, no authentication: for servers whose methods are all unauthenticated.
    static var unauthenticated: RPCServerConfiguration {
        RPCServerConfiguration(authentication: .insecureNoAuthentication)
    }
}

func echoRequest(text: String = "", payload: [UInt8] = [], delayMillis: UInt32 = 0, failWith: RPCError.Code? = nil) -> TestingV1.EchoRequest {
    var request = TestingV1.EchoRequest()
    request.text = text
    request.payload = payload
    request.delayMillis = delayMillis
    request.failWithCode = UInt32(failWith?.rawValue ?? 0)
    return request
}

let noRetries = RPCClientConfiguration(retry: .none)
