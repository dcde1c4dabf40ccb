#!/usr/bin/python3
"""A hostile client of the Milestone RPC protocol: for a given time, sends every method of the services
named well-formed frames whose requests are random — strings empty, huge, full of control characters,
combining marks, right-to-left text, NUL; integers at their extremes; enums no version knows; repeated
fields long and short; nested messages half-filled — and one request in four with its encoded bytes
mutated (bits flipped, bytes cut, garbage appended). Requests go out pipelined, 32 at a time, on several
connections, with the admin token and a deadline.

What it checks, as a client relies on it (docs/PROTOCOL.md §3-§5):
- every call is answered with a CallResponse and a documented status; never INTERNAL, UNKNOWN or
  DATA_LOSS (a handler that let a bad input through to a failure it did not foresee);
- a valid frame never costs the connection (no GoAway, no close);
- the service is still healthy at the end.

Message classes are built at run time from Protos/ (as protocol-conformance.py does). The admin token
comes from MILESTONE_ADMIN_TOKEN, never from the command line.

Usage: hostile-client.py HOST:PORT SECONDS SERVICE...   e.g. milestone.directory.v1.Directory
  prints the calls made and their statuses, and each failure; exits 1 on a failure
"""
import collections
import importlib.util
import os
import random
import struct
import sys
import time

from google.protobuf import descriptor

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("conformance", os.path.join(here, "protocol-conformance.py"))
conformance = importlib.util.module_from_spec(spec)
spec.loader.exec_module(conformance)
M, Connection, Frame, request = conformance.M, conformance.Connection, conformance.Frame, conformance.request

STATUS_NAMES = {0: "OK", 1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED",
                5: "NOT_FOUND", 6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED",
                9: "FAILED_PRECONDITION", 10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED",
                13: "INTERNAL", 14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED"}
NEVER = {2, 13, 15}
FD = descriptor.FieldDescriptor

STRINGS = [
    "", " ", "a", "org_", "org_" + "a" * 20, "ten_" + "b" * 20, "acme", "ACME", "admin@example.com",
    "\u00e9\u0301\u0301\u0301", "\u202eevil\u202c", "\U0001F600" * 50, "x" * 5000, "\t\r\n", "\x01\x7f",
    "a\x00b", "../../etc/passwd", "' OR 1=1 --", "%00%ff", "<script>alert(1)</script>", "\ufeffbom",
    "https://login.microsoftonline.com", "00000000-0000-0000-0000-000000000000", "-1", "9" * 40,
    "AAAA", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "_____w", "AQIDBAUGBwgJCgsMDQ4PEA", "eyJhbGciOiJub25lIn0.e30.",
]
INTS = [0, 1, -1, 2, 7, 100, 1000, 1 << 31, -(1 << 31), (1 << 31) - 1, (1 << 63) - 1, -(1 << 63), 1 << 32]


def random_string(rng):
    if rng.random() < 0.7:
        return rng.choice(STRINGS)
    alphabet = "abcXYZ019-_.@ \u00e9\u4e2d\U0001F680\u0000\u200b"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))


def clamp(field, value):
    """`value` fitted to the field's integer type (protobuf refuses what does not fit)."""
    bits = 32 if field.type in (FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32, FD.TYPE_UINT32, FD.TYPE_FIXED32, FD.TYPE_ENUM) else 64
    unsigned = field.type in (FD.TYPE_UINT32, FD.TYPE_FIXED32, FD.TYPE_UINT64, FD.TYPE_FIXED64)
    if unsigned:
        return value % (1 << bits)
    return (value + (1 << (bits - 1))) % (1 << bits) - (1 << (bits - 1))


def random_value(field, rng, depth):
    if field.type == FD.TYPE_STRING:
        return random_string(rng)
    if field.type == FD.TYPE_BYTES:
        return bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 1, 16, 300])))
    if field.type == FD.TYPE_BOOL:
        return rng.random() < 0.5
    if field.type in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
        return rng.choice([0.0, -1.0, 1e308, float("nan")])
    if field.type == FD.TYPE_ENUM:
        return clamp(field, rng.choice([v.number for v in field.enum_type.values] + [99, -5, 1 << 20]))
    return clamp(field, rng.choice(INTS) if rng.random() < 0.8 else rng.getrandbits(64))


def fill(message, rng, depth=0):
    """Sets a random subset of `message`'s fields to random values (nested messages to depth 3)."""
    for field in message.DESCRIPTOR.fields:
        if rng.random() < 0.3:
            continue
        if field.containing_oneof is not None and message.WhichOneof(field.containing_oneof.name) is not None:
            continue
        if field.type == FD.TYPE_MESSAGE:
            if depth >= 3:
                continue
            if field.label == FD.LABEL_REPEATED:
                for _ in range(rng.choice([0, 1, 2, 5, 40])):
                    fill(getattr(message, field.name).add(), rng, depth + 1)
            else:
                fill(getattr(message, field.name), rng, depth + 1)
                if field.containing_oneof is not None:
                    getattr(message, field.name).SetInParent()
        elif field.label == FD.LABEL_REPEATED:
            values = getattr(message, field.name)
            for _ in range(rng.choice([0, 1, 3, 10, 200])):
                try:
                    values.append(random_value(field, rng, depth))
                except ValueError:
                    pass
        else:
            try:
                setattr(message, field.name, random_value(field, rng, depth))
            except ValueError:
                pass  # a string python-protobuf refuses to hold
    return message


def mutate(data, rng):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        if choice < 0.4 and data:
            position = rng.randrange(len(data))
            data[position] ^= 1 << rng.randrange(8)
        elif choice < 0.7 and data:
            del data[rng.randrange(len(data)):]
        else:
            data += bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 12)))
    return bytes(data)


def methods_of(service_names):
    """(method path, input message class) for every method of the named services."""
    pool = next(iter(M.values())).DESCRIPTOR.file.pool
    found = []
    for name in service_names:
        service = pool.FindServiceByName(name)
        for method in service.methods:
            found.append((f"{name}/{method.name}", M[method.input_type.full_name]))
    return found


def main():
    if len(sys.argv) < 4 or ":" not in sys.argv[1] or not sys.argv[2].isdigit():
        print("\n".join(__doc__.strip().splitlines()[-2:]), file=sys.stderr)
        return 2
    address, seconds, services = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    admin = os.environ.get("MILESTONE_ADMIN_TOKEN")
    if not admin:
        print("hostile-client: set MILESTONE_ADMIN_TOKEN", file=sys.stderr)
        return 2
    seed = int(os.environ.get("HOSTILE_SEED", str(int(time.time()))))
    rng = random.Random(seed)
    methods = methods_of(services)
    metadata = [("authorization", f"Bearer {admin}")]
    failures = []
    statuses = collections.Counter()
    by_method = collections.Counter()
    connections = [Connection(address) for _ in range(3)]
    for connection in connections:
        connection.socket.settimeout(60)
    end = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < end and len(failures) < 20:
        connection = connections[rounds % len(connections)]
        rounds += 1
        sent = {}
        frames = []
        for _ in range(32):
            method, message_class = rng.choice(methods)
            payload = fill(message_class(), rng).SerializeToString()
            while len(payload) > 1 << 20:
                # Far below the 4 MiB frame limit, whose breach rightly costs the connection (§7).
                payload = fill(message_class(), rng).SerializeToString()
            mutated = rng.random() < 0.25
            if mutated:
                payload = mutate(payload, rng)
            call_id = connection.next_call_id
            connection.next_call_id += 1
            frame = request(call_id, method, payload=payload, metadata=metadata)
            frame.request.timeout_micros = 20_000_000
            sent[call_id] = (method, mutated, payload)
            frames.append(Connection.framed(frame))
        try:
            connection.send_raw(b"".join(frames))
            while sent:
                answer = connection.read_frame()
                kind = answer.WhichOneof("kind")
                if kind == "goAway" or kind == "go_away":
                    failures.append(f"GoAway on a valid frame: {answer}")
                    return report(seed, statuses, by_method, failures, closed=True)
                if kind != "response":
                    continue
                method, mutated, payload = sent.pop(answer.response.call_id)
                status = answer.response.status
                statuses[STATUS_NAMES.get(status, str(status))] += 1
                by_method[method.rsplit("/", 1)[1]] += 1
                if status in NEVER or status not in STATUS_NAMES:
                    failures.append(
                        f"{method} answered {STATUS_NAMES.get(status, status)} ({answer.response.message!r}) "
                        f"to a{' mutated' if mutated else ''} request of {len(payload)} bytes: {payload[:200].hex()}"
                    )
        except (OSError, conformance.Closed) as error:
            failures.append(f"the connection failed on valid frames: {error!r}")
            return report(seed, statuses, by_method, failures, closed=True)
    health = Connection(address)
    answer = health.call(conformance.HEALTH_CHECK, M["milestone.health.v1.HealthCheckRequest"]())
    health_status = M["milestone.health.v1.HealthCheckResponse"].FromString(answer.payload).status if answer.status == 0 else None
    if health_status != 1:
        failures.append(f"the health check after the run answered status {answer.status}, serving status {health_status}")
    return report(seed, statuses, by_method, failures, closed=False)


def report(seed, statuses, by_method, failures, closed):
    total = sum(statuses.values())
    print(f"hostile-client: {total} calls over {len(by_method)} methods (seed {seed}): "
          + ", ".join(f"{name} {count}" for name, count in statuses.most_common()))
    for failure in failures:
        print(f"not ok - {failure}")
    if not failures:
        print("ok - every call answered with a documented status, never INTERNAL/UNKNOWN/DATA_LOSS; "
              "no valid frame cost the connection; the service is healthy after the run")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
