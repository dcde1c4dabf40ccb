/// What the runtime needs to know of a service executable: its name (which prefixes its own settings),
/// its default port, and the settings of its own that its `--help` lists.
public struct ServiceDescription: Sendable {
    /// One word: `directory` reads `milestone.directory.listen` (`--listen`, `MILESTONE_DIRECTORY_LISTEN`).
    public var name: String
    /// The default listen port.
    public var defaultPort: Int
    /// The service's own settings, for the help text (the common ones are listed by the runtime).
    public var settings: [ServiceSettings.Description]

    public init(name: String, defaultPort: Int, settings: [ServiceSettings.Description] = []) {
        self.name = name
        self.defaultPort = defaultPort
        self.settings = settings
    }

    /// The key of one of the service's own settings: `milestone.<name>.<setting>`.
    public func key(_ setting: String) -> String {
        "milestone.\(self.name).\(setting)"
    }

    /// Every setting, common ones first, as the `discussion` of the executable's `--help`.
    public var help: String {
        let common: [ServiceSettings.Description] = [
            .init(key: self.key("listen"), flag: "--listen", meaning: "where to listen, HOST:PORT", defaultValue: "127.0.0.1:\(self.defaultPort)"),
            .init(key: ServiceSettings.Keys.dataDirectory, flag: "--data-dir", meaning: "the data folder (created 0700)", defaultValue: "./.milestone"),
            .init(key: ServiceSettings.Keys.logLevel, flag: "--log-level", meaning: "trace, debug, info, notice, warning, error or critical", defaultValue: "info"),
            .init(key: ServiceSettings.Keys.adminToken, flag: nil, meaning: "the admin bearer token", defaultValue: "from DATA_DIR/credentials.json"),
            .init(key: ServiceSettings.Keys.serviceToken, flag: nil, meaning: "the service bearer token", defaultValue: "from DATA_DIR/credentials.json"),
        ]
        let lines = (common + self.settings).map { setting in
            let flag = setting.flag.map { "\($0), " } ?? ""
            return "  \(flag)\(setting.environmentVariable): \(setting.meaning) (default: \(setting.defaultValue))"
        }
        return """
            Settings (a flag wins over the environment, which wins over the default):
            \(lines.joined(separator: "\n"))
            Tokens: when neither token variable is set, both come from DATA_DIR/credentials.json (mode 0600), \
            created with random tokens on first start; when either is set, only the environment's are accepted.
            Stops gracefully on SIGTERM or SIGINT.
            """
    }
}
