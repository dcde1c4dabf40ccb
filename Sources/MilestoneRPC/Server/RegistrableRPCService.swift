/// A service a server can host: it registers its methods in a ``Router`` and names itself for health
/// checks. The protocols generated from `Protos/` (`…ServiceProtocol`) refine it and implement both
/// requirements, so a service implementation is its handlers and its access rules.
public protocol RegistrableRPCService: Sendable {
    /// The names health checks report SERVING for while the server runs (the proto service's full name).
    var healthServiceNames: [String] { get }

    /// Adds every method of the service to `router`.
    func registerMethods(with router: inout Router)

    /// Adds the service's immediate answers (``Router/registerImmediate(_:handler:)``): for methods whose
    /// calls can often be answered without waiting, a synchronous handler tried first. None by default.
    func registerImmediateMethods(with router: inout Router)
}

extension RegistrableRPCService {
    public func registerImmediateMethods(with router: inout Router) {}
}
