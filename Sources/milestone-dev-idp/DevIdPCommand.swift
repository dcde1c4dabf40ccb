import ArgumentParser
import Foundation
import MilestoneCrypto
import MilestoneEntraEmulator
import MilestoneRPC


/// `milestone-dev-idp`: the Entra ID emulator as a local identity provider, for development and tests.
@main
struct DevIdPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "milestone-dev-idp",
        abstract: "A local Microsoft Entra ID emulator for development and tests. NEVER a production identity provider: anyone who can reach it signs in as any configured user.",
        discussion: """
            Serves Entra ID's v2 paths for the tenants, applications and users of --config:
              GET  /{tenant}/v2.0/.well-known/openid-configuration   discovery
              GET  /{tenant}/discovery/v2.0/keys                     JWKS (current and rotated keys)
              GET  /{tenant}/oauth2/v2.0/authorize                   an HTML account picker
              POST /{tenant}/oauth2/v2.0/authorize                   automation: the authorize parameters and account=EMAIL
              POST /{tenant}/oauth2/v2.0/token                       authorization_code (PKCE S256, single-use codes) and client_credentials
              POST /_emulator/rotate-keys                            sign with a new key from now on
            Errors are Entra-shaped (error, error_description "AADSTS…: …", error_codes).

            The configuration is JSON: {"tenants": [{"id": GUID, "domains": [...], "applications": [{"clientID": GUID,
            "secret": "...", "redirectURIs": [...]}], "users": [{"objectID": GUID, "email": "...", "name": "..."}]}]}.
            An application's secret may be given as "secretSHA256" (base64url of its SHA-256) so that the file never             holds it. --write-example-config writes a demo configuration that way, for the secret read from stdin.
            """,
        version: "0.3.0"
    )

    @Option(help: "Listen on HOST:PORT (loopback only unless you know why).")
    var listen = "127.0.0.1:7490"

    @Option(help: "The JSON configuration: tenants, applications (with their secrets) and users.")
    var config: String?

    @Option(help: "The RSA signing key (PEM): loaded if the file exists, else generated and saved with mode 0600. Without it, a new key each start.")
    var keyFile: String?

    @Option(help: "Write an example configuration (a demo tenant, an application, two users) to PATH with mode 0600, print its ids, and exit. The application's secret is read from standard input; only its SHA-256 is written.")
    var writeExampleConfig: String?

    func run() async throws {
        if let path = self.writeExampleConfig {
            try Self.writeExample(to: path)
            return
        }
        guard let configPath = self.config else {
            throw ValidationError("say --config PATH (or --write-example-config PATH to make one)")
        }
        let tenants: [EntraEmulator.Tenant]
        do {
            tenants = try JSONDecoder().decode(DevIdPConfiguration.self, from: Data(contentsOf: URL(fileURLWithPath: configPath))).tenants
        } catch {
            throw ValidationError("cannot read the configuration \(configPath): \(error)")
        }
        let parts = self.listen.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("--listen must be HOST:PORT, not \(self.listen)") }
        let emulator = try EntraEmulator(tenants: tenants, signingKey: try self.signingKey())
        try await emulator.start(host: String(parts[0]), port: port)
        print("milestone-dev-idp: a local Entra ID emulator (development and tests only, never production) at \(emulator.authority)")
        for tenant in tenants {
            print("  tenant \(tenant.id): \(tenant.applications.count) application(s), users \(tenant.users.map(\.email).joined(separator: ", "))")
        }
        fflush(nil)
        try await withTaskCancellationHandler {
            try await emulator.waitUntilClosed()
        } onCancel: {
            Task { try? await emulator.stop() }
        }
    }

    private func signingKey() throws -> EntraEmulator.SigningKey? {
        guard let path = self.keyFile else { return nil }
        if FileManager.default.fileExists(atPath: path) {
            let key = try RSAPrivateKey(pem: String(contentsOfFile: path, encoding: .utf8))
            return try EntraEmulator.SigningKey(id: "dev-\(Self.fingerprint(key))", key: key)
        }
        let key = try RSAPrivateKey()
        try Self.writePrivately(try key.pem(), to: path)
        return try EntraEmulator.SigningKey(id: "dev-\(Self.fingerprint(key))", key: key)
    }

    private static func fingerprint(_ key: RSAPrivateKey) throws -> String {
        String(Base64URL.encode(Crypto.sha256(try key.publicComponents().modulus)).prefix(12))
    }

    static func writeExample(to path: String) throws {
        let tenantID = UUID().uuidString.lowercased()
        let clientID = UUID().uuidString.lowercased()
        var secret = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        if secret.hasSuffix("\n") { secret.removeLast() }
        guard !secret.isEmpty else { throw ValidationError("pipe the demo application's client secret to standard input") }
        let configuration = DevIdPConfiguration(tenants: [
            EntraEmulator.Tenant(
                id: tenantID, domains: ["demo.onmicrosoft.com"],
                applications: [EntraEmulator.Application(clientID: clientID, secretSHA256: Base64URL.encode(Crypto.sha256(Array(secret.utf8))))],
                users: [
                    EntraEmulator.User(email: "ada@demo.onmicrosoft.com", name: "Ada Lovelace"),
                    EntraEmulator.User(email: "alan@demo.onmicrosoft.com", name: "Alan Turing"),
                ]
            ),
        ])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writePrivately(String(decoding: try encoder.encode(configuration), as: UTF8.self) + "\n", to: path)
        print("tenant-id \(tenantID)")
        print("client-id \(clientID)")
    }

    static func writePrivately(_ text: String, to path: String) throws {
        do {
            try PrivateFile.write(Data(text.utf8), to: path, exclusive: false)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

struct DevIdPConfiguration: Codable {
    var tenants: [EntraEmulator.Tenant]
}
