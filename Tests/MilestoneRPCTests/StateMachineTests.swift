@testable import MilestoneRPC
import MilestoneWire
import Synchronization
import Testing

@Suite("Pure state and policies", .timeLimit(.minutes(1)))
struct StateMachineTests {
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            self.state &+= 0x9E37_79B9_7F4A_7C15
            var z = self.state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test("connection backoff follows gRPC's numbers")
    func connectionBackoff() {
        var iterator = ConnectionBackoff().makeIterator()
        var generator = SeededGenerator(state: 1)
        var base = 1.0
        for attempt in 0..<20 {
            let (timeout, delay) = iterator.next(using: &generator)
            let expected = min(base, 120)
            #expect(delay.seconds >= expected * 0.8 - 1e-9 && delay.seconds <= expected * 1.2 + 1e-9, "attempt \(attempt)")
            #expect(timeout >= .seconds(20))
            base *= 1.6
        }
    }

    @Test("retry backoff stays within gRFC A6's bounds and at most 5 attempts")
    func retryPolicy() {
        let policy = RetryPolicy(maximumAttempts: 9)
        #expect(policy.maximumAttempts == 5)
        #expect(policy.shouldRetry(.unavailable, attempt: 4))
        #expect(!policy.shouldRetry(.unavailable, attempt: 5))
        #expect(!policy.shouldRetry(.internal, attempt: 1))
        var generator = SeededGenerator(state: 7)
        for attempt in 1...4 {
            let ceiling = min(0.1 * pow2(attempt - 1), 2)
            for _ in 0..<50 {
                let delay = policy.backoff(afterAttempt: attempt, using: &generator).seconds
                #expect(delay >= 0 && delay <= ceiling + 1e-9)
            }
        }
    }

    private func pow2(_ n: Int) -> Double { (0..<n).reduce(1) { value, _ in value * 2 } }

    @Test("bearer tokens: constant-time comparison finds the role")
    func tokens() {
        let tokens = BearerTokens(admin: "aaaa", service: "bbbb")
        #expect(tokens.role(of: "aaaa") == .admin)
        #expect(tokens.role(of: "bbbb") == .service)
        #expect(tokens.role(of: "aaa") == nil)
        #expect(tokens.role(of: "aaaaa") == nil)
        #expect(tokens.role(of: "") == nil)
        #expect(BearerTokens.constantTimeEquals(Array("x".utf8), Array("x".utf8)))
        #expect(!BearerTokens.constantTimeEquals([], [0]))
        #expect(!BearerTokens(admin: "", service: nil).isEmpty == false)
    }

    @Test("endpoints parse and print", arguments: [
        ("127.0.0.1:7401", "127.0.0.1", 7401),
        ("localhost:0", "localhost", 0),
        ("[::1]:80", "::1", 80),
    ])
    func endpoints(text: String, host: String, port: Int) {
        let endpoint = Endpoint(text)
        #expect(endpoint == Endpoint(host: host, port: port))
        #expect(endpoint?.description == text)
    }

    @Test("malformed endpoints are refused", arguments: ["", "host", ":80", "host:", "host:99999", "::1:80", "a b:1", "h:-1"])
    func badEndpoints(text: String) {
        #expect(Endpoint(text) == nil)
    }

    @Test("metadata keys are lowercased and validated; authorization is redacted when printed")
    func metadata() {
        var metadata: Metadata = ["X-Request-ID": "1"]
        #expect(metadata["x-request-id"] == "1")
        metadata.add("2", forKey: "x-request-id")
        #expect(metadata.count == 2)
        metadata["authorization"] = "Bearer secret-token"
        #expect(!metadata.description.contains("secret-token"))
        #expect(Metadata.problem(in: metadata.wireEntries) == nil)
        #expect(Metadata.problem(in: [RPCV1.MetadataEntry.make("Bad Key", "v")])?.contains("Bad Key") == true)
        #expect(Metadata.problem(in: [RPCV1.MetadataEntry.make("", "v")]) != nil)
        #expect(Metadata.problem(in: (0..<65).map { RPCV1.MetadataEntry.make("k\($0)", "v") }) != nil)
        // Keys from the wire are lowercased too, beyond ASCII as well.
        let received = Metadata(wireEntries: [RPCV1.MetadataEntry.make("X-Trace", "t"), RPCV1.MetadataEntry.make("ÄBC", "u")])
        #expect(received.map(\.key) == ["x-trace", "äbc"])
        #expect(received["X-TRACE"] == "t")
    }

    @Test("random hex: the length asked for, lowercase hex digits, never the same twice")
    func randomHexDigits() {
        // 2,000 draws of 16 bytes go through the 256-byte pool 125 times.
        var seen = Set<String>()
        for _ in 0..<2_000 {
            let text = randomHex(bytes: 16)
            #expect(text.utf8.count == 32)
            #expect(text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
            seen.insert(text)
        }
        #expect(seen.count == 2_000)
        // Every nibble value shows up: the digits are not stuck.
        let digits = Set(seen.joined())
        #expect(digits.count == 16)
        #expect(randomHex(bytes: 300).utf8.count == 600)
    }

    @Test("durations become whole microseconds, saturating")
    func micros() {
        #expect(Duration.milliseconds(1500).wholeMicroseconds == 1_500_000)
        #expect(Duration.seconds(-1).wholeMicroseconds == 0)
        #expect(Duration.seconds(Int64.max).wholeMicroseconds == .max)
    }

    @Test("status codes map to and from the wire by number")
    func statusCodes() {
        #expect(RPCError.Code(rawValue: 0) == nil)
        #expect(RPCError.Code(rawValue: 17) == nil)
        #expect(RPCError.Code.notFound.wireStatus == .notFound)
        #expect(RPCV1.StatusCode.ok.errorCode == nil)
        #expect(RPCV1.StatusCode.unrecognized(99).errorCode == .unknown)
        #expect("\(RPCError(code: .failedPrecondition, message: "m"))" == "FAILED_PRECONDITION: m")
    }

    @Test("server call table: one answer per call, idle after the last write")
    func serverCallTable() {
        var table = ServerCallTable()
        let cancellation = CallCancellation()
        #expect(table.receiveRequest(callID: 1, cancellation: cancellation) == .accept)
        #expect(table.receiveRequest(callID: 1, cancellation: cancellation) == .rejectDuplicateID)
        #expect(table.expire(callID: 1) != nil)
        #expect(table.finish(callID: 1) == nil, "the handler finishing after the deadline sends nothing")
        #expect(!table.isIdle, "the deadline's response is still being written")
        _ = table.answered()
        #expect(table.isIdle)
        #expect(table.receiveRequest(callID: 2, cancellation: cancellation) == .accept)
        #expect(table.beginDrain() == 2)
        #expect(table.beginDrain() == nil)
        #expect(table.receiveRequest(callID: 3, cancellation: cancellation) == .rejectDraining)
        #expect(table.close().count == 1)
        #expect(table.receiveRequest(callID: 4, cancellation: cancellation) == .rejectClosed)
    }

    @Test("server call table: a call answered at once is admitted without an entry, counted until written")
    func serverCallTableImmediate() {
        var table = ServerCallTable(maxConcurrentCalls: 2)
        let cancellation = CallCancellation()
        #expect(table.receiveRequest(callID: 1, cancellation: cancellation) == .accept)
        let reused = table.admitImmediate(callID: 1)
        #expect(reused == .rejectDuplicateID, "a running call's id is not reused")
        let second = table.admitImmediate(callID: 2)
        #expect(second == .accept)
        #expect(table.calls[2] == nil && table.answering == 1 && table.lastAcceptedCallID == 2)
        let third = table.admitImmediate(callID: 3)
        #expect(third == .rejectTooManyCalls, "its unwritten response counts against the limit")
        #expect(table.finish(callID: 1) != nil)
        _ = table.answered(count: 2)
        #expect(table.isIdle)

        // The immediate answer gives up: the call is recorded, still counted once, and served while draining.
        let fourth = table.admitImmediate(callID: 4)
        #expect(fourth == .accept)
        let lastAccepted = table.beginDrain()
        #expect(lastAccepted == 4, "GoAway names the admitted call as accepted")
        #expect(!table.isIdle, "a drain waits for the admitted call")
        let promoted = table.promoteAdmitted(callID: 4, cancellation: cancellation)
        #expect(promoted)
        #expect(table.calls[4] != nil && table.answering == 0 && !table.isIdle)
        let fifth = table.admitImmediate(callID: 5)
        #expect(fifth == .rejectDraining)
        #expect(table.finish(callID: 4) != nil)
        _ = table.answered()
        #expect(table.isIdle)

        var closing = ServerCallTable()
        let admitted = closing.admitImmediate(callID: 1)
        #expect(admitted == .accept)
        #expect(closing.close().isEmpty)
        let started = closing.promoteAdmitted(callID: 1, cancellation: cancellation)
        #expect(!started, "no handler starts after the close")
        #expect(closing.calls.isEmpty)
        let afterClose = closing.admitImmediate(callID: 2)
        #expect(afterClose == .rejectClosed)
    }

    @Test("client call table: GoAway fails only calls above the last accepted id")
    func clientCallTable() {
        var table = ClientCallTable()
        let ids = (0..<4).map { _ in try! table.reserve().get() }
        #expect(ids == [1, 2, 3, 4])
        let error = RPCError(code: .unavailable, message: "draining")
        let refused = table.goAway(lastCallID: 2, error: error)
        #expect(refused.map(\.0) == [3, 4])
        if case .failure(let failure) = table.reserve() {
            #expect(failure.code == .unavailable)
        } else {
            Issue.record("a connection going away must refuse new calls")
        }
        #expect(table.settle(1, with: .success(RPCV1.CallResponse())) != nil)
        #expect(table.settle(1, with: .success(RPCV1.CallResponse())) == nil, "settled once")
        #expect(table.close(error: error).count == 1, "call 2 is the one left")
    }

    @Test("connection state machine: connect, fail fast during backoff, reconnect after, shut down")
    func connectionStateMachine() async throws {
        // Time is injected: `start` stands for the moment of the failure, whatever the real clock says.
        let start = ContinuousClock.now
        let box = MachineBox()
        func acquire(_ id: Int, at now: ContinuousClock.Instant) -> Task<Result<Connection, RPCError>, Never> {
            Task {
                do {
                    return .success(
                        try await withCheckedThrowingContinuation { continuation in
                            switch box.machine.withLock({ $0.acquire(id: id, waiter: continuation, now: now) }) {
                            case .wait(let startConnecting): box.recordStart(startConnecting)
                            case .use(let connection): continuation.resume(returning: connection)
                            case .fail(let error): continuation.resume(throwing: error)
                            }
                        }
                    )
                } catch {
                    return .failure(error as! RPCError)
                }
            }
        }

        let first = acquire(1, at: start)
        await box.waitForStarts(1)
        let second = acquire(2, at: start)
        await box.waitForStarts(2)
        #expect(box.starts == [true, false], "only the first waiter starts an attempt")

        let refused = RPCError(code: .unavailable, message: "connection refused")
        let (waiters, retryAfter) = box.machine.withLock { $0.connectFailed(refused, now: start) }
        #expect(retryAfter == .milliseconds(100))
        for waiter in waiters { waiter.resume(throwing: refused) }
        #expect(await first.value.failureCode == .unavailable)
        #expect(await second.value.failureCode == .unavailable)

        #expect(
            await acquire(3, at: start + .milliseconds(99)).value.failureCode == .unavailable,
            "fails fast during the backoff"
        )

        let fourth = acquire(4, at: start + .milliseconds(100))
        await box.waitForStarts(3)
        #expect(box.starts.last == true, "the first call after the backoff starts the next attempt")
        let connection = Connection()
        for waiter in box.machine.withLock({ $0.connectSucceeded(connection) }) { waiter.resume(returning: connection) }
        #expect(try await fourth.value.get() === connection)
        #expect(try await acquire(5, at: start + .seconds(1)).value.get() === connection, "a ready connection is reused")

        box.machine.withLock { $0.connectionUnusable(connection) }
        let sixth = acquire(6, at: start + .seconds(1))
        await box.waitForStarts(4)
        #expect(box.starts.last == true, "a closed connection is replaced on the next call")
        let (pending, open) = box.machine.withLock { $0.shutDown() }
        #expect(open == nil)
        for waiter in pending { waiter.resume(throwing: RPCError(code: .unavailable, message: "shut down")) }
        #expect(await sixth.value.failureCode == .unavailable)
        #expect(await acquire(7, at: start + .seconds(2)).value.failureCode == .unavailable)
    }
}

final class Connection: Sendable {}

final class MachineBox: Sendable {
    let machine = Mutex(
        ClientConnectionStateMachine<Connection>(backoff: ConnectionBackoff(initialBackoff: .milliseconds(100), jitter: 0))
    )
    private let state = Mutex<(starts: [Bool], waiters: [(Int, CheckedContinuation<Void, Never>)])>(([], []))

    var starts: [Bool] { self.state.withLock { $0.starts } }

    func recordStart(_ startConnecting: Bool) {
        let ready = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.starts.append(startConnecting)
            let count = state.starts.count
            defer { state.waiters.removeAll { $0.0 <= count } }
            return state.waiters.filter { $0.0 <= count }.map(\.1)
        }
        for waiter in ready { waiter.resume() }
    }

    /// Returns once `count` calls were told to wait (no polling).
    func waitForStarts(_ count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = self.state.withLock { state -> Bool in
                if state.starts.count >= count { return true }
                state.waiters.append((count, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }
}

extension Result where Failure == RPCError {
    var failureCode: RPCError.Code? {
        if case .failure(let error) = self { return error.code }
        return nil
    }
}

extension RPCV1.MetadataEntry {
    static func make(_ key: String, _ value: String) -> RPCV1.MetadataEntry {
        var entry = RPCV1.MetadataEntry()
        entry.key = key
        entry.value = value
        return entry
    }
}
