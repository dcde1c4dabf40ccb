import NIOCore
import Synchronization

/// Writes encoded frames to a channel, flushing once for all the frames written in the same event-loop
/// tick, so that many concurrent calls share one system call. A frame may carry a completion, called once
/// its bytes have left for the socket (or the write failed because the connection closed).
final class CoalescingFrameWriter: Sendable {
    typealias Completion = @Sendable () -> Void

    private struct Pending {
        var frames: [[UInt8]] = []
        var completions: [Completion] = []
        var flushScheduled = false
    }

    private let channel: any Channel
    private let pending = Mutex(Pending())

    init(channel: any Channel) {
        self.channel = channel
    }

    /// Queues one frame's bytes (without the length prefix, which the pipeline adds).
    func write(_ bytes: [UInt8], completion: Completion? = nil) {
        let scheduleFlush = self.pending.withLock { pending -> Bool in
            pending.frames.append(bytes)
            if let completion { pending.completions.append(completion) }
            if pending.flushScheduled { return false }
            pending.flushScheduled = true
            return true
        }
        if scheduleFlush {
            self.channel.eventLoop.execute {
                self.flush()
            }
        }
    }

    private func flush() {
        let (frames, completions) = self.pending.withLock { pending -> ([[UInt8]], [Completion]) in
            pending.flushScheduled = false
            defer {
                pending.frames.removeAll(keepingCapacity: true)
                pending.completions.removeAll(keepingCapacity: true)
            }
            return (pending.frames, pending.completions)
        }
        guard !frames.isEmpty else { return }
        let allocator = self.channel.allocator
        for frame in frames.dropLast() {
            self.channel.write(allocator.buffer(bytes: frame), promise: nil)
        }
        if completions.isEmpty {
            self.channel.write(allocator.buffer(bytes: frames[frames.count - 1]), promise: nil)
        } else {
            // Writes complete in order: when the last one has, so have the others.
            let promise = self.channel.eventLoop.makePromise(of: Void.self)
            promise.futureResult.whenComplete { _ in
                for completion in completions { completion() }
            }
            self.channel.write(allocator.buffer(bytes: frames[frames.count - 1]), promise: promise)
        }
        self.channel.flush()
    }
}
