internal import CCurl
import Dispatch
import Foundation
import Synchronization

/// Outbound HTTP(S) through libcurl, for talking to identity providers: TLS verification always on,
/// connect and total timeouts, a cap on the response size, and redirects followed only within the same
/// scheme, host and port (at most 3). libcurl's calls block, so each request runs on a dispatch thread, never
/// on Swift concurrency's pool. No curl type crosses this API.
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
        try await self.send(url: url, form: nil)
    }

    /// POSTs `form` as `application/x-www-form-urlencoded` to `url`.
    public func post(_ url: String, form: [(String, String)]) async throws(HTTPFailure) -> HTTPResponse {
        try await self.send(url: url, form: form)
    }

    private func send(url: String, form: [(String, String)]?) async throws(HTTPFailure) -> HTTPResponse {
        let configuration = self.configuration
        let body = form.map(Self.encode)
        let result: Result<HTTPResponse, HTTPFailure> = await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(returning: Self.perform(url: url, body: body, configuration: configuration))
            }
        }
        return try result.get()
    }

    /// `a=b&c=d`, each part percent-encoded as a form wants it.
    static func encode(_ form: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return form.map { key, value in
            (key.addingPercentEncoding(withAllowedCharacters: allowed) ?? "") + "="
                + (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")
        }.joined(separator: "&")
    }

    private static func perform(url: String, body: String?, configuration: Configuration) -> Result<HTTPResponse, HTTPFailure> {
        var current = url
        for _ in 0...3 {
            let result = self.performOnce(url: current, body: body, configuration: configuration)
            guard case .success(let response) = result, (300...399).contains(response.status), let location = response.location else {
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

    /// The response body collected by the write callback, bounded.
    private final class Sink {
        var data: [UInt8] = []
        let limit: Int
        var overflowed = false
        init(limit: Int) { self.limit = limit }
    }

    private static func performOnce(url: String, body: String?, configuration: Configuration) -> Result<HTTPResponse, HTTPFailure> {
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
            if let body {
                _ = mc_setopt_long(handle, CURLOPT_POST, 1)
                _ = mc_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, body)
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
        return .success(HTTPResponse(status: status, body: sink.data, location: location.map { String(cString: $0) }))
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

/// A response: its status, body and (for redirects) where it points.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
    public var location: String?

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
