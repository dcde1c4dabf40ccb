import Synchronization

/// Cancels one call's task from outside it (its deadline, the client's cancel, the connection closing),
/// although the task is a child of the connection's task group and has no handle.
///
/// The task attaches itself while it runs the handler (``attach()`` … ``detach()``); ``cancel()`` cancels
/// it then, or stops it from running the handler at all when it comes first. The task is referenced only
/// between attaching and detaching, both under the lock that ``cancel()`` holds, so it is never touched
/// after it ended.
package final class CallCancellation: Sendable {
    private enum State {
        /// The task has not started the handler yet.
        case waiting
        /// Cancelled before the handler started: it will not start.
        case cancelledBeforeStart
        case running(TaskReference)
        case finished
    }

    /// The running task. UnsafeCurrentTask is not Sendable; this type is used only inside `state`'s lock,
    /// between the task attaching and detaching itself, which makes sending it across threads safe.
    private struct TaskReference: @unchecked Sendable {
        let task: UnsafeCurrentTask
    }

    private let state = Mutex(State.waiting)

    package init() {}

    /// Attaches the current task, which is about to run the handler; returns false when the call was
    /// cancelled first (the handler must not run). A task that attaches calls ``detach()`` when the handler
    /// is done. Synchronous, so that the call's task needs no extra async frame around its handler.
    package func attach() -> Bool {
        withUnsafeCurrentTask { task -> Bool in
            let reference = task.map { TaskReference(task: $0) }
            return self.state.withLock { state in
                guard case .waiting = state else { return false }
                if let reference { state = .running(reference) }
                return true
            }
        }
    }

    /// The handler ended: the task is no longer referenced (a later ``cancel()`` does nothing).
    package func detach() {
        self.state.withLock { $0 = .finished }
    }

    /// Cancels the task if it runs the handler now; stops it from starting if it has not yet.
    package func cancel() {
        self.state.withLock { state in
            switch state {
            case .waiting:
                state = .cancelledBeforeStart
            case .running(let reference):
                reference.task.cancel()
            case .cancelledBeforeStart, .finished:
                break
            }
        }
    }

    /// Whether ``cancel()`` was called before the handler started.
    package var wasCancelledBeforeStart: Bool {
        self.state.withLock { if case .cancelledBeforeStart = $0 { true } else { false } }
    }
}
