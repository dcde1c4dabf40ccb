public import MilestoneWire
import Synchronization

/// The `milestone.health.v1.Health` service: the serving status of the server ("") and of each service it
/// hosts. Unknown service names get NOT_FOUND. Exempt from authentication.
public final class HealthService: HealthV1.Health.ServiceProtocol {
    private let statuses: Mutex<[String: HealthV1.HealthCheckResponse.ServingStatus]>

    /// - Parameter services: the names of the services the server hosts, reported SERVING.
    public init(services: [String] = []) {
        var statuses: [String: HealthV1.HealthCheckResponse.ServingStatus] = ["": .serving]
        for service in services { statuses[service] = .serving }
        self.statuses = Mutex(statuses)
    }

    /// Sets one service's status ("" for the server as a whole).
    public func setStatus(_ status: HealthV1.HealthCheckResponse.ServingStatus, forService service: String) {
        self.statuses.withLock { $0[service] = status }
    }

    /// Sets every service NOT_SERVING: the server is draining.
    public func markAllNotServing() {
        self.statuses.withLock { statuses in
            for key in statuses.keys { statuses[key] = .notServing }
        }
    }

    /// The status of `request.service`.
    public func check(_ request: HealthV1.HealthCheckRequest) throws -> HealthV1.HealthCheckResponse {
        guard let status = self.statuses.withLock({ $0[request.service] }) else {
            throw RPCError(code: .notFound, message: "unknown service \"\(request.service.prefix(200))\"")
        }
        return HealthV1.HealthCheckResponse(status: status)
    }

    public func check(
        _ request: HealthV1.HealthCheckRequest,
        context: ServerContext
    ) async throws -> HealthV1.HealthCheckResponse {
        try self.check(request)
    }

    /// Checks are answered at once, on the thread that read them (no task for the call).
    public func registerImmediateMethods(with router: inout Router) {
        router.registerImmediate(HealthV1.Health.check) { request, _ in
            try self.check(request)
        }
    }

    public func access(for method: HealthV1.Health.Method) -> MethodAccess {
        .unauthenticated
    }

    /// Health reports on the others; it has no status of its own.
    public var healthServiceNames: [String] { [] }
}
