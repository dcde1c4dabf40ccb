import Foundation

/// CPU time of this process's threads, read from `/proc/self/task/*/stat` (user and kernel time, in the
/// kernel's clock ticks of 10 ms: a 2 s round at most of a core is read to about 1 %).
struct ThreadCPU {
    struct Times {
        var user: Int = 0
        var system: Int = 0
    }

    /// Ticks per thread id.
    let threads: [Int32: Times]

    static func snapshot() -> ThreadCPU {
        var threads: [Int32: Times] = [:]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        for name in names {
            guard let tid = Int32(name),
                let stat = try? String(contentsOfFile: "/proc/self/task/\(name)/stat", encoding: .utf8),
                let closing = stat.lastIndex(of: ")")
            else { continue }
            // After the command name in parentheses: state (field 3) … utime (14), stime (15).
            let fields = stat[stat.index(after: closing)...].split(separator: " ")
            guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { continue }
            threads[tid] = Times(user: user, system: system)
        }
        return ThreadCPU(threads: threads)
    }

    /// Microseconds of CPU per call between `start` and `end`, for the two event-loop threads and for every
    /// other thread together (the callers: Swift's global executor, unless they run on the clients' loop).
    static func perCall(from start: ThreadCPU, to end: ThreadCPU, calls: Int, serverLoop: Int32, clientLoop: Int32) -> CPUPerCall? {
        guard calls > 0 else { return nil }
        let microsPerTick = 1_000_000 / Double(sysconf(Int32(_SC_CLK_TCK)))
        var result = CPUPerCall()
        for (tid, after) in end.threads {
            let before = start.threads[tid] ?? Times()
            let user = Double(after.user - before.user) * microsPerTick / Double(calls)
            let total = user + Double(after.system - before.system) * microsPerTick / Double(calls)
            switch tid {
            case serverLoop: result.serverLoop = (total, user)
            case clientLoop: result.clientLoop = (total, user)
            default: result.others = (result.others.total + total, result.others.user + user)
            }
        }
        return result
    }
}

/// CPU per call by thread, in microseconds: user and kernel time together, and user time alone.
struct CPUPerCall {
    var serverLoop: (total: Double, user: Double) = (0, 0)
    var clientLoop: (total: Double, user: Double) = (0, 0)
    var others: (total: Double, user: Double) = (0, 0)

    var total: Double { self.serverLoop.total + self.clientLoop.total + self.others.total }
}
