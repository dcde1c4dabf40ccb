/// The configuration a tenant's (or the instance's) sign-in uses, where it comes from, and why.
public struct EffectiveSSO: Sendable {
    /// The configuration that applies, or nil.
    public var settings: SSOSettings?
    public var organization: (id: String, name: String)?
    public var redirectURI: String
    public var explanation: String
}
