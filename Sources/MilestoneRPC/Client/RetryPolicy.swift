/// Retries of calls that failed with UNAVAILABLE, for idempotent methods only (gRFC A6).
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included (at most 5, as gRFC A6 caps it).
    public var maximumAttempts: Int
    public var initialBackoff: Duration
    public var maximumBackoff: Duration
    public var backoffMultiplier: Double

    public init(
        maximumAttempts: Int = 5,
        initialBackoff: Duration = .milliseconds(100),
        maximumBackoff: Duration = .seconds(2),
        backoffMultiplier: Double = 2
    ) {
        self.maximumAttempts = min(max(maximumAttempts, 1), 5)
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.backoffMultiplier = backoffMultiplier
    }

    /// No retries.
    public static let none = RetryPolicy(maximumAttempts: 1)

    /// Whether a call that failed with `code` on attempt `attempt` (1-based) is tried again.
    public func shouldRetry(_ code: RPCError.Code, attempt: Int) -> Bool {
        code == .unavailable && attempt < self.maximumAttempts
    }

    /// The delay before attempt `attempt + 1`: random in [0, min(initial × multiplier^(attempt-1), max)].
    public func backoff(afterAttempt attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        var ceiling = self.initialBackoff.seconds
        for _ in 1..<max(attempt, 1) {
            ceiling *= self.backoffMultiplier
        }
        ceiling = min(ceiling, self.maximumBackoff.seconds)
        return .seconds(Double.random(in: 0...max(ceiling, 0), using: &generator))
    }
}
