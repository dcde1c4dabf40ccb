internal import CCurl
import Foundation
import NIOPosix
import Synchronization

/// Outbound HTTP(S) through libcurl, for talking to identity providers: TLS verification always on,
/// connect and total timeouts, a cap on the response size, and redirects followed only within the same
/// scheme, host and port (at most 3). libcurl's calls block, so each request runs on a thread of a pool kept
/// for them (`NIOThreadPool`, 8 threads), never on Swift concurrency's pool or Dispatch's global queues
/// (whose threads the cooperative pool shares). No curl type crosses this API.
public struct HTTPClient: Sendable {
    public struct Configuration: Sendable {
        /// How long to wait for the TCP (and TLS) connection (default 5 s).
        public var connectTimeout: Duration
        /// How long the whole request may take, redirects included (default 10 s).
        public var totalTimeout: Duration
        /// Responses larger than this are cut off with ``HTTPFailure/Kind/responseTooLarge`` (default 1 MiB).
        public var maxResponseBytes: Int

        public init(connectTimeout: Duration = .seconds(5), totalTimeout: Duration = .seconds(10), maxResponseBytes: Int = 1 << 20) {
            self.connectTimeout = connectTimeout
            self.totalTimeout = totalTimeout
            self.maxResponseBytes = maxResponseBytes
        }
    }

    public let configuration: Configuration

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        Self.initializeOnce
    }

    private static let initializeOnce: Void = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }()

    /// GETs `url`.
    public func get(_ url: String) async throws(HTTPFailure) -> HTTPResponse {
        try await self.send(HTTPRequest(url: url))
    }

    /// POSTs `form` as `application/x-www-form-urlencoded` to `url`.
    public func post(_ url: String, form: [(String, String)]) async throws(HTTPFailure) -> HTTPResponse {
        try await self.send(
            HTTPRequest(
                method: "POST", url: url, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: Array(Self.encode(form).utf8)
            )
        )
    }

    /// Sends `request`; follows same-host redirects (at most 3) only when it says so.
    public func send(_ request: HTTPRequest) async throws(HTTPFailure) -> HTTPResponse {
        let configuration = self.configuration
        let result: Result<HTTPResponse, HTTPFailure>
        do {
            result = try await Self.threads.runIfActive { Self.perform(request, configuration: configuration) }
        } catch {
            result = .failure(HTTPFailure(.other, "the HTTP client's threads are not running: \(error)"))
        }
        return try result.get()
    }

    /// The threads libcurl's blocking calls run on: started once, for the life of the process.
    private static let threads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 8)
        pool.start()
        return pool
    }()

    /// `a=b&c=d`, each part percent-encoded as a form (or a URL's query) wants it.
    public static func formEncoded(_ form: [(String, String)]) -> String {
        self.encode(form)
    }

    /// One form (or query) value, percent-encoded: everything but letters, digits and `-._~`.
    public static func formComponent(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// `a=b&c=d`, each part percent-encoded as a form wants it.
    static func encode(_ form: [(String, String)]) -> String {
        form.map { key, value in Self.formComponent(key) + "=" + Self.formComponent(value) }.joined(separator: "&")
    }

    private static func perform(_ request: HTTPRequest, configuration: Configuration) -> Result<HTTPResponse, HTTPFailure> {
        let url = request.url
        var current = url
        for _ in 0...3 {
            var attempt = request
            attempt.url = current
            let result = self.performOnce(attempt, configuration: configuration)
            guard request.followsRedirects, case .success(let response) = result, (300...399).contains(response.status),
                let location = response.location
            else {
                return result
            }
            guard let next = URL(string: location, relativeTo: URL(string: current))?.absoluteURL,
                let from = URL(string: current), next.scheme == from.scheme, next.host == from.host, next.port == from.port
            else {
                return .failure(HTTPFailure(.redirectToOtherHost, "\(url) redirects to \(location), another host: not followed"))
            }
            current = next.absoluteString
        }
        return .failure(HTTPFailure(.other, "\(url) redirects more than 3 times"))
    }

    /// The response body and headers collected by the callbacks, bounded.
    private final class Sink {
        var data: [UInt8] = []
        var headers: [(name: String, value: String)] = []
        let limit: Int
        var overflowed = false
        init(limit: Int) { self.limit = limit }
    }

    private static func performOnce(_ request: HTTPRequest, configuration: Configuration) -> Result<HTTPResponse, HTTPFailure> {
        let url = request.url
        var requestHeaders: UnsafeMutablePointer<curl_slist>?
        for (name, value) in request.headers where !name.contains(where: { $0 == ":" || $0.isNewline }) && !value.contains(where: \.isNewline) {
            requestHeaders = curl_slist_append(requestHeaders, "\(name): \(value)")
        }
        defer { curl_slist_free_all(requestHeaders) }
        guard let handle = curl_easy_init() else { return .failure(HTTPFailure(.other, "libcurl could not start a request")) }
        defer { curl_easy_cleanup(handle) }
        let sink = Sink(limit: configuration.maxResponseBytes)
        let context = Unmanaged.passRetained(sink)
        defer { context.release() }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let milliseconds = { (duration: Duration) -> Int in
            let (seconds, attoseconds) = duration.components
            return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
        }
        var code = errorBuffer.withUnsafeMutableBufferPointer { errors -> CURLcode in
            _ = mc_setopt_string(handle, CURLOPT_URL, url)
            _ = mc_setopt_long(handle, CURLOPT_PROTOCOLS, Int(CURLPROTO_HTTP | CURLPROTO_HTTPS))
            _ = mc_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
            _ = mc_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1)
            _ = mc_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2)
            _ = mc_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
            _ = mc_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, milliseconds(configuration.connectTimeout))
            _ = mc_setopt_long(handle, CURLOPT_TIMEOUT_MS, milliseconds(configuration.totalTimeout))
            _ = mc_setopt_string(handle, CURLOPT_USERAGENT, "milestone-identity")
            _ = mc_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errors.baseAddress)
            _ = mc_setopt_pointer(handle, CURLOPT_WRITEDATA, context.toOpaque())
            _ = mc_setopt_write_function(handle) { data, size, count, context in
                guard let data, let context else { return 0 }
                let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
                let bytes = size * count
                if sink.data.count + bytes > sink.limit {
                    sink.overflowed = true
                    return 0  // aborts the transfer
                }
                sink.data.append(contentsOf: UnsafeRawBufferPointer(start: data, count: bytes))
                return bytes
            }
            _ = mc_setopt_pointer(handle, CURLOPT_HEADERDATA, context.toOpaque())
            _ = mc_setopt_header_function(handle) { data, size, count, context in
                guard let data, let context else { return 0 }
                let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
                let bytes = size * count
                guard sink.headers.count < 200 else { return bytes }
                let line = String(decoding: UnsafeRawBufferPointer(start: data, count: bytes), as: UTF8.self)
                if line.hasPrefix("HTTP/") { sink.headers.removeAll() }  // a new response (after 100 Continue)
                if let colon = line.firstIndex(of: ":") {
                    sink.headers.append((
                        String(line[..<colon]).trimmingCharacters(in: .whitespaces),
                        String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespacesAndNewlines)
                    ))
                }
                return bytes
            }
            if let requestHeaders { _ = mc_setopt_pointer(handle, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(requestHeaders)) }
            if let body = request.body {
                _ = mc_setopt_long(handle, CURLOPT_POST, 1)
                _ = body.withUnsafeBytes { mc_setopt_postfields_binary(handle, $0.baseAddress, $0.count) }
            }
            if request.method != "GET" && !(request.method == "POST" && request.body != nil) {
                _ = mc_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method)
            }
            return curl_easy_perform(handle)
        }
        if sink.overflowed {
            return .failure(HTTPFailure(.responseTooLarge, "the response of \(url) exceeds \(configuration.maxResponseBytes) bytes"))
        }
        guard code == CURLE_OK else {
            let buffered = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let detail = buffered.isEmpty ? String(cString: curl_easy_strerror(code)) : buffered
            return .failure(HTTPFailure(Self.kind(code), detail))
        }
        var status = 0
        code = mc_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var location: UnsafeMutablePointer<CChar>?
        _ = mc_getinfo_string(handle, CURLINFO_REDIRECT_URL, &location)
        return .success(HTTPResponse(status: status, body: sink.data, location: location.map { String(cString: $0) }, headers: sink.headers))
    }

    private static func kind(_ code: CURLcode) -> HTTPFailure.Kind {
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: .dns
        case CURLE_COULDNT_CONNECT: .connectionRefused
        case CURLE_OPERATION_TIMEDOUT: .timeout
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH:
            .tls
        default: .other
        }
    }
}

/// A request: method, URL, headers (lines with a newline are dropped), body.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]?
    /// Follow same-host redirects (default true); false returns the 3xx response itself.
    public var followsRedirects: Bool

    public init(method: String = "GET", url: String, headers: [(String, String)] = [], body: [UInt8]? = nil, followsRedirects: Bool = true) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.followsRedirects = followsRedirects
    }
}

/// A response: its status, body, headers and (for redirects) where it points.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
    public var location: String?
    /// The response's headers, in order.
    public var headers: [(name: String, value: String)] = []

    /// The first value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        self.headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// Every value of header `name` (e.g. `Set-Cookie`).
    public func headerValues(_ name: String) -> [String] {
        self.headers.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
    }

    /// The body as UTF-8 text.
    public var text: String { String(decoding: self.body, as: UTF8.self) }

    /// The body parsed as a JSON object, or nil.
    public var jsonObject: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(self.body))) as? [String: Any]
    }
}

/// Why a request got no response.
public struct HTTPFailure: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case dns, connectionRefused, timeout, tls, responseTooLarge, redirectToOtherHost, other
    }

    public let kind: Kind
    public let detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    public var description: String { self.detail }
}
