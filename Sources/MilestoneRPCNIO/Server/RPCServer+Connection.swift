import Logging
import MilestoneRPC
import MilestoneWire
import NIOCore

extension RPCServer {
    /// Serves one accepted connection until the client closes it, it breaks the protocol, or the server
    /// drains it; returns once every call's task on it has ended. Errors stay with this connection.
    func serve(_ accepted: ServerConnectionChannel) async {
        let channel = accepted.channel
        let peer = channel.remoteAddress?.description ?? "unknown peer"
        let peerAddress = channel.remoteAddress?.ipAddress ?? peer
        let admission = self.connectionOpened(peer: peerAddress)
        defer { self.connectionClosed(peer: peerAddress) }
        let logger = {
            var logger = self.logger
            logger[metadataKey: "peer"] = "\(peer)"
            return logger
        }()
        defer { channel.close(promise: nil) }
        defer { accepted.largeFrames.end() }

        let writer = CoalescingFrameWriter(channel: channel)
        let executor = EventLoopTaskExecutor(channel.eventLoop)
        let dispatcher = ServerConnectionDispatcher(
            pipeline: self.pipeline,
            scheduler: EventLoopTimerScheduler(eventLoop: channel.eventLoop),
            taskExecutor: executor,
            peer: peer,
            maxFrameSize: self.configuration.maxFrameSize,
            maxConcurrentCalls: self.configuration.maxConcurrentCallsPerConnection,
            logger: logger
        ) { bytes, answersCall in
            writer.write(bytes, tracked: answersCall)
        }
        writer.onTrackedWritten { count in dispatcher.responsesWritten(count) }
        // Requests with an immediate answer are answered on the loop as they are read while the reader
        // waits; cleared at the end (the answerer holds the channel, whose pipeline holds the inbox).
        accepted.inbox.answerOnLoop(with: ReadingThreadAnswerer(dispatcher: dispatcher, connection: accepted, writer: writer))
        defer { accepted.inbox.answerOnLoop(with: nil) }
        switch admission {
        case .admitted:
            break
        case .overServerLimit:
            dispatcher.goAway(
                .resourceExhausted,
                "the server is at its limit of \(self.configuration.maxConnections) connections; retry later"
            )
            return
        case .overPeerLimit:
            dispatcher.goAway(
                .resourceExhausted,
                "this address already has \(self.configuration.maxConnectionsPerPeer) connections, the most one peer may hold; reuse one"
            )
            return
        }
        await withTaskExecutorPreference(executor) {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    await self.waitForShutdown()
                    guard !Task.isCancelled else { return }
                    await self.drain(dispatcher, logger: logger)
                    channel.close(promise: nil)
                }
                // Returns when the client left, broke the protocol, or the drain closed the
                // connection, and every call's task has ended.
                await dispatcher.serve { receive in
                    await self.readFrames(accepted, into: receive, dispatcher: dispatcher, writer: writer, logger: logger)
                }
                group.cancelAll()
            }
        }
    }

    private func readFrames(
        _ connection: ServerConnectionChannel,
        into receive: (ServerConnectionDispatcher.InboundFrame) -> ServerConnectionDispatcher.Outcome,
        dispatcher: ServerConnectionDispatcher,
        writer: CoalescingFrameWriter,
        logger: Logger
    ) async {
        var batch: [ByteBuffer] = []
        var handled: [ServerConnectionDispatcher.InboundFrame] = []
        do {
            while try await connection.inbox.take(into: &batch, handled: &handled, channel: connection.channel) {
                // The responses of the calls answered while the batch is handled leave in parts, the last at
                // its end.
                writer.beginBatch(frames: handled.count + batch.count)
                defer { writer.endBatch() }
                // First what the loop took in hand while this task waited (decoded there, or calls accepted
                // there: FrameInbox's answerer), then the frames read after it.
                for index in 0..<(handled.count + batch.count) {
                    // A peer that does not read its responses gets no more requests read until it does.
                    if !connection.writability.isWritable {
                        self.readPauses.increment()
                        logger.debug("reading paused: the peer is not reading its responses")
                        writer.endBatch()
                        await connection.writability.waitUntilWritable()
                        writer.beginBatch(frames: handled.count + batch.count)
                    }
                    let inbound: ServerConnectionDispatcher.InboundFrame
                    if index < handled.count {
                        inbound = handled[index]
                    } else {
                        let buffer = batch[index - handled.count]
                        inbound = .init(Result { try buffer.withUnsafeReadableBytes { try RPCV1.Frame(wireBytes: $0) } }, byteCount: buffer.readableBytes)
                        connection.largeFrames.releaseFrame(bytes: buffer.readableBytes)
                    }
                    if case .close = receive(inbound) {
                        return
                    }
                }
            }
        } catch let error as FrameTooLargeError {
            dispatcher.goAway(.resourceExhausted, "\(error)")
        } catch let error as LargeFrameBudgetError {
            self.largeFrameRefusals.increment()
            dispatcher.goAway(.resourceExhausted, "\(error)")
        } catch let error as TruncatedFrameError {
            logger.warning("connection closed", metadata: ["reason": "\(error)"])
        } catch let error as FrameDeadlineError {
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
