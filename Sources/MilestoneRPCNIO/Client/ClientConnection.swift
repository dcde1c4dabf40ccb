import Logging
import MilestoneRPC
import MilestoneWire
import NIOCore
import Synchronization

/// One open connection of an ``RPCClient``: writes requests, correlates responses by call id, enforces
/// client-side deadlines, sends cancels and keepalive pings.
final class ClientConnection: Sendable {
    private let channel: any Channel
    private let writer: CoalescingFrameWriter
    private let scheduler: EventLoopTimerScheduler
    private let calls = Mutex(ClientCallTable())
    private let lastPong = Atomic<UInt64>(0)
    private let maxFrameSize: Int
    private let logger: Logger
    /// The connection's event loop as a task executor.
    let executor: EventLoopTaskExecutor

    init(
        channel: any Channel,
        maxFrameSize: Int,
        logger: Logger
    ) {
        self.channel = channel
        self.writer = CoalescingFrameWriter(channel: channel, immediateOnLoop: true)
        self.scheduler = EventLoopTimerScheduler(eventLoop: channel.eventLoop)
        self.executor = EventLoopTaskExecutor(channel.eventLoop)
        self.maxFrameSize = maxFrameSize
        self.logger = logger
    }

    /// Makes one call with `metadata` in its wire form; throws ``RPCError`` for every failure, including a
    /// non-OK status.
    func call(method: String, payload: [UInt8], metadata: [RPCV1.MetadataEntry], deadline: Deadline?) async throws -> RPCV1.CallResponse {
        let id = try self.calls.withLock { $0.reserve() }.get()
        var request = RPCV1.CallRequest()
        request.callID = id
        request.method = method
        request.timeoutMicros = deadline.map { max($0.remaining.wholeMicroseconds, 1) } ?? 0
        request.metadata = metadata
        request.payload = payload
        // Encoded on the stack and copied into the connection's outbound buffer (no array per frame). A
        // write to a closed connection is lost; the connection's end then fails the call (UNAVAILABLE).
        var oversized: Int?
        do {
            try RPCV1.Frame(kind: .request(request)).withWireBytes { bytes in
                guard bytes.count <= self.maxFrameSize else {
                    oversized = bytes.count
                    return
                }
                self.writer.write(bytes)
            }
        } catch {
            _ = self.calls.withLock { $0.discard(id) }
            throw RPCError(code: .invalidArgument, message: "the request could not be encoded: \(error)")
        }
        if let oversized {
            _ = self.calls.withLock { $0.discard(id) }
            throw RPCError(
                code: .resourceExhausted,
                message: "the request of \(oversized) bytes exceeds the frame limit of \(self.maxFrameSize) bytes"
            )
        }
        // Set after the write: a response that comes first settles the call, and the timer is then cancelled.
        if let deadline {
            let timer = self.scheduler.schedule(after: deadline.remaining) { [self] in
                self.settle(id, .failure(RPCError(code: .deadlineExceeded, message: "the deadline passed before a response came")), sendCancel: true)
            }
            if !self.calls.withLock({ $0.setTimer(timer, for: id) }) {
                timer.cancel()
            }
        }
        let response = try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: ClientCallTable.Continuation) in
                switch self.calls.withLock({ $0.wait(id, continuation: continuation) }) {
                case .wait:
                    break
                case .resume(let result):
                    continuation.resume(with: result.mapError { $0 as any Error })
                }
            }
        } onCancel: {
            self.settle(id, .failure(RPCError(code: .cancelled, message: "the call was cancelled")), sendCancel: true)
        }
        if let code = response.status.errorCode {
            throw RPCError(code: code, message: response.message, metadata: Metadata(wireEntries: response.metadata))
        }
        return response
    }

    private func settle(_ id: UInt64, _ result: Result<RPCV1.CallResponse, RPCError>, sendCancel: Bool) {
        guard let settlement = self.calls.withLock({ $0.settle(id, with: result) }) else { return }
        settlement.timer?.cancel()
        settlement.continuation?.resume(with: result.mapError { $0 as any Error })
        if sendCancel {
            var cancel = RPCV1.CallCancel()
            cancel.callID = id
            self.send(RPCV1.Frame(kind: .cancel(cancel)))
        }
    }

    /// What the client does after a frame from the server.
    enum Event {
        case none
        /// GoAway: no new calls on this connection.
        case goingAway
    }

    func receive(_ buffer: ByteBuffer) -> Event {
        let frame: RPCV1.Frame
        do {
            frame = try buffer.withUnsafeReadableBytes { try RPCV1.Frame(wireBytes: $0) }
        } catch {
            self.logger.warning("malformed frame from server; closing", metadata: ["error": "\(error)"])
            self.channel.close(promise: nil)
            return .none
        }
        switch frame.kind {
        case .response(let response):
            self.settle(response.callID, .success(response), sendCancel: false)
        case .goAway(let goAway):
            let code = goAway.status.errorCode ?? .unavailable
            let error = RPCError(code: code, message: "the server closed the connection: \(goAway.message)")
            let refused = self.calls.withLock { $0.goAway(lastCallID: goAway.lastCallID, error: error) }
            for (_, settlement) in refused {
                settlement.timer?.cancel()
                settlement.continuation?.resume(throwing: error)
            }
            self.logger.debug("server sent GoAway", metadata: ["status": "\(code)", "message": "\(goAway.message)"])
            return .goingAway
        case .ping(let ping):
            var pong = RPCV1.Pong()
            pong.opaque = ping.opaque
            self.send(RPCV1.Frame(kind: .pong(pong)))
        case .pong(let pong):
            self.lastPong.store(pong.opaque, ordering: .relaxed)
        case .request, .cancel, nil:
            break
        }
        return .none
    }

    /// Pings every `interval`; closes the connection when a ping goes unanswered for `timeout`.
    func keepalive(interval: Duration, timeout: Duration) async {
        var opaque: UInt64 = 0
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
                opaque += 1
                var ping = RPCV1.Ping()
                ping.opaque = opaque
                self.send(RPCV1.Frame(kind: .ping(ping)))
                try await Task.sleep(for: timeout)
            } catch {
                return
            }
            if self.lastPong.load(ordering: .relaxed) != opaque {
                self.logger.warning("keepalive ping unanswered; closing connection", metadata: ["timeout": "\(timeout)"])
                self.channel.close(promise: nil)
                return
            }
        }
    }

    /// The connection ended: every call in flight fails with `error`.
    func closed(error: RPCError) {
        let settlements = self.calls.withLock { $0.close(error: error) }
        for settlement in settlements {
            settlement.timer?.cancel()
            settlement.continuation?.resume(throwing: error)
        }
    }

    func close() {
        self.channel.close(promise: nil)
    }

    /// Completes when the connection has closed.
    var closeFuture: EventLoopFuture<Void> { self.channel.closeFuture }

    /// Writes a frame without waiting (cancels, pings, pongs).
    private func send(_ frame: RPCV1.Frame) {
        try? frame.withWireBytes { self.writer.write($0) }
    }
}
