import ArgumentParser
import Foundation
import MilestoneClient
import MilestoneRPC
import MilestoneWire

/// `milestone sso …`: single sign-on configurations of organizations and of the instance.
struct SSOCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sso",
        abstract: "Configure single sign-on (Microsoft Entra ID or OpenID Connect) for an organization or the instance.",
        discussion: "Tenants inherit their organization's enabled configuration, else the instance's. Secrets are read from stdin or a file, never from the command line, and never shown again.",
        subcommands: [Set.self, Get.self, Delete.self, List.self, Test.self, Explain.self]
    )

    /// `--org ORG` or `--instance`.
    struct ScopeOptions: ParsableArguments {
        @Option(help: "The organization (name or id).") var org: String?
        @Flag(help: "The instance's configuration (single-tenant deployments, and every tenant's fallback).") var instance = false

        func validate() throws {
            if (self.org == nil) == !self.instance {
                throw ValidationError("give either --org ORG or --instance")
            }
        }

        func scope(_ directory: DirectoryV1.Directory.Client) async throws -> (scope: IdentityV1.Scope, name: String) {
            if let org = self.org {
                let organization = try await directory.organization(named: org)
                return (IdentityV1.Scope(kind: .organizationID(organization.id)), organization.name)
            }
            return (IdentityV1.Scope(kind: .instance(true)), "the instance")
        }
    }

    enum ProviderName: String, ExpressibleByArgument, CaseIterable {
        case entra, oidc
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or replace a configuration.",
            discussion: "The client secret comes from stdin (--client-secret-stdin) or a file (--client-secret-file); one trailing newline is dropped."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var target: ScopeOptions
        @Option(help: "entra (Microsoft Entra ID) or oidc (generic OpenID Connect).") var provider: ProviderName = .entra
        @Option(help: "The Application (client) ID.") var clientID: String
        @Option(help: "Entra: the Directory (tenant) ID, a GUID or a verified domain.") var tenantID: String?
        @Option(help: "OIDC: the issuer URL (https).") var issuer: String?
        @Flag(help: "Read the client secret from standard input.") var clientSecretStdin = false
        @Option(help: "Read the client secret from this file.") var clientSecretFile: String?
        @Option(help: "When the secret expires, YYYY-MM-DD (for a warning before it does).") var secretExpires: String?
        @Flag(help: "Store it disabled: tenants fall back to the instance's configuration.") var disabled = false

        func validate() throws {
            if self.clientSecretStdin == (self.clientSecretFile != nil) {
                throw ValidationError("give the client secret with --client-secret-stdin or --client-secret-file PATH (never on the command line)")
            }
            switch self.provider {
            case .entra where self.tenantID == nil:
                throw ValidationError("--tenant-id is required for Microsoft Entra ID")
            case .oidc where self.issuer == nil:
                throw ValidationError("--issuer is required for OpenID Connect")
            default:
                break
            }
        }

        func readSecret() throws -> String {
            let data: Data
            if let path = self.clientSecretFile {
                guard let contents = FileManager.default.contents(atPath: path) else {
                    throw CLIError("cannot read the client secret from \(path)")
                }
                data = contents
            } else {
                data = FileHandle.standardInput.readDataToEndOfFile()
            }
            var secret = String(decoding: data, as: UTF8.self)
            if secret.hasSuffix("\r\n") { secret.removeLast(2) } else if secret.hasSuffix("\n") { secret.removeLast() }
            guard !secret.isEmpty else { throw CLIError("the client secret is empty") }
            return secret
        }

        func run() async throws {
            let secret = try self.readSecret()
            try await self.global.showIdentity { identity, directory in
                let (scope, name) = try await self.target.scope(directory)
                let configuration = try await identity.setSSOConfiguration(
                    .init(
                        scope: scope, provider: self.provider == .entra ? .entraID : .oidc, clientID: self.clientID,
                        directoryTenantID: self.tenantID ?? "", issuerURL: self.issuer ?? "", clientSecret: secret,
                        disabled: self.disabled, secretExpiresOn: self.secretExpires ?? ""
                    )
                )
                return SSORendering.render(configuration, name: name, self.global)
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a configuration (never its secret).")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var target: ScopeOptions

        func run() async throws {
            try await self.global.showIdentity { identity, directory in
                let (scope, name) = try await self.target.scope(directory)
                return SSORendering.render(try await identity.getSSOConfiguration(.init(scope: scope)), name: name, self.global)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a configuration.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var target: ScopeOptions

        func run() async throws {
            try await self.global.showIdentity { identity, directory in
                let (scope, name) = try await self.target.scope(directory)
                _ = try await identity.deleteSSOConfiguration(.init(scope: scope))
                return self.global.output == .json ? Rendering.jsonText(["deleted": name]) : "deleted the SSO configuration of \(name)"
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every configuration: the instance's, then organizations'.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await self.global.showIdentity { identity, directory in
                let configurations = try await identity.listSSOConfigurations().configurations
                switch self.global.output {
                case .json:
                    return Rendering.jsonText(["configurations": configurations.map { SSORendering.json($0) }])
                case .table:
                    let names = Dictionary(try await directory.organizations().collect().map { ($0.id, $0.name) }) { first, _ in first }
                    return SSORendering.table(configurations, organizationNames: names, wide: self.global.wide)
                }
            }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Test a configuration against its identity provider, step by step (exit 1 when a step fails).",
            discussion: "Steps: the discovery document, the signing keys, a client_credentials grant, the redirect URIs to register, the secret's expiry."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var target: ScopeOptions

        func run() async throws {
            let report = try await self.global.withIdentity { identity, directory in
                let (scope, name) = try await self.target.scope(directory)
                return (name, try await identity.testConnection(.init(scope: scope)))
            }
            let (name, result) = report
            switch self.global.output {
            case .json:
                Rendering.printJSON([
                    "ok": result.ok,
                    "redirect_uris": result.redirectURIs,
                    "steps": result.steps.map { step in
                        ["name": step.name, "outcome": SSORendering.outcome(step.outcome), "detail": step.detail, "fix": step.fix]
                    },
                ] as [String: Any])
            case .table:
                print("Test Connection for \(name):")
                for step in result.steps {
                    print("  \(SSORendering.outcome(step.outcome).uppercased().padding(toLength: 8, withPad: " ", startingAt: 0)) \(step.name): \(step.detail)")
                    if !step.fix.isEmpty { print("           fix: \(step.fix)") }
                }
                print(result.ok ? "The configuration works." : "The configuration does not work yet: see the failed steps.")
            }
            if !result.ok { throw ExitCode(1) }
        }
    }

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Which configuration a tenant's sign-in uses, why, and its redirect URI.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The tenant's slug (leave out for the instance).") var tenant: String?

        func run() async throws {
            try await self.global.showIdentity { identity, _ in
                let effective = try await identity.getEffectiveConfiguration(.init(tenantSlug: self.tenant ?? ""))
                switch self.global.output {
                case .json:
                    var object: [String: Any] = [
                        "source": SSORendering.source(effective.source), "redirect_uri": effective.redirectURI,
                        "explanation": effective.explanation,
                        "organization_id": effective.organizationID.isEmpty ? NSNull() : effective.organizationID as Any,
                    ]
                    object["configuration"] = effective.configuration.map { SSORendering.json($0) } ?? NSNull()
                    return Rendering.jsonText(object)
                case .table:
                    var lines = [
                        effective.explanation + ".",
                        "",
                        "source:       \(SSORendering.source(effective.source))",
                        "redirect URI: \(effective.redirectURI)   (register it in the App Registration)",
                    ]
                    if let configuration = effective.configuration {
                        lines.append("")
                        lines.append(SSORendering.details(configuration, name: effective.organizationName.isEmpty ? "the instance" : effective.organizationName))
                    }
                    return lines.joined(separator: "\n")
                }
            }
        }
    }
}

extension GlobalOptions {
    /// Prints what `body` renders with clients of the identity and directory services.
    func showIdentity(_ body: (IdentityV1.Identity.Client, DirectoryV1.Directory.Client) async throws -> String) async throws {
        let text: String = try await self.withIdentity(body)
        print(text)
    }
}

/// Renderings of SSO configurations: never a secret, only its hint.
enum SSORendering {
    static func source(_ source: IdentityV1.ConfigurationSource) -> String {
        switch source {
        case .organization: "organization"
        case .instanceSettings: "instance-settings"
        case .instanceEnvironment: "instance-environment"
        case .none: "none"
        default: "unknown"
        }
    }

    static func outcome(_ outcome: IdentityV1.StepOutcome) -> String {
        switch outcome {
        case .ok: "ok"
        case .failed: "failed"
        case .skipped: "skipped"
        case .warning: "warning"
        default: "unknown"
        }
    }

    static func provider(_ provider: IdentityV1.Provider) -> String {
        provider == .oidc ? "oidc" : "entra"
    }

    static func json(_ configuration: IdentityV1.SSOConfiguration) -> [String: Any] {
        var scope: Any = "instance"
        if case .organizationID(let id)? = configuration.scope?.kind { scope = ["organization_id": id] }
        return [
            "scope": scope,
            "provider": self.provider(configuration.provider),
            "client_id": configuration.clientID,
            "directory_tenant_id": configuration.directoryTenantID,
            "issuer_url": configuration.issuerURL,
            "enabled": configuration.enabled,
            "secret": [
                "hint": configuration.secret?.hint ?? "",
                "set_at": configuration.secret.map { $0.setAtMicros == 0 ? "" : Rendering.timestamp($0.setAtMicros) } ?? "",
                "expires_on": configuration.secret?.expiresOn ?? "",
                "days_left": configuration.secret?.expiresOn.isEmpty == false ? configuration.secret?.daysLeft as Any : NSNull(),
            ] as [String: Any],
            "source": self.source(configuration.source),
            "version": configuration.version,
        ]
    }

    static func expiry(_ secret: IdentityV1.SecretInfo?) -> String {
        guard let secret, !secret.expiresOn.isEmpty else { return "-" }
        let warning = secret.daysLeft < 0 ? " (EXPIRED)" : secret.daysLeft <= 30 ? " (expires in \(secret.daysLeft) days: renew it)" : " (\(secret.daysLeft) days left)"
        return secret.expiresOn + warning
    }

    static func details(_ configuration: IdentityV1.SSOConfiguration, name: String) -> String {
        var pairs: [(String, String)] = [
            ("scope", name),
            ("provider", configuration.provider == .oidc ? "OpenID Connect" : "Microsoft Entra ID"),
            ("client id", configuration.clientID),
        ]
        if configuration.provider == .oidc {
            pairs.append(("issuer", configuration.issuerURL))
        } else {
            pairs.append(("tenant id", configuration.directoryTenantID))
        }
        pairs += [
            ("enabled", configuration.enabled ? "yes" : "no"),
            ("secret", configuration.secret?.hint ?? "-"),
            ("secret expires", self.expiry(configuration.secret)),
            ("source", self.source(configuration.source)),
        ]
        if configuration.version > 0 { pairs.append(("version", "\(configuration.version)")) }
        return Rendering.keyValues(pairs)
    }

    static func render(_ configuration: IdentityV1.SSOConfiguration, name: String, _ global: GlobalOptions) -> String {
        global.output == .json ? Rendering.jsonText(self.json(configuration)) : self.details(configuration, name: name)
    }

    static func table(_ configurations: [IdentityV1.SSOConfiguration], organizationNames: [String: String], wide: Bool) -> String {
        let rows = configurations.map { configuration -> [String] in
            var scope = "instance"
            if case .organizationID(let id)? = configuration.scope?.kind { scope = organizationNames[id] ?? id }
            return [
                scope, self.provider(configuration.provider), configuration.clientID,
                configuration.provider == .oidc ? configuration.issuerURL : configuration.directoryTenantID,
                configuration.enabled ? "yes" : "no", configuration.secret?.hint ?? "-", self.expiry(configuration.secret),
                self.source(configuration.source),
            ]
        }
        return Rendering.table(
            header: ["SCOPE", "PROVIDER", "CLIENT ID", "TENANT / ISSUER", "ENABLED", "SECRET", "EXPIRES", "SOURCE"],
            rows: rows, wide: wide
        )
    }
}
