import MilestoneRPC
public import NIOCore

/// Deadline timers on a connection's event loop.
struct EventLoopTimerScheduler: CallTimerScheduler {
    let eventLoop: any EventLoop

    func schedule(after delay: Duration, _ body: @escaping @Sendable () -> Void) -> any CallTimer {
        EventLoopCallTimer(scheduled: self.eventLoop.scheduleTask(in: TimeAmount(delay), body))
    }
}

struct EventLoopCallTimer: CallTimer {
    let scheduled: Scheduled<Void>

    func cancel() {
        self.scheduled.cancel()
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
