import MilestoneRPC
public import NIOCore
import Synchronization

/// Deadline timers of one connection on its event loop, sharing a single NIO timer.
///
/// Every call with a deadline gets a timer, and nearly every timer is cancelled (the call is answered
/// first). Instead of one NIO scheduled task per call (a promise, a heap insertion and a removal each),
/// the timers live in a table and one NIO task is armed for the earliest deadline: arming a later
/// deadline or cancelling costs a table update. When the NIO task runs, it fires what is due and arms
/// itself for the earliest deadline left. Timers fire on the event loop, never before their deadline.
final class EventLoopTimerScheduler: CallTimerScheduler, Sendable {
    private struct Timer {
        var deadline: NIODeadline
        var body: @Sendable () -> Void
    }

    private struct State {
        var timers: [UInt64: Timer] = [:]
        var nextID: UInt64 = 0
        /// The NIO task and its deadline, when one is armed.
        var armed: (deadline: NIODeadline, task: Scheduled<Void>)?
    }

    private let eventLoop: any EventLoop
    private let state = Mutex(State())

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func schedule(after delay: Duration, _ body: @escaping @Sendable () -> Void) -> any CallTimer {
        let deadline = self.eventLoop.now + TimeAmount(delay)
        let id = self.state.withLock { state -> UInt64 in
            state.nextID += 1
            state.timers[state.nextID] = Timer(deadline: deadline, body: body)
            if let armed = state.armed, armed.deadline <= deadline { return state.nextID }
            state.armed?.task.cancel()
            state.armed = (deadline, self.arm(at: deadline))
            return state.nextID
        }
        return EventLoopCallTimer(scheduler: self, id: id)
    }

    fileprivate func cancel(_ id: UInt64) {
        // The armed task stays: when it runs early for nothing, it re-arms for the earliest deadline left.
        _ = self.state.withLock { $0.timers.removeValue(forKey: id) }
    }

    /// The timers waiting: at most one per call in flight on the connection, which the server bounds, so
    /// the scan when the task runs stays short.
    var count: Int { self.state.withLock { $0.timers.count } }

    private func arm(at deadline: NIODeadline) -> Scheduled<Void> {
        self.eventLoop.scheduleTask(deadline: deadline) { [weak self] in
            self?.fire()
        }
    }

    /// Runs every timer that is due, then arms the task for the earliest one left.
    private func fire() {
        let now = self.eventLoop.now
        let due = self.state.withLock { state -> [@Sendable () -> Void] in
            state.armed = nil
            var dueIDs: [UInt64] = []
            var earliest: NIODeadline?
            for (id, timer) in state.timers {
                if timer.deadline <= now {
                    dueIDs.append(id)
                } else if earliest.map({ timer.deadline < $0 }) ?? true {
                    earliest = timer.deadline
                }
            }
            let due = dueIDs.compactMap { state.timers.removeValue(forKey: $0)?.body }
            if let earliest {
                state.armed = (earliest, self.arm(at: earliest))
            }
            return due
        }
        for body in due { body() }
    }
}

struct EventLoopCallTimer: CallTimer {
    fileprivate let scheduler: EventLoopTimerScheduler
    fileprivate let id: UInt64

    func cancel() {
        self.scheduler.cancel(self.id)
    }
}

/// Runs tasks on an event loop: the server runs each connection's calls on its loop, so that reading a
/// frame, running the call and writing its response happen on one thread without hops. Callers may run
/// on their client's loop the same way (`withTaskExecutorPreference`), as `milestone-bench
/// --callers-on-event-loop` does.
public final class EventLoopTaskExecutor: TaskExecutor {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
