import Logging
import MilestoneRPC
import MilestoneWire
import NIOCore
import Synchronization

extension RPCServer {
    /// Serves one accepted connection until the client closes it, it breaks the protocol, or the server
    /// drains it. Errors stay with this connection.
    func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let peer = connection.channel.remoteAddress?.description ?? "unknown peer"
        let limit = self.configuration.maxConnections
        let admitted = self.connectionCount.withLock { count -> Bool in
            count += 1
            return count <= limit
        }
        defer { self.connectionCount.withLock { $0 -= 1 } }
        let logger = {
            var logger = self.logger
            logger[metadataKey: "peer"] = "\(peer)"
            return logger
        }()

        do {
            try await connection.executeThenClose { inbound, _ in
                let writer = CoalescingFrameWriter(channel: connection.channel)
                let executor = EventLoopTaskExecutor(connection.channel.eventLoop)
                let dispatcher = ServerConnectionDispatcher(
                    pipeline: self.pipeline,
                    scheduler: EventLoopTimerScheduler(eventLoop: connection.channel.eventLoop),
                    taskExecutor: executor,
                    peer: peer,
                    maxFrameSize: self.configuration.maxFrameSize,
                    maxConcurrentCalls: self.configuration.maxConcurrentCallsPerConnection,
                    logger: logger
                ) { bytes in
                    writer.write(bytes)
                }
                guard admitted else {
                    await dispatcher.goAway(
                        .resourceExhausted,
                        "the server is at its limit of \(limit) connections; retry later"
                    )
                    return
                }
                await withTaskExecutorPreference(executor) {
                  await withDiscardingTaskGroup { group in
                    group.addTask {
                        await self.shutdownRequested.wait()
                        guard !Task.isCancelled else { return }
                        await self.drain(dispatcher, logger: logger)
                        connection.channel.close(promise: nil)
                    }
                    await Self.readFrames(inbound, into: dispatcher, logger: logger)
                    // The client left, broke the protocol, or the drain closed the connection.
                    dispatcher.close()
                    group.cancelAll()
                  }
                }
            }
        } catch {
            logger.debug("connection closed with an error", metadata: ["error": "\(error)"])
        }
    }

    private static func readFrames(
        _ inbound: NIOAsyncChannelInboundStream<ByteBuffer>,
        into dispatcher: ServerConnectionDispatcher,
        logger: Logger
    ) async {
        do {
            for try await buffer in inbound {
                let frame = Result { try buffer.withUnsafeReadableBytes { try Frame(wireBytes: $0) } }
                if case .close = await dispatcher.receive(frame, byteCount: buffer.readableBytes) {
                    return
                }
            }
        } catch let error as FrameTooLargeError {
            await dispatcher.goAway(.resourceExhausted, "\(error)")
        } catch let error as TruncatedFrameError {
            logger.warning("connection closed", metadata: ["reason": "\(error)"])
        } catch {
            logger.debug("connection read failed", metadata: ["error": "\(error)"])
        }
    }

    /// Drains one connection: GoAway, then up to the grace period for its calls to finish, then cancels
    /// what is left.
    private func drain(_ dispatcher: ServerConnectionDispatcher, logger: Logger) async {
        let grace = self.configuration.drainGracePeriod
        let drained = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await dispatcher.drain()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: grace)
                return false
            }
            let first = await group.next() ?? true
            if !first {
                let left = dispatcher.callsInFlight
                logger.warning("grace period over: cancelling calls in flight", metadata: ["calls": "\(left)"])
                dispatcher.close()
            }
            group.cancelAll()
            return first
        }
        logger.debug("connection drained", metadata: ["in-time": "\(drained)"])
    }
}
