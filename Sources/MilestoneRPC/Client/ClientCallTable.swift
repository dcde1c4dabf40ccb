package import MilestoneWire

/// The calls in flight on one client connection: a pure state machine, guarded by the connection's lock.
///
/// A call is reserved (gets its id) before its request is written, and then waits for its response. The
/// response, the deadline, a cancel, a GoAway or the connection's end settles it, exactly once.
package struct ClientCallTable {
    /// Unchecked: the table resumes each exactly once (its state machine settles a call once), and a
    /// checked continuation costs an allocation per call.
    package typealias Continuation = UnsafeContinuation<RPCV1.CallResponse, any Error>

    private enum Entry {
        /// Reserved; the caller has not started waiting yet.
        case reserved(timer: (any CallTimer)?)
        case waiting(Continuation, timer: (any CallTimer)?)
        /// Settled before the caller started waiting.
        case settled(Result<RPCV1.CallResponse, RPCError>)
    }

    package enum Phase: Equatable {
        case open
        /// The server sent GoAway: no new calls here.
        case goingAway
        case closed
    }

    private var entries: [UInt64: Entry] = [:]
    private var nextCallID: UInt64 = 1
    package private(set) var phase: Phase = .open
    private var closeError: RPCError?

    package init() {}

    package var callsInFlight: Int { self.entries.count }

    /// Reserves a call id, or fails when the connection no longer takes calls.
    package mutating func reserve() -> Result<UInt64, RPCError> {
        switch self.phase {
        case .open:
            let id = self.nextCallID
            self.nextCallID += 1
            self.entries[id] = .reserved(timer: nil)
            return .success(id)
        case .goingAway, .closed:
            return .failure(
                self.closeError ?? RPCError(code: .unavailable, message: "the connection is closing")
            )
        }
    }

    /// Records the call's deadline timer; false when the call is already settled (cancel the timer).
    package mutating func setTimer(_ timer: any CallTimer, for id: UInt64) -> Bool {
        switch self.entries[id] {
        case .reserved:
            self.entries[id] = .reserved(timer: timer)
            return true
        case .waiting(let continuation, _):
            self.entries[id] = .waiting(continuation, timer: timer)
            return true
        case .settled, nil:
            return false
        }
    }

    package enum WaitAction {
        case wait
        case resume(Result<RPCV1.CallResponse, RPCError>)
    }

    /// The caller starts waiting for the response.
    package mutating func wait(_ id: UInt64, continuation: Continuation) -> WaitAction {
        switch self.entries[id] {
        case .reserved(let timer):
            self.entries[id] = .waiting(continuation, timer: timer)
            return .wait
        case .settled(let result):
            self.entries[id] = nil
            return .resume(result)
        case .waiting, nil:
            return .resume(.failure(RPCError(code: .internal, message: "call \(id) is not reserved")))
        }
    }

    package struct Settlement {
        package let continuation: Continuation?
        package let timer: (any CallTimer)?
    }

    /// Settles call `id` with `result`: returns what to resume and the timer to cancel, or nil when the
    /// call was settled already (a late response after a deadline).
    package mutating func settle(_ id: UInt64, with result: Result<RPCV1.CallResponse, RPCError>) -> Settlement? {
        switch self.entries[id] {
        case .reserved(let timer):
            self.entries[id] = .settled(result)
            return Settlement(continuation: nil, timer: timer)
        case .waiting(let continuation, let timer):
            self.entries[id] = nil
            return Settlement(continuation: continuation, timer: timer)
        case .settled, nil:
            return nil
        }
    }

    /// The server sent GoAway: calls above `lastCallID` were not accepted and fail with UNAVAILABLE.
    package mutating func goAway(lastCallID: UInt64, error: RPCError) -> [(UInt64, Settlement)] {
        if self.phase == .open { self.phase = .goingAway }
        let refused = self.entries.keys.filter { $0 > lastCallID }.sorted()
        return refused.compactMap { id in self.settle(id, with: .failure(error)).map { (id, $0) } }
    }

    /// The connection closed: every call still in flight fails with `error`.
    package mutating func close(error: RPCError) -> [Settlement] {
        self.phase = .closed
        self.closeError = error
        let ids = self.entries.keys.sorted()
        return ids.compactMap { self.settle($0, with: .failure(error)) }
    }

    /// Forgets a call whose request could not be written.
    package mutating func discard(_ id: UInt64) -> (any CallTimer)? {
        defer { self.entries[id] = nil }
        switch self.entries[id] {
        case .reserved(let timer), .waiting(_, let timer): return timer
        case .settled, nil: return nil
        }
    }
}
