import MilestoneRPC
@testable import MilestoneRPCNIO
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@Suite("A connection's deadline timers", .timeLimit(.minutes(1)))
struct EventLoopTimerSchedulerTests {
    /// What fired, in order.
    final class Fired: Sendable {
        private let names = Mutex<[String]>([])
        func record(_ name: String) { self.names.withLock { $0.append(name) } }
        var all: [String] { self.names.withLock { $0 } }
    }

    @Test("timers fire at their deadlines, in deadline order, whatever the order they were set in")
    func order() {
        let loop = EmbeddedEventLoop()
        let scheduler = EventLoopTimerScheduler(eventLoop: loop)
        let fired = Fired()
        _ = scheduler.schedule(after: .milliseconds(30)) { fired.record("30") }
        _ = scheduler.schedule(after: .milliseconds(10)) { fired.record("10") }
        _ = scheduler.schedule(after: .milliseconds(20)) { fired.record("20") }

        loop.advanceTime(by: .milliseconds(9))
        #expect(fired.all.isEmpty)
        loop.advanceTime(by: .milliseconds(1))
        #expect(fired.all == ["10"])
        loop.advanceTime(by: .milliseconds(15))
        #expect(fired.all == ["10", "20"])
        loop.advanceTime(by: .milliseconds(5))
        #expect(fired.all == ["10", "20", "30"])
        #expect(scheduler.count == 0)
    }

    @Test("a cancelled timer never fires, and the ones after it still do")
    func cancel() {
        let loop = EmbeddedEventLoop()
        let scheduler = EventLoopTimerScheduler(eventLoop: loop)
        let fired = Fired()
        let first = scheduler.schedule(after: .milliseconds(10)) { fired.record("first") }
        _ = scheduler.schedule(after: .milliseconds(40)) { fired.record("second") }
        first.cancel()
        #expect(scheduler.count == 1)

        // The shared task wakes at 10 ms for nothing and waits again for the second deadline.
        loop.advanceTime(by: .milliseconds(39))
        #expect(fired.all.isEmpty)
        loop.advanceTime(by: .milliseconds(1))
        #expect(fired.all == ["second"])
    }

    @Test("thousands of answered calls leave nothing behind")
    func churn() {
        let loop = EmbeddedEventLoop()
        let scheduler = EventLoopTimerScheduler(eventLoop: loop)
        let fired = Fired()
        for index in 0..<5_000 {
            let timer = scheduler.schedule(after: .seconds(30)) { fired.record("\(index)") }
            loop.advanceTime(by: .microseconds(100))
            timer.cancel()
        }
        let last = scheduler.schedule(after: .seconds(30)) { fired.record("last") }
        #expect(scheduler.count == 1)
        loop.advanceTime(by: .seconds(31))
        #expect(fired.all == ["last"])
        last.cancel()  // After it fired: nothing happens.
        #expect(scheduler.count == 0)
    }
}
