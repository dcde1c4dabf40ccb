import MallocInterposerSwift

/// Counts heap allocations (malloc, calloc, realloc, posix_memalign, … on every thread) with ordo-one's
/// malloc interposer. This executable links its shared library ahead of libc, so its `malloc` is the
/// process's; where that does not hold (another platform, a static build), ``isActive`` is false.
enum AllocationCounter {
    /// Whether allocations are being intercepted in this process.
    static let isActive: Bool = {
        MallocInterposerSwift.initialize()
        MallocInterposerSwift.hook()
        let probe = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
        probe.deallocate()
        MallocInterposerSwift.unhook()
        let counted = MallocInterposerSwift.getStatistics().mallocCount > 0
        MallocInterposerSwift.initialize()
        return counted
    }()

    /// The allocations made while `body` runs, on all threads.
    static func count(_ body: () async throws -> Void) async rethrows -> Int {
        MallocInterposerSwift.initialize()
        MallocInterposerSwift.hook()
        try await body()
        MallocInterposerSwift.unhook()
        return Int(MallocInterposerSwift.getStatistics().mallocCount)
    }
}
