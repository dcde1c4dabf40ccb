public import MilestoneWire
import Synchronization

/// The `milestone.health.v1.Health` service: the serving status of the server ("") and of each service it
/// hosts. Unknown service names get NOT_FOUND. Exempt from authentication.
public final class HealthService: Sendable {
    private let statuses: Mutex<[String: HealthCheckResponse.ServingStatus]>

    /// - Parameter services: the names of the services the server hosts, reported SERVING.
    public init(services: [String] = []) {
        var statuses: [String: HealthCheckResponse.ServingStatus] = ["": .serving]
        for service in services { statuses[service] = .serving }
        self.statuses = Mutex(statuses)
    }

    /// Sets one service's status ("" for the server as a whole).
    public func setStatus(_ status: HealthCheckResponse.ServingStatus, forService service: String) {
        self.statuses.withLock { $0[service] = status }
    }

    /// Sets every service NOT_SERVING: the server is draining.
    public func markAllNotServing() {
        self.statuses.withLock { statuses in
            for key in statuses.keys { statuses[key] = .notServing }
        }
    }

    public func check(_ request: HealthCheckRequest) throws -> HealthCheckResponse {
        guard let status = self.statuses.withLock({ $0[request.service] }) else {
            throw RPCError(code: .notFound, message: "unknown service \"\(request.service.prefix(200))\"")
        }
        var response = HealthCheckResponse()
        response.status = status
        return response
    }

    /// Adds the Check method to `router`.
    public func register(in router: inout Router) {
        router.register(Health.check, access: .unauthenticated) { request, _ in
            try self.check(request)
        }
    }
}
