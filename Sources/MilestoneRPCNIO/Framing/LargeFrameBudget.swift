import Synchronization

/// The bytes of large frames (over ``threshold``) that all of a server's connections are receiving or
/// hold read but not yet decoded, against one limit.
///
/// Memory per connection is bounded by the frame limit, but a peer with many connections could make each
/// of them buffer a frame just under it (128 connections × 4 MiB, held for the 30 s frame deadline). With
/// this budget, a frame over the threshold is reserved in full as soon as its length prefix arrives, and a
/// connection whose frame does not fit what is left is told GoAway (RESOURCE_EXHAUSTED) and closed. Small
/// frames — every request our services take — never count.
final class LargeFrameBudget: Sendable {
    /// Frames over this many bytes count (64 KiB).
    static let threshold = 64 * 1024

    let limit: Int
    private let used = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Bytes reserved now, for tests and logs.
    var bytesInUse: Int { self.used.load(ordering: .relaxed) }

    fileprivate func reserve(_ bytes: Int) -> Bool {
        var current = self.used.load(ordering: .relaxed)
        while true {
            guard bytes <= self.limit - current else { return false }
            let (exchanged, original) = self.used.compareExchange(
                expected: current, desired: current + bytes, ordering: .relaxed
            )
            if exchanged { return true }
            current = original
        }
    }

    fileprivate func release(_ bytes: Int) {
        self.used.subtract(bytes, ordering: .relaxed)
    }
}

/// One connection's share of a ``LargeFrameBudget``: the decoder reserves a large frame when its length
/// arrives, the reader releases it once the frame is decoded, and whatever the connection still holds when
/// it ends is released at once (frames read but never taken, a frame cut off half-way).
final class LargeFrameReservation: Sendable {
    private struct State {
        var held = 0
        var ended = false
    }

    private let budget: LargeFrameBudget
    private let state = Mutex(State())

    init(_ budget: LargeFrameBudget) {
        self.budget = budget
    }

    var limit: Int { self.budget.limit }

    /// Reserves a frame of `bytes` when it is large; false when the budget cannot take it (or the
    /// connection ended).
    func reserveFrame(bytes: Int) -> Bool {
        guard bytes > LargeFrameBudget.threshold else { return true }
        return self.state.withLock { state in
            guard !state.ended, self.budget.reserve(bytes) else { return false }
            state.held += bytes
            return true
        }
    }

    /// A frame of `bytes` was decoded (or dropped): its reservation, if it had one, is given back.
    func releaseFrame(bytes: Int) {
        guard bytes > LargeFrameBudget.threshold else { return }
        self.state.withLock { state in
            let released = min(bytes, state.held)
            state.held -= released
            self.budget.release(released)
        }
    }

    /// The connection ended: everything it holds is given back, and it reserves nothing more.
    func end() {
        self.state.withLock { state in
            self.budget.release(state.held)
            state.held = 0
            state.ended = true
        }
    }
}

/// A large frame did not fit the server's budget for large frames.
struct LargeFrameBudgetError: Error, CustomStringConvertible {
    let length: Int
    let limit: Int

    var description: String {
        "the server holds its limit of \(self.limit) bytes of large frames; a frame of \(self.length) bytes must wait: retry later"
    }
}
