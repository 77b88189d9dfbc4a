import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// As PID 1, ftinit reaps every orphan re-parented to it: after 1000 orphaned grandchildren have
/// exited, /proc of the namespace holds no zombie while ftinit still runs
/// (docs/ftinit.md, "Runtime behaviour" 6).
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(Prerequisites.baseTools), what: "orphan reaping tests"))
    struct OrphanReaping {
        static let orphans = 1000

        @Test func thousandOrphanedGrandchildrenAreAllReapedInSingleMode() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let factory = Scripts.orphanFactory(count: Self.orphans, tally: scratch.file("tally"), ready: scratch.file("ready"))
            let ftinit = try FTInit.launch(["--", "sh", "-c", "\(factory); exec sleep 3701"], directory: scratch.path)
            defer { ftinit.stop() }

            try expectAllOrphansReaped(ftinit, scratch: scratch, survivors: [["sleep", "3701"]])
        }

        @Test func thousandOrphanedGrandchildrenOfAServiceAreAllReaped() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let factory = Scripts.orphanFactory(count: Self.orphans, tally: scratch.file("tally"), ready: scratch.file("ready"))
            let path = try scratch.config("""
                [service spawner]
                run = sh -c '\(factory); exec sleep 3702'

                [service bystander]
                run = sleep 3703

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }

            try expectAllOrphansReaped(ftinit, scratch: scratch, survivors: [["sleep", "3702"], ["sleep", "3703"]])

            try ftinit.send(SIGTERM)
            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 0, "\(ftinit.report)")
        }

        /// Waits for the orphans to run and exit, then requires that the namespace holds only
        /// ftinit and `survivors`, and no zombie, while ftinit still runs.
        private func expectAllOrphansReaped(_ ftinit: FTInit, scratch: Scratch, survivors: [[String]]) throws {
            try scratch.waitFor("ready", timeout: .seconds(60), report: ftinit.report)
            let ran = Poll.until(timeout: .seconds(30)) { scratch.lines("tally").count == Self.orphans }
            try #require(ran, "only \(scratch.lines("tally").count) of \(Self.orphans) orphans ran\(ftinit.report)")
            let root = try ftinit.pid()

            // An orphan appends its line just before it exits: give ftinit a moment to reap.
            let clean = Poll.until(timeout: .seconds(5)) {
                ftinit.zombies().isEmpty && ftinit.processes().count == 1 + survivors.count
            }

            #expect(ftinit.process.ended == nil, "ftinit exited early\(ftinit.report)")
            let zombies = ftinit.zombies()
            #expect(zombies.isEmpty, "\(zombies.count) zombies left in the namespace, e.g. \(zombies.prefix(5))\(ftinit.report)")
            let left = ftinit.processes().filter { $0.pid != root }.map { ProcFS.cmdline($0.pid) }
            #expect(clean && Set(left) == Set(survivors), "processes left besides ftinit: \(left.prefix(10))\(ftinit.report)")
        }
    }
}
