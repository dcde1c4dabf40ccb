/// The calls of one server connection: a pure state machine, guarded by the dispatcher's lock.
///
/// A call is in the table from its request until exactly one party answers it: the handler finishing, its
/// deadline expiring, the client cancelling it, or the connection closing. Whoever removes it answers; the
/// others find it gone and do nothing. (The call's task may run on after that, cancelled; the connection's
/// task group waits for it.)
package struct ServerCallTable {
    package struct Call {
        /// Cancels the call's task.
        package let cancellation: CallCancellation
        /// The deadline timer, if the call has a deadline.
        package var timer: (any CallTimer)?
    }

    package enum Phase: Equatable {
        case serving
        /// GoAway sent: calls already accepted finish, new ones are refused.
        case draining
        /// The connection is going away: every call was cancelled.
        case closed
    }

    package private(set) var phase: Phase = .serving
    package private(set) var calls: [UInt64: Call] = [:]
    /// The highest call id accepted, for GoAway's `last_call_id`.
    package private(set) var lastAcceptedCallID: UInt64 = 0
    /// Calls removed from `calls` whose response is still being written.
    package private(set) var answering = 0
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []

    /// The most calls that may run at once on the connection.
    package let maxConcurrentCalls: Int

    package init(maxConcurrentCalls: Int = .max) {
        self.maxConcurrentCalls = maxConcurrentCalls
    }

    package enum RequestAction: Equatable {
        case accept
        case rejectDuplicateID
        /// The connection already runs `maxConcurrentCalls` calls.
        case rejectTooManyCalls
        case rejectDraining
        case rejectClosed
    }

    package mutating func receiveRequest(callID: UInt64, cancellation: CallCancellation) -> RequestAction {
        let action = self.admission(callID: callID)
        if action == .accept {
            self.calls[callID] = Call(cancellation: cancellation, timer: nil)
        }
        return action
    }

    /// Admits a request to be answered at once, on the thread that read it (a method's immediate answer):
    /// the same checks as ``receiveRequest(callID:cancellation:)``, but the call is counted as being
    /// answered (``answering``) instead of recorded, so it costs no entry. Only for a request answered
    /// before the connection's next frame is read (its id cannot be reused meanwhile); if its immediate
    /// answer gives up, ``promoteAdmitted(callID:cancellation:)`` records it.
    package mutating func admitImmediate(callID: UInt64) -> RequestAction {
        let action = self.admission(callID: callID)
        if action == .accept {
            self.answering += 1
        }
        return action
    }

    private mutating func admission(callID: UInt64) -> RequestAction {
        switch self.phase {
        case .closed:
            return .rejectClosed
        case .draining:
            return .rejectDraining
        case .serving:
            if self.calls[callID] != nil {
                return .rejectDuplicateID
            }
            // Answered calls whose response is still unwritten count too: a peer that does not read cannot
            // make the server hold more than the limit's worth of responses.
            if self.calls.count + self.answering >= self.maxConcurrentCalls {
                return .rejectTooManyCalls
            }
            self.lastAcceptedCallID = max(self.lastAcceptedCallID, callID)
            return .accept
        }
    }

    /// A call admitted by ``admitImmediate(callID:)`` needs its handler after all: recorded as running
    /// (it still counts once against the limit). False when the connection closed meanwhile: the call is
    /// then dropped, like every call running at the close (no response).
    package mutating func promoteAdmitted(callID: UInt64, cancellation: CallCancellation) -> Bool {
        self.answering -= 1
        guard self.phase != .closed else { return false }
        // Admitted before any drain began, so it is served even while draining.
        self.calls[callID] = Call(cancellation: cancellation, timer: nil)
        return true
    }

    /// Records the call's deadline timer. Returns false when the call was already answered, in which case
    /// the caller cancels the timer.
    package mutating func setTimer(callID: UInt64, _ timer: any CallTimer) -> Bool {
        guard self.calls[callID] != nil else { return false }
        self.calls[callID]?.timer = timer
        return true
    }

    /// The handler finished: the caller sends its response when this returns the call, then calls
    /// ``answered()``.
    package mutating func finish(callID: UInt64) -> Call? {
        guard let call = self.calls.removeValue(forKey: callID) else { return nil }
        self.answering += 1
        return call
    }

    /// The deadline passed: the caller cancels the call, answers DEADLINE_EXCEEDED, then calls
    /// ``answered()``.
    package mutating func expire(callID: UInt64) -> Call? {
        self.finish(callID: callID)
    }

    /// `count` responses were written: returns the idle waiters to resume, if the table became idle.
    package mutating func answered(count: Int = 1) -> [CheckedContinuation<Void, Never>] {
        self.answering -= count
        return self.takeIdleWaiters()
    }

    /// The client cancelled: the caller cancels the call and sends nothing.
    package mutating func cancel(callID: UInt64) -> Call? {
        self.calls.removeValue(forKey: callID)
    }

    /// Starts draining; returns the last accepted call id for GoAway, or nil if already draining or closed.
    package mutating func beginDrain() -> UInt64? {
        guard self.phase == .serving else { return nil }
        self.phase = .draining
        return self.lastAcceptedCallID
    }

    /// Closes the table: returns every call still unanswered, for the caller to cancel.
    package mutating func close() -> [Call] {
        self.phase = .closed
        let running = Array(self.calls.values)
        self.calls.removeAll()
        return running
    }

    /// No call is running and no response is being written.
    package var isIdle: Bool { self.calls.isEmpty && self.answering == 0 }

    /// Registers a waiter resumed when the table is idle; returns false (not registered) when idle now or
    /// closed.
    package mutating func waitForIdle(_ continuation: CheckedContinuation<Void, Never>) -> Bool {
        if self.isIdle || self.phase == .closed { return false }
        self.idleWaiters.append(continuation)
        return true
    }

    /// The waiters to resume, once the table has become idle.
    package mutating func takeIdleWaiters() -> [CheckedContinuation<Void, Never>] {
        guard self.isIdle else { return [] }
        return self.takeAllWaiters()
    }

    /// Every waiter, whether idle or not: when the connection closes.
    package mutating func takeAllWaiters() -> [CheckedContinuation<Void, Never>] {
        defer { self.idleWaiters.removeAll() }
        return self.idleWaiters
    }
}
