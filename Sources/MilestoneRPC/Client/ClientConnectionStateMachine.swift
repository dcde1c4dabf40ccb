/// The life of a client's connection to one endpoint: a pure state machine, guarded by the client's lock.
///
/// `idle` → (a call needs it) `connecting` → `ready` → (closed or GoAway) `idle` → … Failed attempts go to
/// `transientFailure` for the backoff delay (gRPC's connection backoff); calls made meanwhile fail fast with
/// UNAVAILABLE, and the first call after the delay starts the next attempt.
package struct ClientConnectionStateMachine<Connection: AnyObject & Sendable> {
    package typealias Waiter = CheckedContinuation<Connection, any Error>

    @usableFromInline
    enum State {
        case idle
        case connecting(waiters: [Int: Waiter])
        case ready(Connection)
        case transientFailure(until: ContinuousClock.Instant, error: RPCError)
        case shutDown
    }

    @usableFromInline
    var state: State = .idle
    private var backoff: ConnectionBackoff.Iterator
    private let configuration: ConnectionBackoff
    /// The delay after the last failed attempt, for the next attempt's connect timeout.
    package private(set) var connectTimeout: Duration

    package init(backoff: ConnectionBackoff) {
        self.configuration = backoff
        self.backoff = backoff.makeIterator()
        self.connectTimeout = backoff.minimumConnectTimeout
    }

    package enum AcquireAction {
        case use(Connection)
        /// Wait; when `startConnecting`, the caller asks the client to make a connection attempt.
        case wait(startConnecting: Bool)
        case fail(RPCError)
    }

    package mutating func acquire(id: Int, waiter: Waiter, now: ContinuousClock.Instant = .now) -> AcquireAction {
        switch self.state {
        case .ready(let connection):
            return .use(connection)
        case .idle:
            self.state = .connecting(waiters: [id: waiter])
            return .wait(startConnecting: true)
        case .connecting(var waiters):
            waiters[id] = waiter
            self.state = .connecting(waiters: waiters)
            return .wait(startConnecting: false)
        case .transientFailure(let until, let error):
            if now >= until {
                self.state = .connecting(waiters: [id: waiter])
                return .wait(startConnecting: true)
            }
            return .fail(error)
        case .shutDown:
            return .fail(RPCError(code: .unavailable, message: "the client is shut down"))
        }
    }

    /// The ready connection, if there is one: the fast path that needs no waiting (inlinable: the client,
    /// in another module, reads it on every call without generic dispatch).
    @inlinable
    package var readyConnection: Connection? {
        if case .ready(let connection) = self.state { return connection }
        return nil
    }

    /// A waiting call was cancelled: the waiter to resume with the cancellation, if it was still waiting.
    package mutating func cancelWaiter(id: Int) -> Waiter? {
        guard case .connecting(var waiters) = self.state, let waiter = waiters.removeValue(forKey: id) else {
            return nil
        }
        self.state = .connecting(waiters: waiters)
        return waiter
    }

    /// The attempt connected: resume the waiters with the connection.
    package mutating func connectSucceeded(_ connection: Connection) -> [Waiter] {
        guard case .connecting(let waiters) = self.state else {
            // Shut down meanwhile: the caller closes the connection.
            return []
        }
        self.state = .ready(connection)
        self.backoff = self.configuration.makeIterator()
        self.connectTimeout = self.configuration.minimumConnectTimeout
        return Array(waiters.values)
    }

    /// Whether a connection that just connected should be used (false once shut down).
    package var isShutDown: Bool {
        if case .shutDown = self.state { return true }
        return false
    }

    /// The attempt failed: the waiters fail with `error`; calls fail fast until the backoff delay passes.
    package mutating func connectFailed(
        _ error: RPCError,
        now: ContinuousClock.Instant = .now
    ) -> (waiters: [Waiter], retryAfter: Duration) {
        guard case .connecting(let waiters) = self.state else { return ([], .zero) }
        let next = self.backoff.next()
        self.connectTimeout = next.connectTimeout
        self.state = .transientFailure(until: now + next.backoff, error: error)
        return (Array(waiters.values), next.backoff)
    }

    /// The connection closed, or the server sent GoAway on it: new calls need a new connection.
    package mutating func connectionUnusable(_ connection: Connection) {
        if case .ready(let current) = self.state, current === connection {
            self.state = .idle
        }
    }

    /// Shuts the client down: the waiters fail; returns the ready connection to close, if any.
    package mutating func shutDown() -> (waiters: [Waiter], connection: Connection?) {
        defer { self.state = .shutDown }
        switch self.state {
        case .connecting(let waiters):
            return (Array(waiters.values), nil)
        case .ready(let connection):
            return ([], connection)
        case .idle, .transientFailure, .shutDown:
            return ([], nil)
        }
    }
}
