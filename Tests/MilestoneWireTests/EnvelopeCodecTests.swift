import MilestoneWire
import Testing

@Suite("Envelope codec", .timeLimit(.minutes(1)))
struct EnvelopeCodecTests {
    private func roundTrip<M: WireMessage>(_ message: M) throws -> M {
        try M(wireBytes: try message.wireBytes())
    }

    @Test("an empty frame encodes to zero bytes and back")
    func emptyFrame() throws {
        let bytes = try RPCV1.Frame().wireBytes()
        #expect(bytes.isEmpty)
        let decoded = try RPCV1.Frame(wireBytes: bytes)
        #expect(decoded.kind == nil)
        #expect(decoded == RPCV1.Frame())
    }

    @Test("every field kind of a request survives a round trip")
    func requestFields() throws {
        var request = RPCV1.CallRequest()
        request.callID = .max
        request.method = "milestone.health.v1.Health/Check"
        request.timeoutMicros = 1_500_000
        request.metadata = [entry("authorization", "Bearer t"), entry("x-request-id", "abc"), entry("x-request-id", "dup")]
        request.payload = [0, 1, 2, 0, 255]
        var frame = RPCV1.Frame()
        frame.kind = .request(request)
        #expect(try self.roundTrip(frame) == frame)
    }

    @Test("responses with every status, including codes this version does not know")
    func responseStatuses() throws {
        for raw in Int32(0)...20 {
            var response = RPCV1.CallResponse()
            response.callID = UInt64(raw) + 1
            response.status = RPCV1.StatusCode(rawValue: raw)
            response.message = "status \(raw)"
            var frame = RPCV1.Frame()
            frame.kind = .response(response)
            let decoded = try self.roundTrip(frame)
            #expect(decoded == frame)
            guard case .response(let back) = decoded.kind else {
                Issue.record("not a response")
                continue
            }
            #expect(back.status.rawValue == raw)
            if raw > 16 {
                #expect(back.status == .unrecognized(raw))
            }
        }
    }

    @Test("each kind of the oneof", arguments: [
        RPCV1.Frame.Kind.cancel(RPCV1.CallCancel.with { $0.callID = 7 }),
        .ping(RPCV1.Ping.with { $0.opaque = 42 }),
        .pong(RPCV1.Pong.with { $0.opaque = .max }),
        .goAway(RPCV1.GoAway.with {
            $0.lastCallID = 9
            $0.status = .unavailable
            $0.message = "draining"
        }),
        .request(RPCV1.CallRequest()),
        .response(RPCV1.CallResponse()),
    ])
    func oneofKinds(kind: RPCV1.Frame.Kind) throws {
        var frame = RPCV1.Frame()
        frame.kind = kind
        #expect(try self.roundTrip(frame) == frame)
    }

    @Test("unicode strings keep every scalar")
    func unicode() throws {
        let texts = ["héllo wörld", "租户 テナント", "🧑‍💻🏳️‍🌈", "e\u{301}", "\u{10FFFF}", String(repeating: "ß", count: 10_000)]
        for text in texts {
            var response = RPCV1.CallResponse()
            response.message = text
            response.metadata = [entry("x-name", text)]
            let back = try self.roundTrip(response)
            #expect(back.message == text)
            #expect(back.metadata.first?.value == text)
        }
    }

    @Test("a 3 MiB payload and 1,000 metadata entries")
    func large() throws {
        var request = RPCV1.CallRequest()
        request.callID = 1
        request.payload = (0..<(3 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        request.metadata = (0..<1000).map { entry("k\($0)", String(repeating: "v", count: $0)) }
        let back = try self.roundTrip(request)
        #expect(back == request)
    }

    @Test("a frame holds at most 1,024 entries of repeated or unknown fields per message; more are refused before decoding")
    func envelopeEntryCap() throws {
        func frame(metadata count: Int) throws -> [UInt8] {
            var request = RPCV1.CallRequest()
            request.callID = 1
            request.metadata = (0..<count).map { _ in entry("", "") }
            return try RPCV1.Frame(kind: .request(request)).wireBytes()
        }
        #expect(RPCV1.Frame.maxRepeatedEntries == 1_024)
        let atCap = try RPCV1.Frame(wireBytes: try frame(metadata: 1_024))
        guard case .request(let request) = atCap.kind else { Issue.record("not a request: \(atCap)"); return }
        #expect(request.metadata.count == 1_024)

        let over = #expect(throws: WireError.self) { try RPCV1.Frame(wireBytes: try frame(metadata: 1_025)) }
        #expect(over?.code == .malformedMessage)
        #expect(over?.message.contains("more than 1024 entries") == true, "\(String(describing: over))")
        #expect(over?.message.contains("metadata") == true)

        // A request of 1,025 unknown fields (number 15, varint 0): protobuf-c would keep each one.
        let unknown = Array([[UInt8]](repeating: [0x78, 0x00], count: 1_025).joined())
        let body: [UInt8] = [0x08, 0x01] + unknown
        var bytes: [UInt8] = [0x0A] + varint(body.count) + body
        let refused = #expect(throws: WireError.self) { try RPCV1.Frame(wireBytes: bytes) }
        #expect(refused?.message.contains("unknown fields") == true, "\(String(describing: refused))")
        bytes = [0x0A] + varint(2 + 1_000 * 2) + [0x08, 0x01] + Array(unknown.prefix(1_000 * 2))
        #expect(try RPCV1.Frame(wireBytes: bytes).kind != nil)
    }

    @Test("any message holds at most 1,024 unknown fields (a newer peer's additions); more are refused before decoding")
    func unknownFieldCap() throws {
        // A health check request of unknown fields (number 15, varint 0).
        let fields = { (count: Int) in Array([[UInt8]](repeating: [0x78, 0x00], count: count).joined()) }
        #expect(try HealthV1.HealthCheckRequest(wireBytes: fields(1_024)) == HealthV1.HealthCheckRequest())
        let error = #expect(throws: WireError.self) { try HealthV1.HealthCheckRequest(wireBytes: fields(1_025)) }
        #expect(error?.code == .malformedMessage)
        #expect(error?.message.contains("more than 1024 entries of repeated or unknown fields (unknown fields)") == true, "\(String(describing: error))")
    }

    @Test("decoding takes at most 16 times the input's size from the heap: empty entries are refused, real messages pass")
    func decodingHeapLimit() throws {
        // 100,000 empty tenants: 200 KB that protobuf-c would make into 100,000 structs and pointers.
        let empties = Array([[UInt8]](repeating: [0x0A, 0x00], count: 100_000).joined())
        let error = #expect(throws: WireError.self) { try DirectoryV1.ListTenantsResponse(wireBytes: empties) }
        #expect(error?.code == .malformedMessage)
        #expect(error?.message.contains("would take more than") == true, "\(String(describing: error))")

        var page = DirectoryV1.ListTenantsResponse()
        page.tenants = (0..<500).map { index in
            var tenant = DirectoryV1.Tenant()
            tenant.id = "tnt_\(index)_0123456789abcdef"
            tenant.slug = "tenant-\(index)"
            tenant.displayName = "Tenant \(index)"
            tenant.organizationID = "org_0123456789abcdef"
            tenant.version = 1
            return tenant
        }
        page.nextPageToken = String(repeating: "t", count: 120)
        #expect(try DirectoryV1.ListTenantsResponse(wireBytes: try page.wireBytes()) == page)
    }

    @Test("the bytes are protobuf's: a developer with any runtime reads them")
    func knownBytes() throws {
        var cancel = RPCV1.CallCancel()
        cancel.callID = 300
        // field 1, varint 300 = 0xAC 0x02
        #expect(try cancel.wireBytes() == [0x08, 0xAC, 0x02])
        var frame = RPCV1.Frame()
        frame.kind = .cancel(cancel)
        // field 3 (cancel), length-delimited, 3 bytes
        #expect(try frame.wireBytes() == [0x1A, 0x03, 0x08, 0xAC, 0x02])

        var request = RPCV1.CallRequest()
        request.callID = 1
        request.method = "a/B"
        frame.kind = .request(request)
        // field 1 (request) { field 1 = 1, field 2 = "a/B" }
        #expect(try frame.wireBytes() == [0x0A, 0x07, 0x08, 0x01, 0x12, 0x03, 0x61, 0x2F, 0x42])
    }

    @Test("fields this version does not know are skipped")
    func unknownFields() throws {
        // CallCancel with call_id 5, then an unknown field 15 (varint 1) and field 16 (string "x").
        let bytes: [UInt8] = [0x08, 0x05, 0x78, 0x01, 0x82, 0x01, 0x01, 0x78]
        let cancel = try RPCV1.CallCancel(wireBytes: bytes)
        #expect(cancel.callID == 5)
    }

    @Test("garbage is refused with a clear error", arguments: [
        [0xFF, 0xFF, 0xFF],  // a truncated varint key
        [0x0A, 0x10, 0x08],  // a length past the end
        [0x0B],  // wire type 3 (start group)
        [0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],  // an 11-byte varint
    ] as [[UInt8]])
    func garbage(bytes: [UInt8]) throws {
        let error = #expect(throws: WireError.self) { try RPCV1.Frame(wireBytes: bytes) }
        #expect(error?.code == .malformedMessage)
        #expect(error?.message.contains("Frame") == true)
    }

    @Test("a string that is not UTF-8 is refused")
    func invalidUTF8() throws {
        // CallCancel has no string; use MetadataEntry: field 1 (key) = 0xC3 0x28 (invalid UTF-8).
        let bytes: [UInt8] = [0x0A, 0x02, 0xC3, 0x28]
        let error = #expect(throws: WireError.self) { try RPCV1.MetadataEntry(wireBytes: bytes) }
        #expect(error?.code == .invalidUTF8)
    }

    @Test("a string holding NUL cannot be encoded (protobuf-c strings are C strings)")
    func nulInString() throws {
        var entry = RPCV1.MetadataEntry()
        entry.key = "a\u{0}b"
        let error = #expect(throws: WireError.self) { try entry.wireBytes() }
        #expect(error?.code == .stringContainsNUL)
    }

    @Test("a string holding NUL is refused when decoding, at any depth, instead of being cut at the NUL")
    func nulWhenDecoding() throws {
        // HealthCheckRequest{service: "svc\0x"}
        let flat: [UInt8] = [0x0A, 0x05] + Array("svc".utf8) + [0x00] + Array("x".utf8)
        #expect(throws: WireError.self) { try HealthV1.HealthCheckRequest(wireBytes: flat) }
        do {
            _ = try HealthV1.HealthCheckRequest(wireBytes: flat)
        } catch let error as WireError {
            #expect(error.code == .stringContainsNUL)
            #expect(error.message.contains("service"))
        }
        // Frame{request{call_id: 1, metadata: [{key: "authorization", value: "Bearer t\0junk"}]}}
        let value = Array("Bearer t".utf8) + [0] + Array("junk".utf8)
        let entry: [UInt8] = [0x0A, 13] + Array("authorization".utf8) + [0x12, UInt8(value.count)] + value
        let request: [UInt8] = [0x08, 0x01, 0x22, UInt8(entry.count)] + entry
        let frame: [UInt8] = [0x0A, UInt8(request.count)] + request
        #expect(throws: WireError.self) { try RPCV1.Frame(wireBytes: frame) }
        // NUL inside a bytes field is data, not a problem.
        var echo = TestingV1.EchoRequest()
        echo.payload = [0, 1, 0]
        #expect(try self.roundTrip(echo).payload == [0, 1, 0])
    }

    @Test("decoding from any collection of bytes")
    func decodeFromSlice() throws {
        var ping = RPCV1.Ping()
        ping.opaque = 99
        let bytes = [0xEE] + (try ping.wireBytes()) + [0xEE]
        let back = try RPCV1.Ping(wireBytes: bytes[1..<(bytes.count - 1)])
        #expect(back.opaque == 99)
    }
}

@Suite("Generated services and enums", .timeLimit(.minutes(1)))
struct GeneratedCodeTests {
    @Test("methods carry their wire name and idempotency from Protos/")
    func methods() {
        #expect(HealthV1.Health.check.name == "milestone.health.v1.Health/Check")
        #expect(HealthV1.Health.check.isIdempotent)
        #expect(TestingV1.Echo.echo.isIdempotent)
        #expect(!TestingV1.Echo.echoOnce.isIdempotent)
        #expect(TestingV1.Echo.methodNames == ["milestone.testing.v1.Echo/Echo", "milestone.testing.v1.Echo/EchoOnce"])
    }

    @Test("enum prefixes are stripped and values map both ways")
    func enums() throws {
        #expect(HealthV1.HealthCheckResponse.ServingStatus.allCases == [.unknown, .serving, .notServing])
        #expect(HealthV1.HealthCheckResponse.ServingStatus(rawValue: 2) == .notServing)
        #expect(RPCV1.StatusCode.unauthenticated.rawValue == 16)
        var response = HealthV1.HealthCheckResponse()
        response.status = .unrecognized(7)
        #expect(try HealthV1.HealthCheckResponse(wireBytes: try response.wireBytes()).status == .unrecognized(7))
    }

    @Test("repeated strings and nested messages round trip")
    func repeatedStrings() throws {
        var response = TestingV1.EchoResponse()
        response.metadataKeys = ["a", "", "ü", String(repeating: "z", count: 300)]
        response.payload = [1, 2, 3]
        #expect(try TestingV1.EchoResponse(wireBytes: try response.wireBytes()) == response)
    }

    // Found by Scripts/fuzz-wire: protobuf-c leaves out a oneof string pointing at its default, so "" was
    // lost on the wire and the scope came back unset.
    @Test("a oneof string set to \"\" reaches the wire and comes back set", arguments: ["", "org_x"])
    func emptyOneofString(organizationID: String) throws {
        let scope = IdentityV1.Scope(kind: .organizationID(organizationID))
        let bytes = try scope.wireBytes()
        #expect(bytes == [0x0A, UInt8(organizationID.utf8.count)] + Array(organizationID.utf8))
        #expect(try IdentityV1.Scope(wireBytes: bytes) == scope)
        #expect(try IdentityV1.Scope(kind: .instance(false)).wireBytes() == [0x10, 0x00])
    }
}

private func entry(_ key: String, _ value: String) -> RPCV1.MetadataEntry {
    var entry = RPCV1.MetadataEntry()
    entry.key = key
    entry.value = value
    return entry
}

extension WireMessage {
    static func with(_ configure: (inout Self) -> Void) -> Self {
        var message = Self()
        configure(&message)
        return message
    }
}

/// The protobuf varint encoding of `value`.
private func varint(_ value: Int) -> [UInt8] {
    var value = UInt64(value)
    var bytes: [UInt8] = []
    repeat {
        let low = UInt8(value & 0x7F)
        value >>= 7
        bytes.append(value == 0 ? low : low | 0x80)
    } while value != 0
    return bytes
}
