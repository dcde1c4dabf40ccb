import MilestoneWire

// libFuzzer's entry point for the wire decoding every peer's bytes go through (`Scripts/fuzz-wire` builds
// and runs it; it is declared only in the package's `wire` scope, built with `--sanitize=fuzzer`).
//
// The first byte picks the message type (the envelope's `Frame` for most inputs, as a hostile client
// sends it), the rest is that message's encoding. Decoding must return a message or throw `WireError`:
// never crash, hang or read out of bounds (AddressSanitizer is on). A message that decodes must encode,
// and its encoding must decode to the same message.

/// Every message type of `Protos/`, the envelope first.
private let messageTypes: [any WireMessage.Type] = [
    RPCV1.Frame.self, RPCV1.MetadataEntry.self, RPCV1.CallRequest.self, RPCV1.CallResponse.self,
    RPCV1.CallCancel.self, RPCV1.Ping.self, RPCV1.Pong.self, RPCV1.GoAway.self,
    DirectoryV1.Organization.self, DirectoryV1.Tenant.self, DirectoryV1.CreateOrganizationRequest.self,
    DirectoryV1.GetOrganizationRequest.self, DirectoryV1.ListOrganizationsRequest.self,
    DirectoryV1.ListOrganizationsResponse.self, DirectoryV1.UpdateOrganizationRequest.self,
    DirectoryV1.DeleteOrganizationRequest.self, DirectoryV1.DeleteOrganizationResponse.self,
    DirectoryV1.SetOrganizationTenantsRequest.self, DirectoryV1.AddTenantRequest.self,
    DirectoryV1.RemoveTenantRequest.self, DirectoryV1.CreateTenantRequest.self, DirectoryV1.GetTenantRequest.self,
    DirectoryV1.ListTenantsRequest.self, DirectoryV1.ListTenantsResponse.self, DirectoryV1.UpdateTenantRequest.self,
    DirectoryV1.DeleteTenantRequest.self, DirectoryV1.DeleteTenantResponse.self, DirectoryV1.ResolveTenantRequest.self,
    DirectoryV1.ResolveTenantResponse.self,
    HealthV1.HealthCheckRequest.self, HealthV1.HealthCheckResponse.self,
    IdentityV1.Scope.self, IdentityV1.SecretInfo.self, IdentityV1.SSOConfiguration.self,
    IdentityV1.SetSSOConfigurationRequest.self, IdentityV1.GetSSOConfigurationRequest.self,
    IdentityV1.DeleteSSOConfigurationRequest.self, IdentityV1.DeleteSSOConfigurationResponse.self,
    IdentityV1.ListSSOConfigurationsRequest.self, IdentityV1.ListSSOConfigurationsResponse.self,
    IdentityV1.GetEffectiveConfigurationRequest.self, IdentityV1.EffectiveConfiguration.self,
    IdentityV1.TestConnectionRequest.self, IdentityV1.TestStep.self, IdentityV1.TestConnectionReport.self,
    IdentityV1.StartLoginRequest.self, IdentityV1.StartLoginResponse.self, IdentityV1.CompleteLoginRequest.self,
    IdentityV1.User.self, IdentityV1.Session.self, IdentityV1.CompleteLoginResponse.self,
    IdentityV1.ValidateSessionRequest.self, IdentityV1.ValidateSessionResponse.self,
    IdentityV1.RevokeSessionRequest.self, IdentityV1.RevokeSessionResponse.self,
    IdentityV1.RevokeUserSessionsRequest.self, IdentityV1.RevokeUserSessionsResponse.self,
    IdentityV1.ListUsersRequest.self, IdentityV1.ListUsersResponse.self, IdentityV1.GetUserRequest.self,
    TestingV1.EchoRequest.self, TestingV1.EchoResponse.self,
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWire(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    // Half of the inputs are frames; the other half spread over every type.
    let selector = Int(data[0])
    let type = selector < 128 ? RPCV1.Frame.self : messageTypes[selector % messageTypes.count]
    roundTrip(type, UnsafeRawBufferPointer(start: data + 1, count: size - 1))
    return 0
}

private func roundTrip<Message: WireMessage>(_ type: Message.Type, _ bytes: UnsafeRawBufferPointer) {
    let message: Message
    do {
        message = try Message(wireBytes: bytes)
    } catch is WireError {
        return
    } catch {
        fatalError("decoding threw something other than WireError: \(error)")
    }
    let encoded: [UInt8]
    do {
        encoded = try message.wireBytes()
    } catch {
        fatalError("a decoded \(Message.self) does not encode: \(error)")
    }
    let again: Message
    do {
        again = try encoded.withUnsafeBytes { try Message(wireBytes: $0) }
    } catch {
        fatalError("the encoding of a decoded \(Message.self) does not decode: \(error)")
    }
    if again != message {
        fatalError("a \(Message.self) changed in a round trip")
    }
}
