/// gRPC's connection backoff (doc/connection-backoff.md): the delays between failed connection attempts.
public struct ConnectionBackoff: Sendable, Hashable {
    public var initialBackoff: Duration
    public var multiplier: Double
    public var jitter: Double
    public var maximumBackoff: Duration
    /// The least time a connection attempt is given.
    public var minimumConnectTimeout: Duration

    /// gRPC's numbers: 1 s initial, ×1.6, jitter 0.2, max 120 s, min connect timeout 20 s.
    public init(
        initialBackoff: Duration = .seconds(1),
        multiplier: Double = 1.6,
        jitter: Double = 0.2,
        maximumBackoff: Duration = .seconds(120),
        minimumConnectTimeout: Duration = .seconds(20)
    ) {
        self.initialBackoff = initialBackoff
        self.multiplier = multiplier
        self.jitter = jitter
        self.maximumBackoff = maximumBackoff
        self.minimumConnectTimeout = minimumConnectTimeout
    }

    /// The sequence of attempts: each gives the connect timeout and the delay before the next attempt.
    public struct Iterator: Sendable {
        private let backoff: ConnectionBackoff
        private var current: Double

        init(_ backoff: ConnectionBackoff) {
            self.backoff = backoff
            self.current = backoff.initialBackoff.seconds
        }

        /// The next attempt's connect timeout and the delay before the attempt after it.
        public mutating func next(
            using generator: inout some RandomNumberGenerator
        ) -> (connectTimeout: Duration, backoff: Duration) {
            let base = self.current
            self.current = min(self.current * self.backoff.multiplier, self.backoff.maximumBackoff.seconds)
            let jittered = base * (1 + Double.random(in: -self.backoff.jitter...self.backoff.jitter, using: &generator))
            let delay = Duration.seconds(max(0, jittered))
            return (max(self.backoff.minimumConnectTimeout, delay), delay)
        }

        public mutating func next() -> (connectTimeout: Duration, backoff: Duration) {
            var generator = SystemRandomNumberGenerator()
            return self.next(using: &generator)
        }
    }

    public func makeIterator() -> Iterator {
        Iterator(self)
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    package var seconds: Double {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
