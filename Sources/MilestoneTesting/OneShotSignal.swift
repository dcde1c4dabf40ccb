import Synchronization

/// An event that happens once, fired from any thread and awaited without polling: what a test waits on
/// instead of sleeping ("the handler started", "the lock is held"). Waiting ignores task cancellation on
/// purpose, so a handler can use one as a gate it cannot leave early.
public final class OneShotSignal: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    public init() {}

    /// Fires the signal (again: no effect) and resumes every waiter.
    public func fire() {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.fired = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    public var hasFired: Bool { self.state.withLock { $0.fired } }

    /// Returns once the signal has fired.
    public func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = self.state.withLock { state -> Bool in
                if state.fired { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}
