import MilestoneRPC

/// The life of an ``RPCServer``: a pure state machine, kept in the server's one `Mutex`.
///
/// `idle` → (``startRunning()``) `binding` → (``bound(_:listener:)``) `listening` → (``stopped()``)
/// `stopped`; a failed bind goes straight to `stopped`. Shutdown may be requested in any phase. Transitions
/// return what the caller must do (resume these waiters, close that listener) outside the lock.
struct RPCServerLifecycle<Listener> {
    enum Phase {
        case idle
        case binding
        case listening(Endpoint, Listener)
        case stopped(RPCError)
    }

    private(set) var phase: Phase = .idle
    private(set) var shutdownRequested = false
    private(set) var connections = 0
    private var nextWaiterID = 0
    private var endpointWaiters: [Int: CheckedContinuation<Endpoint, any Error>] = [:]
    private var shutdownWaiters: [Int: CheckedContinuation<Void, Never>] = [:]

    init() {}

    mutating func makeWaiterID() -> Int {
        self.nextWaiterID += 1
        return self.nextWaiterID
    }

    // MARK: Running

    enum StartAction {
        case bind
        /// ``RPCServer/run()`` was called before; a server runs once.
        case fail(RPCError)
    }

    mutating func startRunning() -> StartAction {
        guard case .idle = self.phase else {
            return .fail(RPCError(code: .failedPrecondition, message: "the server was already run; a server runs once"))
        }
        self.phase = .binding
        return .bind
    }

    struct BoundAction {
        var waiters: [CheckedContinuation<Endpoint, any Error>]
        /// Shutdown was requested while binding: close the listener at once.
        var closeNow: Bool
    }

    mutating func bound(_ endpoint: Endpoint, listener: Listener) -> BoundAction {
        self.phase = .listening(endpoint, listener)
        return BoundAction(waiters: self.takeEndpointWaiters(), closeNow: self.shutdownRequested)
    }

    /// Binding failed, or the server stopped: waiters for the endpoint fail with `error`.
    mutating func stopped(_ error: RPCError) -> [CheckedContinuation<Endpoint, any Error>] {
        if case .stopped = self.phase { return [] }
        self.phase = .stopped(error)
        return self.takeEndpointWaiters()
    }

    private mutating func takeEndpointWaiters() -> [CheckedContinuation<Endpoint, any Error>] {
        defer { self.endpointWaiters.removeAll() }
        return Array(self.endpointWaiters.values)
    }

    // MARK: Shutdown

    struct ShutdownAction {
        /// The listener to close, if listening.
        var listener: Listener?
        var waiters: [CheckedContinuation<Void, Never>]
        /// The server never ran: endpoint waiters fail.
        var endpointWaiters: [CheckedContinuation<Endpoint, any Error>]
    }

    /// Returns nil when shutdown had been requested already.
    mutating func requestShutdown() -> ShutdownAction? {
        guard !self.shutdownRequested else { return nil }
        self.shutdownRequested = true
        var action = ShutdownAction(listener: nil, waiters: Array(self.shutdownWaiters.values), endpointWaiters: [])
        self.shutdownWaiters.removeAll()
        switch self.phase {
        case .listening(_, let listener):
            action.listener = listener
        case .idle:
            action.endpointWaiters = self.stopped(RPCError(code: .unavailable, message: "the server was shut down before it listened"))
        case .binding, .stopped:
            break
        }
        return action
    }

    // MARK: Waiting

    enum EndpointAction {
        case resume(Endpoint)
        case fail(RPCError)
        case wait
    }

    mutating func waitForEndpoint(id: Int, _ continuation: CheckedContinuation<Endpoint, any Error>) -> EndpointAction {
        switch self.phase {
        case .listening(let endpoint, _):
            return .resume(endpoint)
        case .stopped(let error):
            return .fail(error)
        case .idle, .binding:
            self.endpointWaiters[id] = continuation
            return .wait
        }
    }

    mutating func cancelEndpointWaiter(id: Int) -> CheckedContinuation<Endpoint, any Error>? {
        self.endpointWaiters.removeValue(forKey: id)
    }

    /// Returns false (not registered: resume now) when shutdown was requested already.
    mutating func waitForShutdown(id: Int, _ continuation: CheckedContinuation<Void, Never>) -> Bool {
        if self.shutdownRequested { return false }
        self.shutdownWaiters[id] = continuation
        return true
    }

    mutating func cancelShutdownWaiter(id: Int) -> CheckedContinuation<Void, Never>? {
        self.shutdownWaiters.removeValue(forKey: id)
    }

    // MARK: Connections

    enum Admission: Equatable {
        case admitted
        /// The server holds `maxConnections` already.
        case overServerLimit
        /// This peer address holds its share already.
        case overPeerLimit
    }

    private var connectionsByPeer: [String: Int] = [:]

    /// Counts a new connection from `peer` (its address without the port); returns whether it is within
    /// the limits. Every call is matched by ``connectionClosed(peer:)``, admitted or not.
    mutating func connectionOpened(peer: String, limit: Int, perPeerLimit: Int) -> Admission {
        self.connections += 1
        self.connectionsByPeer[peer, default: 0] += 1
        if self.connections > limit { return .overServerLimit }
        if self.connectionsByPeer[peer, default: 0] > perPeerLimit { return .overPeerLimit }
        return .admitted
    }

    mutating func connectionClosed(peer: String) {
        self.connections -= 1
        let left = self.connectionsByPeer[peer, default: 1] - 1
        self.connectionsByPeer[peer] = left > 0 ? left : nil
    }

    /// Connections counted for `peer`.
    func connections(from peer: String) -> Int {
        self.connectionsByPeer[peer, default: 0]
    }
}
