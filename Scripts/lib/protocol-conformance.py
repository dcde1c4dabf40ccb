#!/usr/bin/python3
"""A client of the Milestone RPC protocol in another language, written from Protos/ and docs/PROTOCOL.md
alone (nothing of the Swift code): it checks, against a running milestone-directory, what the document
promises a client — the framing and its worked examples, multiplexed calls correlated by call id, pings,
metadata and request ids, bearer tokens and roles, status codes, idempotency keys, and the server's answer
to each kind of bad input (GoAway, then close) with the server still serving afterwards.

Message classes are built at run time from the .proto files (protoc-c's FileDescriptorSet, read by
python3-protobuf): no generated Python code is kept. Tokens come from the environment
(MILESTONE_ADMIN_TOKEN, MILESTONE_SERVICE_TOKEN), never from the command line.

Usage: protocol-conformance.py HOST:PORT [--drain PID]
  prints "ok - ..." / "not ok - ...", exits 1 on a failure; with --drain, ends by sending SIGTERM to the
  service's process PID and checking its graceful drain (§6)
"""
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import uuid

from google.protobuf import descriptor_pb2, message_factory

PROTOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Protos")
STATUS = {
    "OK": 0, "CANCELLED": 1, "INVALID_ARGUMENT": 3, "NOT_FOUND": 5, "ALREADY_EXISTS": 6,
    "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8, "ABORTED": 10, "UNIMPLEMENTED": 12,
    "UNAUTHENTICATED": 16,
}
HEALTH_CHECK = "milestone.health.v1.Health/Check"
DIRECTORY = "milestone.directory.v1.Directory/"


def load_messages():
    """Every message of Protos/, by full name, compiled from the .proto files."""
    protos = os.path.normpath(PROTOS)
    files = sorted(
        os.path.relpath(os.path.join(root, name), protos)
        for root, _, names in os.walk(protos) for name in names if name.endswith(".proto")
    )
    with tempfile.TemporaryDirectory() as work:
        out = os.path.join(work, "set.bin")
        subprocess.run(
            ["protoc-c", f"-I{protos}", "--include_imports", f"--descriptor_set_out={out}", *files],
            check=True,
        )
        with open(out, "rb") as f:
            descriptors = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    return message_factory.GetMessages(descriptors.file)


M = load_messages()
Frame = M["milestone.rpc.v1.Frame"]


class Closed(Exception):
    pass


class Connection:
    """One TCP connection: frames are a 4-byte big-endian length, then a protobuf Frame (§1)."""

    def __init__(self, address):
        host, port = address.rsplit(":", 1)
        self.socket = socket.create_connection((host, int(port)), timeout=10)
        self.next_call_id = 1

    def close(self):
        self.socket.close()

    def send_raw(self, data):
        self.socket.sendall(data)

    @staticmethod
    def framed(frame):
        body = frame.SerializeToString()
        return struct.pack(">I", len(body)) + body

    def send(self, frame):
        self.send_raw(self.framed(frame))

    def _read_exactly(self, count):
        data = b""
        while len(data) < count:
            chunk = self.socket.recv(count - len(data))
            if not chunk:
                raise Closed(f"the connection closed after {len(data)} of {count} bytes")
            data += chunk
        return data

    def read_frame(self):
        (length,) = struct.unpack(">I", self._read_exactly(4))
        return Frame.FromString(self._read_exactly(length))

    def read_raw_frame(self):
        (length,) = struct.unpack(">I", self._read_exactly(4))
        return self._read_exactly(length)

    def expect_closed(self):
        """True once the server has closed the connection (reads EOF within the socket's timeout)."""
        try:
            while self.socket.recv(4096):
                pass
            return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def call(self, method, message=None, metadata=(), payload=None):
        """Sends one request and returns its CallResponse (other frames are skipped)."""
        frame = request(self.next_call_id, method, message, metadata, payload)
        self.next_call_id += 1
        self.send(frame)
        while True:
            answer = self.read_frame()
            if answer.WhichOneof("kind") == "response" and answer.response.call_id == frame.request.call_id:
                return answer.response


def request(call_id, method, message=None, metadata=(), payload=None):
    """A Frame holding a CallRequest (§2)."""
    frame = Frame()
    frame.request.call_id = call_id
    frame.request.method = method
    for key, value in metadata:
        entry = frame.request.metadata.add()
        entry.key, entry.value = key, value
    frame.request.payload = payload if payload is not None else (message.SerializeToString() if message else b"")
    return frame


def metadata_value(response, key):
    return next((entry.value for entry in response.metadata if entry.key == key), None)


def bearer(token):
    return [("authorization", f"Bearer {token}")]


class Checks:
    def __init__(self, address, admin, service):
        self.address, self.admin, self.service = address, admin, service
        self.failures = 0
        self.count = 0

    def check(self, name, condition, detail=""):
        self.count += 1
        if condition:
            print(f"ok - {name}")
        else:
            self.failures += 1
            print(f"not ok - {name}{': ' + detail if detail else ''}")

    def connect(self):
        return Connection(self.address)

    # §1 and §11: the bytes of the document's examples.
    def worked_examples(self):
        frame = Frame()
        frame.cancel.call_id = 300
        self.check("§1: a cancel of call 300 is 00 00 00 05 1A 03 08 AC 02",
                   Connection.framed(frame) == bytes.fromhex("000000051A0308AC02"), Connection.framed(frame).hex())
        c = self.connect()
        c.send_raw(bytes.fromhex("000000260A24080112") + b"\x20" + HEALTH_CHECK.encode())
        raw = c.read_raw_frame()
        shape = re.fullmatch(rb"\x12\x27\x08\x01\x22\x1f\x0a\x0cx-request-id\x12\x0f([0-9a-f]{15})\x2a\x02\x08\x01", raw)
        self.check("§11: the health check sent byte for byte is answered with the documented bytes", shape is not None, raw.hex())
        c.close()

    def framing(self):
        c = self.connect()
        ping = Frame()
        ping.ping.opaque = 0xDEADBEEF
        # A zero-length frame, then a ping split across two writes.
        data = struct.pack(">I", 0) + Connection.framed(ping)
        c.send_raw(data[:6])
        c.send_raw(data[6:])
        answer = c.read_frame()
        self.check("§1/§6: an empty frame is ignored; a ping split across writes gets a pong with its opaque",
                   answer.WhichOneof("kind") == "pong" and answer.pong.opaque == 0xDEADBEEF, str(answer))
        # Several requests in one write, answered by call id (§5).
        HealthCheckRequest = M["milestone.health.v1.HealthCheckRequest"]
        frames = [
            request(10, HEALTH_CHECK, HealthCheckRequest()),
            request(11, DIRECTORY + "ListOrganizations", M["milestone.directory.v1.ListOrganizationsRequest"](), bearer(self.service)),
            request(12, "milestone.nothing.v1.Nothing/Call"),
            request(13, HEALTH_CHECK, HealthCheckRequest(service="milestone.nothing.v1.Nothing")),
        ]
        c.send_raw(b"".join(Connection.framed(f) for f in frames))
        statuses = {}
        while len(statuses) < 4:
            answer = c.read_frame()
            if answer.WhichOneof("kind") == "response":
                statuses[answer.response.call_id] = answer.response.status
        self.check("§5: four calls in one write get four responses, correlated by call id",
                   statuses == {10: 0, 11: 0, 12: STATUS["UNIMPLEMENTED"], 13: STATUS["NOT_FOUND"]}, str(statuses))
        response = c.call(HEALTH_CHECK, HealthCheckRequest(service="milestone.directory.v1.Directory"))
        HealthCheckResponse = M["milestone.health.v1.HealthCheckResponse"]
        self.check("§9: the health of a named service is SERVING",
                   response.status == 0 and HealthCheckResponse.FromString(response.payload).status == 1, str(response))
        # A cancel for an unknown call is ignored; the connection keeps working.
        cancel = Frame()
        cancel.cancel.call_id = 999
        c.send(cancel)
        response = c.call(HEALTH_CHECK)
        self.check("§5: a cancel of an unknown call is ignored", response.status == 0, str(response))
        c.close()

    def metadata(self):
        c = self.connect()
        response = c.call(HEALTH_CHECK, metadata=[("x-request-id", "conformance-1.a:b_c")])
        self.check("§4: a well-formed x-request-id is echoed", metadata_value(response, "x-request-id") == "conformance-1.a:b_c")
        response = c.call(HEALTH_CHECK, metadata=[("x-request-id", "forged\nline")])
        made = metadata_value(response, "x-request-id") or ""
        self.check("§4: an x-request-id that could forge a log line is replaced by 15 hex digits",
                   response.status == 0 and re.fullmatch("[0-9a-f]{15}", made) is not None, made)
        response = c.call(HEALTH_CHECK, metadata=[("X-Upper", "v")])
        self.check("§4: an uppercase metadata key is INVALID_ARGUMENT naming it",
                   response.status == STATUS["INVALID_ARGUMENT"] and "X-Upper" in response.message, response.message)
        self.check("§2: a failed call's response carries an x-request-id too",
                   re.fullmatch("[0-9a-f]{15}", metadata_value(response, "x-request-id") or "") is not None, str(response))
        response = c.call(HEALTH_CHECK, metadata=[(f"k{i}", "v") for i in range(65)])
        self.check("§4: 65 metadata entries are INVALID_ARGUMENT", response.status == STATUS["INVALID_ARGUMENT"], response.message)
        c.close()

    def authentication(self):
        c = self.connect()
        List = M["milestone.directory.v1.ListOrganizationsRequest"]
        method = DIRECTORY + "ListOrganizations"
        cases = [
            ("no token", [], "UNAUTHENTICATED"),
            ("an unknown token", bearer("not-a-token"), "UNAUTHENTICATED"),
            ("another scheme", [("authorization", f"Basic {self.service}")], "UNAUTHENTICATED"),
            ("the service token, scheme in lowercase", [("authorization", f"bearer {self.service}")], "OK"),
        ]
        for name, metadata, expected in cases:
            response = c.call(method, List(), metadata)
            self.check(f"§8: a read with {name} is {expected}", response.status == STATUS[expected], f"{response.status} {response.message}")
            self.check(f"§8: the answer to {name} does not show a token",
                       self.admin not in str(response) and self.service not in str(response))
        Create = M["milestone.directory.v1.CreateOrganizationRequest"]
        response = c.call(DIRECTORY + "CreateOrganization", Create(name="Conformance Service Org"), bearer(self.service))
        self.check("§8: a mutation with the service token is PERMISSION_DENIED", response.status == STATUS["PERMISSION_DENIED"], response.message)
        c.close()

    def directory_calls(self):
        c = self.connect()
        admin = bearer(self.admin)
        Create = M["milestone.directory.v1.CreateOrganizationRequest"]
        Organization = M["milestone.directory.v1.Organization"]
        name = f"Conformance {uuid.uuid4().hex[:8]}"
        response = c.call(DIRECTORY + "CreateOrganization", Create(name=name, admin_email="it@example.com"), admin)
        self.check("a mutation with the admin token is OK", response.status == 0, response.message)
        organization = Organization.FromString(response.payload)
        self.check("the response payload is the method's output message",
                   organization.name == name and organization.id != "" and organization.version > 0, str(organization))
        response = c.call(DIRECTORY + "CreateOrganization", Create(name=name, admin_email="other@example.com"), admin)
        self.check("§3: a duplicate name is ALREADY_EXISTS", response.status == STATUS["ALREADY_EXISTS"], response.message)
        response = c.call(DIRECTORY + "CreateOrganization", Create(name="", admin_email="it@example.com"), admin)
        self.check("§3: a field failing validation is INVALID_ARGUMENT naming it",
                   response.status == STATUS["INVALID_ARGUMENT"] and "name" in response.message, response.message)
        response = c.call(DIRECTORY + "CreateOrganization", payload=b"\xff\xff\xff", metadata=admin)
        self.check("§7: a payload that is not the request message is INVALID_ARGUMENT naming the type",
                   response.status == STATUS["INVALID_ARGUMENT"] and "CreateOrganizationRequest" in response.message, response.message)
        response = c.call(DIRECTORY + "CreateOrganization", Create(name="Nul\x00Org", admin_email="it@example.com"), admin)
        self.check("§2: a NUL in a payload's string is INVALID_ARGUMENT (not cut at the NUL)",
                   response.status == STATUS["INVALID_ARGUMENT"] and "NUL" in response.message, f"{response.status} {response.message}")
        response = c.call(DIRECTORY + "GetTenant", M["milestone.directory.v1.GetTenantRequest"](id="no-such-tenant"), admin)
        self.check("§3: an unknown id is NOT_FOUND", response.status == STATUS["NOT_FOUND"], response.message)
        Update = M["milestone.directory.v1.UpdateOrganizationRequest"]
        response = c.call(DIRECTORY + "UpdateOrganization",
                          Update(id=organization.id, name=name + " renamed", expected_version=organization.version + 7), admin)
        self.check("§3: a stale expected_version is ABORTED", response.status == STATUS["ABORTED"], response.message)

        # §4: the same idempotency key with the same request answers the first call's result.
        CreateTenant = M["milestone.directory.v1.CreateTenantRequest"]
        Tenant = M["milestone.directory.v1.Tenant"]
        slug = f"conf-{uuid.uuid4().hex[:8]}"
        key = [("idempotency-key", uuid.uuid4().hex)]
        first = c.call(DIRECTORY + "CreateTenant", CreateTenant(slug=slug, display_name="Conformance"), admin + key)
        again = c.call(DIRECTORY + "CreateTenant", CreateTenant(slug=slug, display_name="Conformance"), admin + key)
        self.check("§4: a repeated call with its idempotency key gets the first call's result",
                   first.status == 0 and again.status == 0
                   and Tenant.FromString(first.payload).id == Tenant.FromString(again.payload).id,
                   f"{first.status} {again.status} {again.message}")
        other = c.call(DIRECTORY + "CreateTenant", CreateTenant(slug=slug + "x", display_name="Other"), admin + key)
        self.check("§4: the same idempotency key with another request is INVALID_ARGUMENT",
                   other.status == STATUS["INVALID_ARGUMENT"], f"{other.status} {other.message}")
        resolved = c.call(DIRECTORY + "ResolveTenant", M["milestone.directory.v1.ResolveTenantRequest"](slug=slug), bearer(self.service))
        self.check("a read with the service token resolves the tenant", resolved.status == 0, resolved.message)
        c.close()

    # §7: each protocol violation gets a GoAway with its status, then the connection is closed.
    def violation(self, name, data, status, message_part):
        c = self.connect()
        c.send_raw(data)
        try:
            answer = c.read_frame()
            go_away = answer.go_away if answer.WhichOneof("kind") == "go_away" else None
        except Closed:
            go_away = None
        self.check(f"§7: {name}: GoAway {status}",
                   go_away is not None and go_away.status == STATUS[status] and message_part in go_away.message,
                   "no GoAway" if go_away is None else f"{go_away.status} {go_away.message}")
        self.check(f"§7: {name}: then the connection is closed", c.expect_closed())
        c.close()
        after = self.connect()
        self.check(f"§7: after {name}, the server still answers on a new connection", after.call(HEALTH_CHECK).status == 0)
        after.close()

    def bad_input(self):
        zero = Connection.framed(request(0, HEALTH_CHECK))
        self.violation("call id 0", zero, "INVALID_ARGUMENT", "0")
        response = Frame()
        response.response.call_id = 5
        self.violation("a response frame sent by a client", Connection.framed(response), "INVALID_ARGUMENT", "response")
        self.violation("bytes that are not a Frame", struct.pack(">I", 3) + b"\xff\xff\xff", "INVALID_ARGUMENT", "malformed")
        self.violation("a length prefix above the 4 MiB limit", struct.pack(">I", 0x7FFFFFF0), "RESOURCE_EXHAUSTED", "4194304")
        amplifying = request(1, HEALTH_CHECK, metadata=[("", "")] * 2_000_000)
        self.violation("a 4 MB frame of 2,000,000 empty metadata entries", Connection.framed(amplifying), "INVALID_ARGUMENT", "1024")
        nul = Connection.framed(request(1, HEALTH_CHECK + "\x00junk"))
        self.violation("a NUL in the method", nul, "INVALID_ARGUMENT", "NUL")
        # §7: connections each inside a frame just under the limit share one budget (32 MiB): the ninth is
        # refused with RESOURCE_EXHAUSTED instead of the server buffering 36 MiB.
        held, refused = [], None
        for _ in range(9):
            c = self.connect()
            held.append(c)
            try:
                c.send_raw(struct.pack(">I", 4_190_000) + b"\x00" * 4_000_000)
            except OSError:
                pass
        # The others hold their frames and never answer: read only the connection(s) the server spoke on,
        # waiting for that event (at most 10 s), not a time-out per connection.
        readable, _, _ = select.select([c.socket for c in held], [], [], 10)
        for c in held:
            if c.socket in readable and refused is None:
                try:
                    answer = c.read_frame()
                    if answer.WhichOneof("kind") == "go_away":
                        refused = answer.go_away
                except (Closed, OSError):
                    pass
            c.close()
        self.check("§7: nine connections each inside a 4 MB frame: one gets GoAway RESOURCE_EXHAUSTED (large frames)",
                   refused is not None and refused.status == STATUS["RESOURCE_EXHAUSTED"] and "large frames" in refused.message,
                   str(refused))
        after = self.connect()
        self.check("§7: the connections gone, the server answers again", after.call(HEALTH_CHECK).status == 0)
        after.close()
        # The connection closing inside a frame costs nothing but that connection.
        half = self.connect()
        half.send_raw(struct.pack(">I", 100) + b"\x0a\x05")
        half.close()
        after = self.connect()
        self.check("§7: a connection closed inside a frame leaves the server serving", after.call(HEALTH_CHECK).status == 0)
        after.close()


    def drain(self, pid):
        """§6: SIGTERM makes the server send GoAway UNAVAILABLE naming the last call it accepted, then close."""
        c = self.connect()
        c.call(HEALTH_CHECK)
        c.call(HEALTH_CHECK)
        os.kill(pid, signal.SIGTERM)
        go_away = None
        try:
            while go_away is None:
                answer = c.read_frame()
                if answer.WhichOneof("kind") == "go_away":
                    go_away = answer.go_away
        except Closed:
            pass
        self.check("§6: on SIGTERM, GoAway UNAVAILABLE with the last call id the server accepted (2)",
                   go_away is not None and go_away.status == 14 and go_away.last_call_id == 2, str(go_away))
        self.check("§6: then the connection is closed", c.expect_closed())
        c.close()


def main():
    arguments = sys.argv[1:]
    drain_pid = None
    if len(arguments) == 3 and arguments[1] == "--drain" and arguments[2].isdigit():
        drain_pid = int(arguments[2])
        arguments = arguments[:1]
    if len(arguments) != 1 or ":" not in arguments[0]:
        print("\n".join(__doc__.strip().splitlines()[-3:]), file=sys.stderr)
        return 2
    admin, service = os.environ.get("MILESTONE_ADMIN_TOKEN"), os.environ.get("MILESTONE_SERVICE_TOKEN")
    if not admin or not service:
        print("protocol-conformance: set MILESTONE_ADMIN_TOKEN and MILESTONE_SERVICE_TOKEN", file=sys.stderr)
        return 2
    checks = Checks(arguments[0], admin, service)
    groups = [checks.worked_examples, checks.framing, checks.metadata, checks.authentication,
              checks.directory_calls, checks.bad_input]
    if drain_pid is not None:
        groups.append(lambda: checks.drain(drain_pid))
    for group in groups:
        try:
            group()
        except (OSError, Closed) as error:
            checks.check(f"{getattr(group, '__name__', 'drain')} ran to its end", False, repr(error))
    print(f"{checks.count - checks.failures} passed, {checks.failures} failed")
    return 1 if checks.failures else 0


if __name__ == "__main__":
    sys.exit(main())
