import ArgumentParser
import Foundation
import Logging
import MilestoneRPC
import MilestoneServiceRuntime
import Testing

@Suite("Service settings: flags, then environment, then defaults", .timeLimit(.minutes(1)))
struct ServiceSettingsTests {
    static let service = ServiceDescription(name: "sample", defaultPort: 7499)

    func options(_ arguments: [String]) throws -> ServiceOptions {
        try ServiceOptions.parse(arguments)
    }

    @Test("environment variable names follow swift-configuration's key rule")
    func names() {
        let description = ServiceSettings.Description(key: "milestone.dataDir", flag: nil, meaning: "", defaultValue: "")
        #expect(description.environmentVariable == "MILESTONE_DATA_DIR")
        #expect(ServiceSettings.Description(key: Self.service.key("listen"), flag: nil, meaning: "", defaultValue: "").environmentVariable
            == "MILESTONE_SAMPLE_LISTEN")
    }

    @Test("defaults apply when nothing is set")
    func defaults() throws {
        let runtime = try ServiceRuntime(Self.service, options: self.options([]), environment: [:])
        #expect(runtime.configuration.listen == Endpoint(host: "127.0.0.1", port: 7499))
        #expect(runtime.configuration.dataDirectory == "./.milestone")
        #expect(runtime.configuration.logLevel == .info)
    }

    @Test("the environment wins over defaults; flags win over the environment")
    func precedence() throws {
        let environment = [
            "MILESTONE_SAMPLE_LISTEN": "127.0.0.1:8001",
            "MILESTONE_DATA_DIR": "/tmp/from-env",
            "MILESTONE_LOG_LEVEL": "debug",
            "MILESTONE_SAMPLE_COLOUR": "blue",
        ]
        let fromEnvironment = try ServiceRuntime(Self.service, options: self.options([]), environment: environment)
        #expect(fromEnvironment.configuration.listen == Endpoint(host: "127.0.0.1", port: 8001))
        #expect(fromEnvironment.configuration.dataDirectory == "/tmp/from-env")
        #expect(fromEnvironment.configuration.logLevel == .debug)
        #expect(fromEnvironment.settings.string(Self.service.key("colour")) == "blue")

        let fromFlags = try ServiceRuntime(
            Self.service,
            options: self.options(["--listen", "127.0.0.1:8002", "--data-dir", "/tmp/from-flag", "--log-level", "error"]),
            flags: [Self.service.key("colour"): "red"],
            environment: environment
        )
        #expect(fromFlags.configuration.listen == Endpoint(host: "127.0.0.1", port: 8002))
        #expect(fromFlags.configuration.dataDirectory == "/tmp/from-flag")
        #expect(fromFlags.configuration.logLevel == .error)
        #expect(fromFlags.settings.string(Self.service.key("colour")) == "red")
    }

    @Test("a bad setting is a usage error naming the flag and the variable", arguments: [
        (["--listen", "nowhere"], [:], "MILESTONE_SAMPLE_LISTEN"),
        ([], ["MILESTONE_SAMPLE_LISTEN": "host:99999"], "MILESTONE_SAMPLE_LISTEN"),
        (["--log-level", "loud"], [:], "loud"),
    ] as [([String], [String: String], String)])
    func badSettings(arguments: [String], environment: [String: String], fragment: String) throws {
        do {
            _ = try ServiceRuntime(Self.service, options: self.options(arguments), environment: environment)
            Issue.record("expected a usage error")
        } catch let error as ValidationError {
            #expect(error.message.contains(fragment), "\(error.message)")
        }
    }

    @Test("tokens: the environment's when set, else the data folder's credentials file (0600 in a 0700 folder)")
    func tokens() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("milestone-\(UUID().uuidString)/data")
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }

        let fromEnvironment = try ServiceRuntime(
            Self.service, options: self.options(["--data-dir", folder.path]),
            environment: ["MILESTONE_ADMIN_TOKEN": "env-admin-token"]
        )
        let (environmentTokens, environmentSource) = try fromEnvironment.configuration.tokens(settings: fromEnvironment.settings)
        #expect(environmentSource == "environment")
        #expect(environmentTokens.role(of: "env-admin-token") == .admin)
        #expect(!FileManager.default.fileExists(atPath: folder.path), "no credentials file when the environment has tokens")

        let local = try ServiceRuntime(Self.service, options: self.options(["--data-dir", folder.path]), environment: [:])
        try local.configuration.createDataDirectory()
        let (fileTokens, fileSource) = try local.configuration.tokens(settings: local.settings)
        let credentials = try #require(try LocalCredentials.load(dataDirectory: folder.path))
        #expect(fileSource.hasSuffix("credentials.json"))
        #expect(fileTokens.role(of: credentials.adminToken) == .admin)
        #expect(fileTokens.role(of: credentials.serviceToken) == .service)
        #expect(try FileManager.default.attributesOfItem(atPath: folder.path)[.posixPermissions] as? Int == 0o700)
    }
}
