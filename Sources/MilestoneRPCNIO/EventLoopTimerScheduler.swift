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
