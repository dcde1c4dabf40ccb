/// The instant a call must be finished by.
///
/// While a server handler runs, ``Deadline/current`` holds its call's deadline, and every call the handler
/// makes through ``RPCClient`` inherits what is left of it.
public struct Deadline: Hashable, Sendable, Comparable {
    public let instant: ContinuousClock.Instant

    public init(_ instant: ContinuousClock.Instant) {
        self.instant = instant
    }

    /// The deadline `duration` from now.
    public static func after(_ duration: Duration) -> Deadline {
        Deadline(.now + duration)
    }

    /// The time left, never negative.
    public var remaining: Duration {
        let left = self.instant - .now
        return left > .zero ? left : .zero
    }

    public var hasPassed: Bool {
        self.instant <= .now
    }

    public static func < (lhs: Deadline, rhs: Deadline) -> Bool {
        lhs.instant < rhs.instant
    }

    /// The earlier of two optional deadlines.
    public static func earliest(_ lhs: Deadline?, _ rhs: Deadline?) -> Deadline? {
        switch (lhs, rhs) {
        case (nil, nil): nil
        case (let one?, nil), (nil, let one?): one
        case (let lhs?, let rhs?): min(lhs, rhs)
        }
    }

    /// The deadline of the server call being handled by the current task, if any.
    @TaskLocal public static var current: Deadline?
}

extension Duration {
    /// Whole milliseconds, rounded down, never negative.
    public var wholeMilliseconds: UInt64 {
        self.wholeMicroseconds / 1000
    }

    /// Whole microseconds, saturating, never negative: the envelope's `timeout_micros`.
    package var wholeMicroseconds: UInt64 {
        let (seconds, attoseconds) = self.components
        if seconds < 0 { return 0 }
        let (micros, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000)
        if overflow { return .max }
        let (sum, overflow2) = micros.addingReportingOverflow(UInt64(attoseconds / 1_000_000_000_000))
        return overflow2 ? .max : sum
    }
}
