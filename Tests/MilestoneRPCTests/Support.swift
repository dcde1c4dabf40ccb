import Logging
@testable import MilestoneRPC
import MilestoneWire
import Synchronization

/// Timers fired by hand.
final class ManualTimerScheduler: CallTimerScheduler {
    final class Timer: CallTimer {
        let delay: Duration
        let body: @Sendable () -> Void
        let cancelled = Mutex(false)
        init(delay: Duration, body: @escaping @Sendable () -> Void) {
            self.delay = delay
            self.body = body
        }
        func cancel() { self.cancelled.withLock { $0 = true } }
        func fire() { if !self.cancelled.withLock({ $0 }) { self.body() } }
    }

    let timers = Mutex<[Timer]>([])

    func schedule(after delay: Duration, _ body: @escaping @Sendable () -> Void) -> any CallTimer {
        let timer = Timer(delay: delay, body: body)
        self.timers.withLock { $0.append(timer) }
        return timer
    }

    func fireAll() {
        for timer in self.timers.withLock({ $0 }) { timer.fire() }
    }
}

/// Collects the frames a dispatcher writes.
final class FrameSink: Sendable {
    private let frames = Mutex<[Frame]>([])

    func write(_ bytes: [UInt8]) {
        let frame = try! Frame(wireBytes: bytes)
        self.frames.withLock { $0.append(frame) }
    }

    var all: [Frame] { self.frames.withLock { $0 } }

    var responses: [CallResponse] {
        self.all.compactMap { if case .response(let response) = $0.kind { response } else { nil } }
    }

    /// Waits until `count` responses arrived (at most 5 s).
    func waitForResponses(_ count: Int) async throws -> [CallResponse] {
        for _ in 0..<500 {
            let responses = self.responses
            if responses.count >= count { return responses }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("expected \(count) responses, got \(self.responses.count)")
        return self.responses
    }
}

import Testing

func requestFrame(
    id: UInt64,
    method: String,
    payload: [UInt8] = [],
    metadata: [(String, String)] = [],
    timeoutMicros: UInt64 = 0
) -> Frame {
    var request = CallRequest()
    request.callID = id
    request.method = method
    request.payload = payload
    request.timeoutMicros = timeoutMicros
    request.metadata = metadata.map { key, value in
        var entry = MetadataEntry()
        entry.key = key
        entry.value = value
        return entry
    }
    var frame = Frame()
    frame.kind = .request(request)
    return frame
}

let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
