/// Schedules deadline callbacks. The NIO transport schedules them on its event loop; tests can drive
/// them by hand.
package protocol CallTimerScheduler: Sendable {
    func schedule(after delay: Duration, _ body: @escaping @Sendable () -> Void) -> any CallTimer
}

/// A scheduled callback that has not necessarily run yet.
package protocol CallTimer: Sendable {
    func cancel()
}
