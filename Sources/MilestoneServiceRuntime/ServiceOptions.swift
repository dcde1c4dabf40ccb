public import ArgumentParser

/// The flags every service executable has; use as `@OptionGroup var options: ServiceOptions`.
/// Each is optional so that, when absent, the environment and then the default apply.
public struct ServiceOptions: ParsableArguments, Sendable {
    @Option(help: "Where to listen, HOST:PORT.")
    public var listen: String?

    @Option(help: "The data folder. (default: ./.milestone)")
    public var dataDir: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical. (default: info)")
    public var logLevel: String?

    public init() {}

    /// The flags given, by setting key.
    func values(for service: ServiceDescription) -> [String: String] {
        var values: [String: String] = [:]
        values[service.key("listen")] = self.listen
        values[ServiceSettings.Keys.dataDirectory] = self.dataDir
        values[ServiceSettings.Keys.logLevel] = self.logLevel
        return values
    }
}
