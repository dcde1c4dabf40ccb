import Synchronization

/// An event that happens once and that any number of tasks can wait for. Waiting is cancellable.
package final class OneShotEvent: Sendable {
    private struct State {
        var fired = false
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    package init() {}

    package var hasFired: Bool {
        self.state.withLock { $0.fired }
    }

    /// Fires the event; returns false when it had fired already.
    @discardableResult
    package func fire() -> Bool {
        let waiters: [CheckedContinuation<Void, Never>]? = self.state.withLock { state in
            guard !state.fired else { return nil }
            state.fired = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume() }
        return true
    }

    /// Returns when the event fires, or when the task is cancelled.
    package func wait() async {
        let id = self.state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = self.state.withLock { state -> Bool in
                    if state.fired || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = self.state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}
