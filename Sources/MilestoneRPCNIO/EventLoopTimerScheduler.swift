import MilestoneRPC
import NIOCore

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

/// Runs tasks on a connection's event loop, so that reading a frame, running the call and writing its
/// response happen on one thread without hops.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
