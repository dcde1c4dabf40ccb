#if canImport(Glibc)
import Glibc

// glibc's <malloc.h>, which the Glibc module does not export.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
private let M_TRIM_THRESHOLD: Int32 = -1
private let M_MMAP_THRESHOLD: Int32 = -3
private let M_ARENA_MAX: Int32 = -8
#endif

/// How a service asks glibc's allocator to give memory back: a long-running service that rebuilds large
/// structures now and then (the identity service's tenant map) otherwise keeps their garbage resident in
/// per-thread arenas. Measured on the identity service with 100,000 tenants under load: 77 MiB resident
/// with glibc's defaults, 60–62 MiB with two arenas, 64 KiB trim/mmap thresholds and a trim after each
/// listing (BENCHMARKS.md).
/// No effect on other C libraries.
public enum MemoryPolicy {
    /// Two malloc arenas, and blocks of 64 KiB or more mapped (and unmapped when freed) rather than kept in
    /// the heap; free memory at the heap's top returned past 64 KiB. Call once, first thing at start.
    /// `MILESTONE_MALLOC=default` in the environment keeps glibc's defaults (to compare, or when throughput
    /// matters more than memory).
    public static func compact() {
        #if canImport(Glibc)
        if let value = getenv("MILESTONE_MALLOC"), String(cString: value) == "default" { return }
        _ = glibcMallopt(M_ARENA_MAX, 2)
        _ = glibcMallopt(M_MMAP_THRESHOLD, 64 * 1024)
        _ = glibcMallopt(M_TRIM_THRESHOLD, 64 * 1024)
        #endif
    }

    /// Returns free heap memory to the system (after a large structure was rebuilt).
    public static func returnFreeMemory() {
        #if canImport(Glibc)
        _ = glibcMallocTrim(0)
        #endif
    }
}
