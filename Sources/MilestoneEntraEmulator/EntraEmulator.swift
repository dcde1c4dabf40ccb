import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A local stand-in for Microsoft Entra ID's v2 endpoints, for tests and local development — never a
/// production identity provider. It serves, for the tenants and applications it is given:
/// - `GET /{tenant}/v2.0/.well-known/openid-configuration` (tenant by id or domain);
/// - `GET /{tenant-id}/discovery/v2.0/keys` (a JWKS with one RSA signing key);
/// - `POST /{tenant}/oauth2/v2.0/token` with `grant_type=client_credentials`;
/// answering Entra-shaped errors (`error`, `error_description` starting with `AADSTS…:`, `error_codes`) for an
/// unknown tenant (90002), an unknown application (700016), a wrong secret (7000215), an expired secret
/// (7000222) and a disabled application (7000112).
public final class EntraEmulator: Sendable {
    public struct Application: Sendable {
        public var clientID: String
        public var secret: String
        public var secretExpired: Bool
        public var disabled: Bool

        public init(clientID: String, secret: String, secretExpired: Bool = false, disabled: Bool = false) {
            self.clientID = clientID.lowercased()
            self.secret = secret
            self.secretExpired = secretExpired
            self.disabled = disabled
        }
    }

    public struct Tenant: Sendable {
        /// The directory (tenant) id, a GUID.
        public var id: String
        /// Verified domains that name it too (e.g. `contoso.onmicrosoft.com`).
        public var domains: [String]
        public var applications: [Application]
        /// Serve a JWKS without keys (to test that check).
        public var emptyJWKS: Bool

        public init(id: String, domains: [String] = [], applications: [Application], emptyJWKS: Bool = false) {
            self.id = id.lowercased()
            self.domains = domains.map { $0.lowercased() }
            self.applications = applications
            self.emptyJWKS = emptyJWKS
        }
    }

    private let tenants: [Tenant]
    private let channel: Mutex<(any Channel)?> = Mutex(nil)
    /// The paths of the last 1,000 requests (for tests; bounded for a long-running emulator).
    private let requests = Mutex<[String]>([])

    public init(tenants: [Tenant]) {
        self.tenants = tenants
    }

    /// The base URL clients use as the authority, once started: `http://127.0.0.1:PORT`.
    public private(set) var authority: String {
        get { self.authorityValue.withLock { $0 } }
        set { self.authorityValue.withLock { $0 = newValue } }
    }
    private let authorityValue = Mutex("")

    public var requestPaths: [String] { self.requests.withLock { $0 } }

    /// Listens on 127.0.0.1 (port 0 picks a free one).
    public func start(port: Int = 0) async throws {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(emulator: self))
                }
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
        self.channel.withLock { $0 = channel }
        self.authority = "http://127.0.0.1:\(channel.localAddress?.port ?? port)"
    }

    public func stop() async throws {
        try await self.channel.withLock { $0 }?.close()
    }

    // MARK: Answers

    struct Answer {
        var status: HTTPResponseStatus
        var json: [String: Any]
    }

    func answer(method: HTTPMethod, path: String, body: String) -> Answer {
        self.requests.withLock { requests in
            if requests.count >= 1000 { requests.removeFirst(requests.count - 999) }
            requests.append(String(path.prefix(2048)))
        }
        let parts = path.split(separator: "?")[0].split(separator: "/").map(String.init)
        guard let first = parts.first else { return Answer(status: .notFound, json: ["error": "not_found"]) }
        guard let tenant = self.tenant(named: first) else {
            return self.error(
                .badRequest, "invalid_tenant", 90002,
                "Tenant '\(first)' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            )
        }
        let base = "\(self.authority)/\(tenant.id)"
        switch (method, Array(parts.dropFirst())) {
        case (.GET, ["v2.0", ".well-known", "openid-configuration"]):
            return Answer(status: .ok, json: [
                "issuer": "\(base)/v2.0",
                "authorization_endpoint": "\(base)/oauth2/v2.0/authorize",
                "token_endpoint": "\(base)/oauth2/v2.0/token",
                "jwks_uri": "\(base)/discovery/v2.0/keys",
                "response_types_supported": ["code"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "tenant_region_scope": "EU",
            ])
        case (.GET, ["discovery", "v2.0", "keys"]):
            return Answer(status: .ok, json: ["keys": tenant.emptyJWKS ? [] : [Self.jwk]])
        case (.POST, ["oauth2", "v2.0", "token"]):
            return self.token(tenant, form: Self.form(body))
        default:
            return Answer(status: .notFound, json: ["error": "not_found"])
        }
    }

    private func token(_ tenant: Tenant, form: [String: String]) -> Answer {
        guard form["grant_type"] == "client_credentials" else {
            return self.error(.badRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        }
        let clientID = (form["client_id"] ?? "").lowercased()
        guard let application = tenant.applications.first(where: { $0.clientID == clientID }) else {
            return self.error(
                .badRequest, "unauthorized_client", 700016,
                "Application with identifier '\(clientID)' was not found in the directory '\(tenant.id)'."
            )
        }
        if application.disabled {
            return self.error(.badRequest, "unauthorized_client", 7000112, "Application '\(clientID)' is disabled.")
        }
        guard form["client_secret"] == application.secret else {
            return self.error(
                .unauthorized, "invalid_client", 7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '\(clientID)'."
            )
        }
        if application.secretExpired {
            return self.error(
                .unauthorized, "invalid_client", 7000222,
                "The provided client secret keys for app '\(clientID)' are expired. Visit the Azure portal to create new keys for your app."
            )
        }
        return Answer(status: .ok, json: [
            "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
            "access_token": "emulated.\(UUID().uuidString)",
        ])
    }

    private func tenant(named name: String) -> Tenant? {
        let name = name.lowercased()
        return self.tenants.first { $0.id == name || $0.domains.contains(name) }
    }

    private func error(_ status: HTTPResponseStatus, _ error: String, _ code: Int, _ description: String) -> Answer {
        Answer(status: status, json: [
            "error": error,
            "error_description": "AADSTS\(code): \(description) Trace ID: \(UUID().uuidString.lowercased())",
            "error_codes": [code],
            "timestamp": ISO8601DateFormatter().string(from: Date()),
        ])
    }

    static func form(_ body: String) -> [String: String] {
        var values: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
        return values
    }

    /// A fixed 2048-bit RSA signing key's public half (part 1 checks only that keys are usable; signing
    /// comes with sign-in).
    static var jwk: [String: Any] {
        [
        "kty": "RSA", "use": "sig", "kid": "emulator-key-1", "alg": "RS256", "e": "AQAB",
        "n": "oUTAf_J38kvrHo40Q67TjzY1ufY_lJET8r_w_GueXr-gBQol5p-bYcjQsqimTkZ8T-6JHA5-Wpl6CH_XNeH_Oa3WX6KFzES4B6pQ7bcTNfiJWWdLe9uQyot0QmH0MA_BUGAk_TD-7WG7QwNj0BmQj99sCD5-yV4IINapnarTcGzvEkWXBu__z5mlUeVdwqjjSUf7zLJS55XEBEUuZMDnaXJq_G21DOWQVvAlJRIRYTOxdyuM6ExX_cGP-ho8yCbWFlJGnfeujMvpflXhm6Hy8HjdyNkGPZd5gVQwasD-i3quZ0vMIL6dGtgMeKJKxzBchOrw_9e6Tu5bE3RzFmdlJQ",
        ]
    }
}

/// One HTTP/1.1 connection: collects a request, answers it as JSON.
private final class Handler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let emulator: EntraEmulator
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()

    init(emulator: EntraEmulator) {
        self.emulator = emulator
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body.clear()
        case .body(var chunk):
            if self.body.readableBytes + chunk.readableBytes <= 64 * 1024 { self.body.writeBuffer(&chunk) }
        case .end:
            guard let head = self.head else { return }
            let answer = self.emulator.answer(
                method: head.method, path: head.uri, body: String(buffer: self.body)
            )
            let data = (try? JSONSerialization.data(withJSONObject: answer.json, options: [.sortedKeys])) ?? Data()
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
            headers.add(name: "Content-Length", value: "\(data.count)")
            context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: answer.status, headers: headers))), promise: nil)
            context.write(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: data)))), promise: nil)
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            self.head = nil
        }
    }
}
