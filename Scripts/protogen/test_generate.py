#!/usr/bin/python3
"""Tests of generate.py: naming rules, what it writes for a small contract, what it refuses, --check.

Run: /usr/bin/python3 -m unittest discover -s Scripts/protogen (Scripts/test does).
"""

import tempfile
import textwrap
import unittest
from pathlib import Path

import generate as g

SAMPLE = """
// The sample service's contract.
syntax = "proto3";

package milestone.sample.v1;

// A thing with a name.
message Thing {
  // Its id: "thg_" and 20 characters.
  string id = 1;
  repeated string tag_ids = 2;
  Kind kind = 3;
  Inner inner = 4;
  oneof owner {
    string user_id = 5;
    string group_id = 6;
  }
  message Inner { bytes blob = 1; }
}

enum Kind {
  KIND_UNSPECIFIED = 0;
  // A big one.
  KIND_BIG = 1;
}

message GetThingRequest { string id = 1; }
message Empty {}

// Things, by id.
service Things {
  // Returns the thing, or NOT_FOUND.
  rpc GetThing(GetThingRequest) returns (Thing) {
    option idempotency_level = NO_SIDE_EFFECTS;
  }
  rpc Forget(GetThingRequest) returns (Empty);
}
"""


def generate_from(files: dict[str, str]) -> Path:
    """Writes `files` under a temporary Protos/ and generates into a temporary root; returns the root."""
    root = Path(tempfile.mkdtemp())
    protos = root / "Protos"
    for name, text in files.items():
        path = protos / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    g.generate(root, protos)
    return root


class NamingTests(unittest.TestCase):
    def test_namespaces(self):
        self.assertEqual(g.namespace_name("milestone.directory.v1"), "DirectoryV1")
        self.assertEqual(g.namespace_name("milestone.rpc.v1"), "RPCV1")
        self.assertEqual(g.namespace_name("acme.billing.v2"), "AcmeBillingV2")
        with self.assertRaises(g.GenerationError):
            g.namespace_name("")

    def test_members(self):
        self.assertEqual(g.lower_camel("redirect_uri"), "redirectURI")
        self.assertEqual(g.lower_camel("tenant_ids"), "tenantIDs")
        self.assertEqual(g.method_member_name("CreateOrganization"), "createOrganization")
        self.assertEqual(g.method_member_name("Check"), "check")
        self.assertEqual(g.method_member_name("SetSSOConfiguration"), "setSSOConfiguration")
        self.assertEqual(g.method_member_name("SSOConfiguration"), "ssoConfiguration")
        self.assertEqual(g.method_member_name("GetJWKS"), "getJWKS")
        self.assertEqual(g.enum_case_name("ServingStatus", "SERVING_STATUS_NOT_SERVING"), "notServing")
        self.assertEqual(g.swift_ident("default"), "`default`")

    def test_c_names_match_protoc_c(self):
        self.assertEqual(g.c_struct_name("milestone.rpc.v1.CallRequest", "milestone.rpc.v1"), "Milestone__Rpc__V1__CallRequest")
        self.assertEqual(g.c_descriptor_name("milestone.rpc.v1.CallRequest", "milestone.rpc.v1"),
                         "milestone__rpc__v1__call_request__descriptor")


class OutputTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = generate_from({"milestone/sample/v1/sample.proto": SAMPLE})
        cls.wire = (cls.root / g.WIRE_DIR / "milestone_sample_v1_sample.pb.swift").read_text()
        cls.rpc = (cls.root / g.RPC_DIR / "milestone_sample_v1_sample.rpc.swift").read_text()
        cls.namespaces = (cls.root / g.WIRE_DIR / "Namespaces.pb.swift").read_text()

    def test_types_live_in_the_package_namespace(self):
        self.assertIn("public enum SampleV1 {}", self.namespaces)
        self.assertIn("extension SampleV1 {", self.wire)
        self.assertIn("public struct Thing: WireMessage {", self.wire)
        self.assertIn("public var kind: SampleV1.Kind = .init()", self.wire)
        self.assertIn("public var inner: SampleV1.Thing.Inner?", self.wire)
        self.assertIn("extension SampleV1.Thing.Inner: ProtobufCBridged {", self.wire)

    def test_comments_become_doc_comments(self):
        self.assertIn("    /// A thing with a name.\n    public struct Thing", self.wire)
        self.assertIn('        /// Its id: "thg_" and 20 characters.\n        public var id: String', self.wire)
        self.assertIn("        /// A big one.\n        case big", self.wire)
        self.assertIn("/// Returns the thing, or NOT_FOUND.", self.rpc)

    def test_messages_get_a_memberwise_initializer(self):
        self.assertIn("public init(id: String = \"\", tagIDs: [String] = [], kind: SampleV1.Kind = .init(), "
                      "inner: SampleV1.Thing.Inner? = nil, owner: Owner? = nil)", self.wire)
        self.assertNotIn("public init(_", self.wire)

    def test_oneofs_become_enums(self):
        self.assertIn("public enum Owner: Hashable, Sendable {", self.wire)
        self.assertIn("case userID(String)", self.wire)

    def test_a_oneof_string_set_to_empty_gets_a_string_of_its_own(self):
        # protobuf-c leaves out a oneof string pointing at the shared empty default.
        self.assertIn('c.pointee.user_id = try arena.oneofString(value, field: "user_id")', self.wire)
        self.assertIn('c.pointee.id = try arena.string(self.id, field: "id")', self.wire)

    def test_methods_carry_name_and_idempotency(self):
        self.assertIn('name: "milestone.sample.v1.Things/GetThing",\n            idempotency: .noSideEffects', self.wire)
        self.assertIn('name: "milestone.sample.v1.Things/Forget",\n            idempotency: .unknown', self.wire)

    def test_service_protocol_client_and_method_enum(self):
        self.assertIn("extension SampleV1.Things {", self.rpc)
        self.assertIn("public protocol ServiceProtocol: RegistrableRPCService {", self.rpc)
        self.assertIn("func getThing(\n            _ request: SampleV1.GetThingRequest,\n            context: ServerContext\n"
                      "        ) async throws -> SampleV1.Thing", self.rpc)
        self.assertIn("func access(for method: Method) -> MethodAccess", self.rpc)
        self.assertIn('case getThing = "milestone.sample.v1.Things/GetThing"', self.rpc)
        self.assertIn("public struct Client: Sendable {", self.rpc)
        self.assertIn("try await self.caller.unary(SampleV1.Things.getThing, request, options: options)", self.rpc)
        self.assertIn("try await self.caller.unary(SampleV1.Things.forget, request, options: options.withIdempotencyKey())", self.rpc)
        self.assertIn("router.register(SampleV1.Things.forget, access: self.access(for: .forget))", self.rpc)

    def test_empty_messages_touch_no_unused_value(self):
        empty = self.wire[self.wire.index("extension SampleV1.Empty: ProtobufCBridged"):]
        self.assertIn("_ = pointer", empty.split("func fill")[0])

    def test_the_umbrella_header_exposes_every_descriptor(self):
        header = (self.root / g.C_DIR / "include" / "CMilestoneProtos.h").read_text()
        self.assertIn("cmp_descriptor_Milestone__Sample__V1__Thing__Inner(void)", header)

    def test_files_without_services_get_no_rpc_file(self):
        root = generate_from({"milestone/plain/v1/plain.proto": 'syntax = "proto3";\npackage milestone.plain.v1;\nmessage A { int32 x = 1; }\n'})
        self.assertFalse((root / g.RPC_DIR / "milestone_plain_v1_plain.rpc.swift").exists())

    def test_two_packages_may_both_have_an_organization(self):
        root = generate_from({
            "milestone/a/v1/a.proto": 'syntax = "proto3";\npackage milestone.a.v1;\nmessage Organization { string id = 1; }\n',
            "milestone/b/v1/b.proto": 'syntax = "proto3";\npackage milestone.b.v1;\nmessage Organization { string id = 1; }\n',
        })
        self.assertIn("extension AV1 {", (root / g.WIRE_DIR / "milestone_a_v1_a.pb.swift").read_text())
        self.assertIn("extension BV1 {", (root / g.WIRE_DIR / "milestone_b_v1_b.pb.swift").read_text())


class RefusalTests(unittest.TestCase):
    def assertRefused(self, body: str, fragment: str):
        text = 'syntax = "proto3";\npackage milestone.bad.v1;\n' + body
        with self.assertRaises(g.GenerationError) as caught:
            generate_from({"milestone/bad/v1/bad.proto": text})
        self.assertIn(fragment, str(caught.exception))

    def test_maps(self):
        self.assertRefused("message A { map<string, string> m = 1; }", "map fields")

    def test_proto3_optional(self):
        self.assertRefused("message A { optional string s = 1; }", "optional")

    def test_streaming(self):
        self.assertRefused("message A {}\nservice S { rpc Watch(A) returns (stream A); }", "streaming")

    def test_reserved_names(self):
        self.assertRefused("message Client { string id = 1; }", "reserved")

    def test_same_name_in_one_package(self):
        self.assertRefused("message S {}\nservice S { rpc Get(S) returns (S); }", "already defined")

    def test_proto2(self):
        with self.assertRaises(g.GenerationError) as caught:
            generate_from({"milestone/old/v1/old.proto": 'syntax = "proto2";\npackage milestone.old.v1;\nmessage A { optional int32 x = 1; }\n'})
        self.assertIn("proto3", str(caught.exception))


class CheckTests(unittest.TestCase):
    def test_stale_missing_and_extra_files_are_reported(self):
        committed = generate_from({"milestone/sample/v1/sample.proto": SAMPLE})
        fresh = generate_from({"milestone/sample/v1/sample.proto": SAMPLE})
        self.assertEqual(g.stale_files(committed, fresh), [])
        edited = committed / g.WIRE_DIR / "milestone_sample_v1_sample.pb.swift"
        edited.write_text(edited.read_text() + "// hand edit\n")
        extra = committed / g.RPC_DIR / "Leftover.rpc.swift"
        extra.write_text("// left over\n")
        missing = committed / g.WIRE_DIR / "Namespaces.pb.swift"
        missing.unlink()
        stale = g.stale_files(committed, fresh)
        self.assertIn(edited.relative_to(committed).as_posix(), stale)
        self.assertIn(extra.relative_to(committed).as_posix(), stale)
        self.assertIn(missing.relative_to(committed).as_posix(), stale)


if __name__ == "__main__":
    unittest.main()
