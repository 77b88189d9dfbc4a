import Glibc
import Testing
@testable import FTInit

/// /proc/PID/stat parsing and the grouping of processes into each service's tree.
@Suite struct ProcessTableTests {
    /// A stat line of `pid` with the given links and figures; the rest as the kernel writes it.
    static func statLine(_ pid: Int32, comm: String = "sh", parent: Int32, session: Int32,
                         utime: Int = 0, stime: Int = 0, cutime: Int = 0, cstime: Int = 0, rss: Int = 100) -> String {
        "\(pid) (\(comm)) S \(parent) \(pid) \(session) 0 -1 4194560 100 0 0 0 \(utime) \(stime) \(cutime) \(cstime) 20 0 1 0 12345 2281472 \(rss) 18446744073709551615 1 1 0 0 0 0 0 0 65536 0 0 0 17 1 0 0 0 0 0"
    }

    static func stat(_ pid: Int32, parent: Int32, session: Int32, ticks: Int = 0, rss: Int = 100) -> ProcessStat {
        ProcessStat(parsing: statLine(pid, parent: parent, session: session, utime: ticks, rss: rss))!
    }

    @Test func readsTheFieldsAfterTheCommandName() throws {
        let stat = try #require(ProcessStat(parsing: Self.statLine(42, comm: "we) ird (name", parent: 7, session: 40,
                                                                    utime: 10, stime: 5, cutime: 3, cstime: 2, rss: 321)))
        #expect(stat == ProcessStat(pid: 42, parent: 7, session: 40, ownTicks: 15, reapedChildrenTicks: 5, residentPages: 321))
    }

    @Test(arguments: ["", "42", "42 (sh) S 1 2", "x (sh) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23"])
    func refusesWhatIsNotAStatLine(_ text: String) {
        #expect(ProcessStat(parsing: text) == nil)
    }

    @Test func aTreeIsItsRootAndEveryDescendant() {
        // 1 = ftinit; 10 and 20 are services; 11, 12 descend from 10; 30 is unrelated.
        let table = ProcessTable(processes: [
            Self.stat(1, parent: 0, session: 1, ticks: 1000),
            Self.stat(10, parent: 1, session: 10, ticks: 5, rss: 10),
            Self.stat(11, parent: 10, session: 10, ticks: 7, rss: 20),
            Self.stat(12, parent: 11, session: 12, ticks: 1, rss: 30),  // a new session, still a descendant
            Self.stat(20, parent: 1, session: 20, ticks: 2, rss: 40),
            Self.stat(30, parent: 1, session: 30, ticks: 9, rss: 50),
        ])
        let usage = table.usage(of: [10, 20])
        #expect(usage[10] == TreeUsage(ticks: 13, residentPages: 60, processes: 3))
        #expect(usage[20] == TreeUsage(ticks: 2, residentPages: 40, processes: 1))
        #expect(usage.count == 2)
    }

    @Test func aDaemonWhoseParentExitedStillCountsThroughItsSession() {
        // 15 forked from 10's tree, its parent exited, so it was reparented to ftinit (1).
        let table = ProcessTable(processes: [
            Self.stat(10, parent: 1, session: 10, ticks: 1),
            Self.stat(15, parent: 1, session: 10, ticks: 4),
        ])
        #expect(table.usage(of: [10])[10] == TreeUsage(ticks: 5, residentPages: 200, processes: 2))
    }

    @Test func reapedChildrenCountInTheirParentsCPU() {
        let stat = ProcessStat(parsing: Self.statLine(10, parent: 1, session: 10, utime: 1, stime: 1, cutime: 30, cstime: 10))!
        #expect(ProcessTable(processes: [stat]).usage(of: [10])[10]?.ticks == 42)
    }

    @Test func readsThisProcessFromTheRealProc() throws {
        var reader = FileReader()
        let table = ProcessTable.read(reader: &reader)
        let own = try #require(table.processes.first { $0.pid == getpid() })
        #expect(own.parent == getppid())
        #expect(own.residentPages > 0)
    }
}
