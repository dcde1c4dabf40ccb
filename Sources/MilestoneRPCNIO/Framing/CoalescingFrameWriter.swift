import NIOCore
import Synchronization

/// Writes encoded frames to a channel, flushing once for all the frames written in the same event-loop
/// tick, so that many concurrent calls share one system call.
final class CoalescingFrameWriter: Sendable {
    private let channel: any Channel
    private let pending = Mutex<(frames: [[UInt8]], flushScheduled: Bool)>(([], false))

    init(channel: any Channel) {
        self.channel = channel
    }

    /// Queues one frame's bytes (without the length prefix, which the pipeline adds).
    func write(_ bytes: [UInt8]) {
        let scheduleFlush = self.pending.withLock { pending -> Bool in
            pending.frames.append(bytes)
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
        let frames = self.pending.withLock { pending -> [[UInt8]] in
            pending.flushScheduled = false
            defer { pending.frames.removeAll(keepingCapacity: true) }
            return pending.frames
        }
        guard !frames.isEmpty else { return }
        let allocator = self.channel.allocator
        for frame in frames {
            self.channel.write(allocator.buffer(bytes: frame), promise: nil)
        }
        self.channel.flush()
    }
}
