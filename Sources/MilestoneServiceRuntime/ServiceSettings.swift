import Configuration

/// A service's settings, read in one place from flags, then the environment, then defaults (through
/// swift-configuration: an in-memory provider for the parsed flags in front of the environment provider).
///
/// Keys are dotted and map to environment variables by swift-configuration's rule: `milestone.dataDir`
/// is `MILESTONE_DATA_DIR`. Token settings are secrets: they are redacted wherever the reader reports them.
public struct ServiceSettings: Sendable {
    /// The keys every service reads.
    public enum Keys {
        public static let dataDirectory = "milestone.dataDir"
        public static let logLevel = "milestone.logLevel"
        public static let adminToken = "milestone.adminToken"
        public static let serviceToken = "milestone.serviceToken"
        /// The identity service's master key (base64 of 32 bytes).
        public static let secretKey = "milestone.secretKey"
    }

    /// One setting, for help texts.
    public struct Description: Sendable {
        public var key: String
        public var flag: String?
        public var meaning: String
        public var defaultValue: String

        public init(key: String, flag: String?, meaning: String, defaultValue: String) {
            self.key = key
            self.flag = flag
            self.meaning = meaning
            self.defaultValue = defaultValue
        }

        /// `milestone.dataDir` → `MILESTONE_DATA_DIR`.
        public var environmentVariable: String {
            ServiceSettings.environmentVariable(for: self.key)
        }
    }

    private let reader: ConfigReader

    /// - Parameters:
    ///   - flags: the values given on the command line, by key (they win).
    ///   - environment: the process environment (then it).
    public init(flags: [String: String], environment: [String: String]) {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, value) in flags {
            values[AbsoluteConfigKey(ConfigKey(key))] = ConfigValue(.string(value), isSecret: Self.isSecret(key))
        }
        self.reader = ConfigReader(providers: [
            InMemoryProvider(name: "flags", values: values),
            EnvironmentVariablesProvider(
                environmentVariables: environment,
                secretsSpecifier: .specific(Set([Keys.adminToken, Keys.serviceToken, Keys.secretKey].map(Self.environmentVariable(for:))))
            ),
        ])
    }

    /// The value of `key`, or nil when neither a flag nor the environment sets it (an empty value counts
    /// as unset).
    public func string(_ key: String) -> String? {
        let value = self.reader.string(forKey: ConfigKey(key), isSecret: Self.isSecret(key))
        return value?.isEmpty == false ? value : nil
    }

    private static func isSecret(_ key: String) -> Bool {
        key == Keys.adminToken || key == Keys.serviceToken || key == Keys.secretKey
    }

    /// swift-configuration's environment variable for a key.
    static func environmentVariable(for key: String) -> String {
        var name = ""
        var previous: Character?
        for character in key {
            if character == "." || !(character.isLetter || character.isNumber) {
                name.append("_")
            } else {
                if character.isUppercase, let previous, previous.isLowercase || previous.isNumber {
                    name.append("_")
                }
                name += character.uppercased()
            }
            previous = character
        }
        return name
    }
}
