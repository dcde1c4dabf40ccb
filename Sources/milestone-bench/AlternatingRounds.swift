import Foundation

/// Two sides measured in alternating rounds (ours, reference, ours, reference, …) in one run, so that the
/// machine's drift affects both alike; figures are quoted as per-round ratios and their median.
struct AlternatingRounds {
    let name: String
    let referenceName: String
    private(set) var ours: [Measurement] = []
    private(set) var reference: [Measurement] = []

    init(name: String, referenceName: String) {
        self.name = name
        self.referenceName = referenceName
    }

    /// Runs `rounds` rounds of `measureOurs` then `measureReference`.
    static func run(
        name: String,
        referenceName: String,
        rounds: Int,
        ours measureOurs: () async throws -> Measurement,
        reference measureReference: () async throws -> Measurement
    ) async throws -> AlternatingRounds {
        var result = AlternatingRounds(name: name, referenceName: referenceName)
        for _ in 0..<rounds {
            result.ours.append(try await measureOurs())
            result.reference.append(try await measureReference())
        }
        return result
    }

    /// Our calls/s over the reference's, per round.
    var ratios: [Double] {
        zip(self.ours, self.reference).map { $0.callsPerSecond / max($1.callsPerSecond, 1) }
    }

    /// Our p99 over the reference's, per round.
    var p99Ratios: [Double] {
        zip(self.ours, self.reference).map { $0.p99Micros / max($1.p99Micros, 0.001) }
    }

    var medianRatio: Double { median(self.ratios) }
    var medianP99Ratio: Double { median(self.p99Ratios) }

    func medianOurs(_ figure: (Measurement) -> Double) -> Double { median(self.ours.map(figure)) }
    func medianReference(_ figure: (Measurement) -> Double) -> Double { median(self.reference.map(figure)) }

    /// One line per round, then the medians.
    func report(label: String) -> String {
        var lines = ["\(label): \(self.name) against \(self.referenceName), \(self.ours.count) alternating rounds"]
        lines.append("  round          calls/s    p50 µs    p99 µs |    ref calls/s    p50 µs    p99 µs |   ratio   p99 ×")
        for (index, (ours, reference)) in zip(self.ours, self.reference).enumerated() {
            lines.append(String(
                format: "  %-7d %14.0f %9.1f %9.1f | %14.0f %9.1f %9.1f | %7.2f %7.2f",
                index + 1, ours.callsPerSecond, ours.p50Micros, ours.p99Micros,
                reference.callsPerSecond, reference.p50Micros, reference.p99Micros,
                self.ratios[index], self.p99Ratios[index]
            ))
        }
        lines.append(String(
            format: "  median  %14.0f %9.1f %9.1f | %14.0f %9.1f %9.1f | %7.2f %7.2f",
            self.medianOurs(\.callsPerSecond), self.medianOurs(\.p50Micros), self.medianOurs(\.p99Micros),
            self.medianReference(\.callsPerSecond), self.medianReference(\.p50Micros), self.medianReference(\.p99Micros),
            self.medianRatio, self.medianP99Ratio
        ))
        for (side, measurements) in [(self.name, self.ours), (self.referenceName, self.reference)] {
            if let cpu = Self.medianCPU(measurements) {
                lines.append(String(
                    format: "  CPU µs per call, %@ (median; user and kernel, user alone): server loop %.1f (%.1f), client loop %.1f (%.1f), callers and the rest %.1f (%.1f); total %.1f",
                    side, cpu.serverLoop.total, cpu.serverLoop.user, cpu.clientLoop.total, cpu.clientLoop.user,
                    cpu.others.total, cpu.others.user, cpu.total
                ))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The median of each CPU figure over the rounds that read it.
    static func medianCPU(_ measurements: [Measurement]) -> CPUPerCall? {
        let read = measurements.compactMap(\.cpu)
        guard !read.isEmpty else { return nil }
        return CPUPerCall(
            serverLoop: (median(read.map(\.serverLoop.total)), median(read.map(\.serverLoop.user))),
            clientLoop: (median(read.map(\.clientLoop.total)), median(read.map(\.clientLoop.user))),
            others: (median(read.map(\.others.total)), median(read.map(\.others.user)))
        )
    }

    /// The fields of a JSON object (without braces) describing the rounds and their medians.
    var jsonFields: String {
        func list(_ values: [Double], _ format: String) -> String {
            "[" + values.map { String(format: format, $0) }.joined(separator: ",") + "]"
        }
        return ([
            #""rounds":\#(self.ours.count)"#,
            #""calls_per_s":\#(list(self.ours.map(\.callsPerSecond), "%.0f"))"#,
            #""p50_us":\#(list(self.ours.map(\.p50Micros), "%.1f"))"#,
            #""p99_us":\#(list(self.ours.map(\.p99Micros), "%.1f"))"#,
            #""reference_calls_per_s":\#(list(self.reference.map(\.callsPerSecond), "%.0f"))"#,
            #""reference_p50_us":\#(list(self.reference.map(\.p50Micros), "%.1f"))"#,
            #""reference_p99_us":\#(list(self.reference.map(\.p99Micros), "%.1f"))"#,
            #""ratios":\#(list(self.ratios, "%.3f"))"#,
            String(format: #""median_calls_per_s":%.0f,"median_reference_calls_per_s":%.0f"#, self.medianOurs(\.callsPerSecond), self.medianReference(\.callsPerSecond)),
            String(format: #""median_ratio":%.3f,"median_p99_ratio":%.3f"#, self.medianRatio, self.medianP99Ratio),
        ] + [("cpu_us_per_call", self.ours), ("reference_cpu_us_per_call", self.reference)].compactMap { key, measurements in
            Self.medianCPU(measurements).map { cpu in
                String(
                    format: #""%@":{"server_loop":%.2f,"server_loop_user":%.2f,"client_loop":%.2f,"client_loop_user":%.2f,"others":%.2f,"others_user":%.2f}"#,
                    key, cpu.serverLoop.total, cpu.serverLoop.user, cpu.clientLoop.total, cpu.clientLoop.user, cpu.others.total, cpu.others.user
                )
            }
        }).joined(separator: ",")
    }
}

func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
