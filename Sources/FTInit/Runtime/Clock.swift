#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A point on the monotonic clock, in milliseconds. Wall-clock jumps never move it.
public struct Instant: Comparable, Sendable {
    public var milliseconds: Int64

    public static func now() -> Instant {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Instant(milliseconds: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }

    public static func < (a: Instant, b: Instant) -> Bool { a.milliseconds < b.milliseconds }

    /// Saturates at the end of time rather than trapping: a deadline that far away is never
    /// reached, which is what a huge duration means.
    public static func + (a: Instant, d: TimeSpan) -> Instant {
        let (sum, overflow) = a.milliseconds.addingReportingOverflow(d.milliseconds)
        return Instant(milliseconds: overflow ? (d.milliseconds < 0 ? .min : .max) : sum)
    }

    /// Time from `earlier` to self (never negative).
    public func since(_ earlier: Instant) -> TimeSpan {
        TimeSpan(milliseconds: max(0, milliseconds - earlier.milliseconds))
    }
}
