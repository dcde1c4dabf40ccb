import NIOCore
import Synchronization

/// Writes encoded frames to a channel, flushing once for all the frames written in the same event-loop
/// tick, so that many concurrent calls share one system call (a client's frames written on its loop go out
/// at once). A frame may carry a completion, called once its bytes have left for the socket (or the write
/// failed because the connection closed).
final class CoalescingFrameWriter: Sendable {
    typealias Completion = @Sendable () -> Void

    private struct Pending {
        var frames: [[UInt8]] = []
        var completions: [Completion] = []
        var flushScheduled = false
        /// Between ``beginBatch(frames:)`` and ``endBatch()``: frames wait for the batch's end, or until a
        /// part of the batch (``partFrames``) or 64 KiB wait.
        var batching = false
        var partFrames = 0
        var pendingBytes = 0
        /// Emptied arrays of the last flush, kept for their capacity (no allocation per flush).
        var spareFrames: [[UInt8]] = []
        var spareCompletions: [Completion] = []
    }

    private let channel: any Channel
    private let pending = Mutex(Pending())

    private let immediateOnLoop: Bool

    /// - Parameter immediateOnLoop: a frame written on the channel's event loop goes out at once (with any
    ///   queued before it) instead of at the tick's end. The client's choice: a caller running on the loop
    ///   sends its request while the server still answers the others, so calls overlap instead of moving
    ///   in convoys. The server flushes once per tick, or in parts of a read's batch
    ///   (``beginBatch(frames:)``), which costs fewer system calls under load.
    init(channel: any Channel, immediateOnLoop: Bool = false) {
        self.channel = channel
        self.immediateOnLoop = immediateOnLoop
    }

    /// Queues one frame's bytes (without the length prefix, which the writer adds).
    func write(_ bytes: [UInt8], completion: Completion? = nil) {
        let immediate = self.immediateOnLoop && self.channel.eventLoop.inEventLoop
        enum Next { case nothing, scheduleFlush, flushNow }
        let next = self.pending.withLock { pending -> Next in
            pending.frames.append(bytes)
            if let completion { pending.completions.append(completion) }
            pending.pendingBytes += bytes.count
            if immediate {
                return .flushNow
            }
            if pending.batching {
                return pending.frames.count >= pending.partFrames || pending.pendingBytes >= 65_536 ? .flushNow : .nothing
            }
            if pending.flushScheduled { return .nothing }
            pending.flushScheduled = true
            return .scheduleFlush
        }
        switch next {
        case .nothing:
            break
        case .scheduleFlush:
            self.channel.eventLoop.execute {
                self.flush()
            }
        case .flushNow:
            self.flushOnLoop()
        }
    }

    /// Frames written from now until ``endBatch()`` go out without a flush scheduled for the tick's end:
    /// the server brackets the `frames` requests of one read with it, so that the responses its handlers
    /// give at once leave as soon as they are there, in about four parts (at least two frames each; or
    /// 64 KiB): the client starts on the first responses while the server answers the rest, and calls do
    /// not move in convoys.
    ///
    /// Measured (`milestone-bench rpc`, rpc / bare echo): one write per batch gave 0.41-0.49 at c=8 and
    /// 0.71-0.77 at c=64; parts of 2-4 frames 0.52-0.64 at c=8; parts of 12-32 frames 0.77-1.07 at c=64.
    func beginBatch(frames: Int) {
        self.pending.withLock { pending in
            pending.batching = true
            pending.partFrames = max(2, frames / 4)
        }
    }

    /// Writes what the batch gathered (and anything queued before it). Called on the channel's loop.
    func endBatch() {
        let waiting = self.pending.withLock { pending in
            pending.batching = false
            return !pending.frames.isEmpty
        }
        if waiting {
            self.flushOnLoop()
        }
    }

    private func flushOnLoop() {
        if self.channel.eventLoop.inEventLoop {
            self.flush()
        } else {
            self.channel.eventLoop.execute { self.flush() }
        }
    }

    private func flush() {
        var (frames, completions) = self.pending.withLock { pending -> ([[UInt8]], [Completion]) in
            pending.flushScheduled = false
            var taken: ([[UInt8]], [Completion]) = ([], [])
            pending.pendingBytes = 0
            swap(&taken.0, &pending.frames)
            swap(&taken.1, &pending.completions)
            swap(&pending.frames, &pending.spareFrames)
            swap(&pending.completions, &pending.spareCompletions)
            return taken
        }
        defer {
            frames.removeAll(keepingCapacity: true)
            completions.removeAll(keepingCapacity: true)
            self.pending.withLock { pending in
                swap(&pending.spareFrames, &frames)
                swap(&pending.spareCompletions, &completions)
            }
        }
        guard !frames.isEmpty else { return }
        // Every frame of this tick, each behind its 4-byte big-endian length, in one buffer: one allocation
        // and one pipeline write per flush, whatever the number of calls.
        let total = frames.reduce(0) { $0 + 4 + $1.count }
        var buffer = self.channel.allocator.buffer(capacity: total)
        for frame in frames {
            buffer.writeInteger(UInt32(frame.count))
            buffer.writeBytes(frame)
        }
        if completions.isEmpty {
            self.channel.write(buffer, promise: nil)
        } else {
            // Called once the bytes have left for the socket (or the write failed: the connection closed).
            let promise = self.channel.eventLoop.makePromise(of: Void.self)
            let written = completions
            promise.futureResult.whenComplete { _ in
                for completion in written { completion() }
            }
            self.channel.write(buffer, promise: promise)
        }
        self.channel.flush()
    }
}
