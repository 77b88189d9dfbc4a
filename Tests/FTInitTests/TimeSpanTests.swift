import Glibc
import Testing
@testable import FTInit

/// Durations as written in the config: one or more NUMBER UNIT pairs, `0` alone is zero.
@Suite struct TimeSpanTests {
    @Test(arguments: [
        ("500ms", 500), ("10s", 10_000), ("1m", 60_000), ("1h", 3_600_000), ("1m30s", 90_000), ("0", 0),
        ("0s", 0), ("0ms", 0), ("1h1m1s1ms", 3_661_001), ("1s500ms", 1_500), ("30s1m", 90_000),
        ("25s", 25_000), ("999999999ms", 999_999_999), ("007s", 7_000),
    ] as [(String, Int64)])
    func parsesDurations(text: String, milliseconds: Int64) {
        #expect(TimeSpan(parsing: text)?.milliseconds == milliseconds)
    }

    @Test(arguments: [
        "", "10", "s", "10x", "1.5s", "-1s", "10 s", "ms10", "10S", "10sec", "1m30", " 1s", "1s ", "+1s",
        "1_000ms", "1e3ms", "1000000000ms", "١s", "10s,5s", "00",
    ])
    func rejectsMalformedDurations(text: String) {
        #expect(TimeSpan(parsing: text) == nil)
    }

    @Test(arguments: [
        (1500, "1500ms"), (10_000, "10s"), (120_000, "2m"), (0, "0s"), (3_600_000, "1h"), (90_000, "90s"),
        (61_000, "61s"), (1, "1ms"), (7_200_000, "2h"),
    ] as [(Int64, String)])
    func printsShortestExactSpelling(milliseconds: Int64, text: String) {
        #expect(TimeSpan(milliseconds: milliseconds).description == text)
    }

    @Test(arguments: ["500ms", "10s", "2m", "1h", "1500ms", "90s"])
    func printedDurationsReadBack(text: String) throws {
        let span = try #require(TimeSpan(parsing: text))
        #expect(span.description == text)
        #expect(TimeSpan(parsing: span.description) == span)
    }

    /// Past 9 digits in its shortest unit, a duration prints as a sum of units the parser reads
    /// back (found by fuzz/targets/argv.swift: `199999999h1s19h` printed as `720000064801s`).
    @Test(arguments: [
        (1_000_000_123, "11d13h46m40s123ms"), (1_000_000_000, "1000000s"), (999_999_999, "999999999ms"),
        (720_000_064_801_000, "8333334d2h1s"), (86_400_000 * 1_000_000_000, "999999999d1d"),
    ] as [(Int64, String)])
    func longDurationsPrintAsASumThatReadsBack(milliseconds: Int64, text: String) {
        #expect(TimeSpan(milliseconds: milliseconds).description == text)
        #expect(TimeSpan(parsing: text) == TimeSpan(milliseconds: milliseconds))
    }

    /// A deadline past the end of the clock saturates instead of trapping (issue 14: a huge
    /// stop-timeout killed PID 1 with SIGILL when it computed the stop's deadline).
    @Test func aDeadlineFarAwaySaturates() {
        let now = Instant.now()
        #expect((now + TimeSpan(milliseconds: .max)).milliseconds == .max)
        #expect((Instant(milliseconds: .max) + .seconds(2)).milliseconds == .max)
        #expect((now + .seconds(2)).milliseconds == now.milliseconds + 2000)
    }

    @Test func theLongestDurationReadsBack() {
        let longest = TimeSpan(milliseconds: .max)
        #expect(TimeSpan(parsing: longest.description) == longest)
    }

    /// `ftinit status` read no uptime from a service up for more than 11.6 days.
    @Test func anUptimePastElevenDaysReadsBackFromTheStatusReport() {
        let uptime = TimeSpan(milliseconds: 1_000_000_123)
        let report = StatusReport(healthy: true, summary: "1 service", programs: [
            StatusReport.Program(kind: "service", name: "web", state: "running", pid: 7, health: "none",
                                 uptime: uptime, check: nil, result: nil, latency: nil),
        ])
        #expect(StatusReport(parsing: report.text)?.programs.first?.uptime == uptime)
    }

    @Test func subtractionNeverGoesBelowZero() {
        #expect(TimeSpan.seconds(10) - TimeSpan(milliseconds: 2_500) == TimeSpan(milliseconds: 7_500))
        #expect(TimeSpan.seconds(1) - TimeSpan.seconds(5) == .zero)
    }

    @Test func comparesByLength() {
        #expect(TimeSpan(milliseconds: 999) < .seconds(1))
        #expect(min(TimeSpan.seconds(10), TimeSpan(milliseconds: 2_000)) == TimeSpan(milliseconds: 2_000))
        #expect(TimeSpan(parsing: "1m") == TimeSpan(parsing: "60s"))
    }
}

extension TimeSpanTests {
    /// A duration too long for 64-bit milliseconds is a bad duration, not a crash of
    /// `ftinit check` (run in a child process, so a trap fails only this test).
    @Test func rejectsADurationThatOverflowsInsteadOfCrashing() async {
        await #expect(processExitsWith: .success) {
            let absurd = String(repeating: "999999999h", count: 3000)
            exit(TimeSpan(parsing: absurd) == nil ? 0 : 1)
        }
    }
}
