/// What a bearer token is allowed to do.
public struct Role: Hashable, Sendable, CustomStringConvertible {
    public let name: String

    public init(_ name: String) {
        self.name = name
    }

    /// Administrators: every method.
    public static let admin = Role("admin")
    /// Internal services: reads and the calls services make to each other.
    public static let service = Role("service")

    public var description: String { self.name }
}

/// Who may call a method.
public enum MethodAccess: Hashable, Sendable {
    /// Anyone, without a token (health checks).
    case unauthenticated
    /// A caller whose token has one of these roles.
    case roles(Set<Role>)

    /// Administrators only.
    public static let adminOnly = MethodAccess.roles([.admin])
    /// Administrators and internal services.
    public static let adminOrService = MethodAccess.roles([.admin, .service])
}
