import NIOCore
import Synchronization

/// Writes encoded frames to a channel, flushing once for all the frames written in the same event-loop
/// tick, so that many concurrent calls share one system call (a client's frames written on its loop go out
/// at once). Frames written as `tracked` are counted, and the count given to the ``onTrackedWritten(_:)``
/// handler once their bytes have left for the socket (or the write failed because the connection closed).
final class CoalescingFrameWriter: Sendable {
    typealias WrittenHandler = @Sendable (_ frames: Int) -> Void

    private struct Pending {
        /// The frames waiting, each behind its length, in the buffer the next flush writes. Between flushes
        /// the buffer of the last one is kept (``spare``) and written into again: no allocation per flush
        /// once the socket has taken the bytes.
        var buffer: ByteBuffer?
        var spare: ByteBuffer?
        var frames = 0
        /// Tracked frames in `buffer`.
        var tracked = 0
        var writtenHandler: WrittenHandler?
        var flushScheduled = false
        /// Between ``beginBatch(frames:)`` and ``endBatch()``: frames wait for the batch's end, or until a
        /// part of the batch (``partFrames``) or 64 KiB wait.
        var batching = false
        var partFrames = 0
    }

    /// A flushed buffer larger than this is not kept for the next flush (one large response does not
    /// hold its memory for the connection's life).
    static let maxSpareCapacity = 64 * 1024

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

    /// Called with the number of tracked frames each time some have been written (or their write failed).
    func onTrackedWritten(_ handler: @escaping WrittenHandler) {
        self.pending.withLock { $0.writtenHandler = handler }
    }

    /// Queues one frame's bytes (without the length prefix, which the writer adds); they are copied
    /// before this returns. A `tracked` frame is counted for the ``onTrackedWritten(_:)`` handler.
    func write(_ bytes: UnsafeRawBufferPointer, tracked: Bool = false) {
        let immediate = self.immediateOnLoop && self.channel.eventLoop.inEventLoop
        enum Next { case nothing, scheduleFlush, flushNow }
        let next = self.pending.withLock { pending -> Next in
            // Taken out of the state while written, so that its storage is not shared (no copy on write).
            var buffer = self.takeBuffer(&pending, capacity: 4 + bytes.count)
            buffer.writeInteger(UInt32(bytes.count))
            buffer.writeBytes(bytes)
            let written = buffer.readableBytes
            pending.buffer = consume buffer
            pending.frames += 1
            if tracked { pending.tracked += 1 }
            if immediate {
                return .flushNow
            }
            if pending.batching {
                return pending.frames >= pending.partFrames || written >= 65_536 ? .flushNow : .nothing
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

    /// Queues one frame's bytes (without the length prefix).
    func write(_ bytes: [UInt8], tracked: Bool = false) {
        bytes.withUnsafeBytes { self.write($0, tracked: tracked) }
    }

    /// The buffer being filled; or the one kept from the last flush, emptied; or a new one.
    private func takeBuffer(_ pending: inout Pending, capacity: Int) -> ByteBuffer {
        if let buffer = pending.buffer.take() { return buffer }
        guard var spare = pending.spare.take() else {
            return self.channel.allocator.buffer(capacity: max(capacity, 1024))
        }
        // Emptied in place once the socket has taken its bytes (the channel released it); otherwise this
        // makes a new storage and the channel keeps the old one.
        spare.clear()
        return spare
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
            return pending.frames > 0
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
        let (taken, tracked, handler) = self.pending.withLock { pending -> (ByteBuffer?, Int, WrittenHandler?) in
            pending.flushScheduled = false
            pending.frames = 0
            defer { pending.tracked = 0 }
            return (pending.buffer.take(), pending.tracked, pending.writtenHandler)
        }
        guard let buffer = taken else { return }
        // Every frame since the last flush, each behind its 4-byte big-endian length, in one buffer: one
        // pipeline write per flush, whatever the number of calls.
        if tracked > 0, let handler {
            // Called once the bytes have left for the socket (or the write failed: the connection closed).
            let promise = self.channel.eventLoop.makePromise(of: Void.self)
            promise.futureResult.whenComplete { _ in handler(tracked) }
            self.channel.write(buffer, promise: promise)
        } else {
            self.channel.write(buffer, promise: nil)
        }
        self.channel.flush()
        if buffer.capacity <= Self.maxSpareCapacity {
            self.pending.withLock { $0.spare = buffer }
        }
    }
}
