/// Why a sign-in could not start or finish, in words for the person signing in (`message`: what happened)
/// and for whoever can fix it (`fix`). Mapped to an RPC status in `Service/IdentityError+RPC.swift` and to
/// an HTTP status and error page by the HTTP edge. Messages never hold tokens, codes or secrets.
public struct SignInError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Reason: Hashable, Sendable {
        /// No SSO configuration applies to the tenant (or the instance).
        case notConfigured
        /// The `state` is unknown or was already used.
        case unknownState
        /// The pending sign-in is older than its 10 minutes.
        case expired
        /// The callback came for another tenant than the sign-in started for.
        case tenantMismatch
        /// The SSO configuration changed (or was disabled) while the person was at the identity provider.
        case configurationChanged
        /// The identity provider answered an error (`access_denied`, AADSTS…).
        case providerError
        /// The ID token failed validation.
        case invalidToken
        /// The identity provider could not be reached or answered nonsense.
        case providerUnavailable
        /// The request itself is malformed (no state, no code).
        case invalidRequest
    }

    public var reason: Reason
    /// What happened, for the person signing in.
    public var message: String
    /// What to do about it.
    public var fix: String
    /// The identity provider's error code (`access_denied`, `AADSTS50105`), when it gave one.
    public var providerCode: String?

    public init(_ reason: Reason, _ message: String, fix: String, providerCode: String? = nil) {
        self.reason = reason
        self.message = message
        self.fix = fix
        self.providerCode = providerCode
    }

    public var description: String {
        "\(self.message) — \(self.fix)"
    }
}
