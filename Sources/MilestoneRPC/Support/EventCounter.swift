import Synchronization

/// Counts occurrences of an event (a connection pausing its reads, say) and lets a task wait until the count
/// reaches a number: an operational figure, and what tests await instead of sleeping.
package final class EventCounter: Sendable {
    private struct State {
        var count = 0
        var nextID = 0
        var waiters: [Int: (target: Int, continuation: CheckedContinuation<Void, Never>)] = [:]
    }

    private let state = Mutex(State())

    package init() {}

    package var count: Int { self.state.withLock { $0.count } }

    package func increment() {
        let ready = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.count += 1
            let reached = state.waiters.filter { $0.value.target <= state.count }
            for id in reached.keys { state.waiters[id] = nil }
            return reached.values.map(\.continuation)
        }
        for waiter in ready { waiter.resume() }
    }

    /// Returns once the count is at least `target`, or when the task is cancelled.
    package func wait(atLeast target: Int) async {
        let id = self.state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = self.state.withLock { state -> Bool in
                    if state.count >= target || Task.isCancelled { return true }
                    state.waiters[id] = (target, continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            self.state.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume()
        }
    }
}
