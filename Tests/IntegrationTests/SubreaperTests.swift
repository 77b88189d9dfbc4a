import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// ftinit as an ordinary child (not PID 1, no unshare) registers as child subreaper: orphans of
/// its children are re-parented to it and reaped, and the ones still alive when it exits are
/// killed (docs/ftinit.md, "Runtime behaviour" 1 and 6).
extension Integration {
    @Suite(.requires(.tools(Prerequisites.baseTools + ["setsid"]), what: "subreaper tests"))
    struct Subreaper {
        @Test func orphansOfAServiceAreReparentedToFtinitAndReapedWhenItIsNotPID1() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let factory = Scripts.orphanFactory(count: 200, sleep: "0.05", tally: scratch.file("tally"), ready: scratch.file("ready"))
            let path = try scratch.config("""
                [service spawner]
                run = sh -c '( exec sleep 3801 & ); \(factory); exec sleep 3802'

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], mode: .plain, directory: scratch.path)
            defer { ftinit.stop() }
            let ftinitPid = try ftinit.pid()
            try scratch.waitFor("ready", timeout: .seconds(30), report: ftinit.report)

            // The long-lived orphan now has ftinit as its parent.
            var orphan: ProcStat?
            Poll.until(timeout: .seconds(2)) {
                orphan = ftinit.findProcess(argv: ["sleep", "3801"])
                return orphan != nil
            }
            let adopted = try #require(orphan, "orphan `sleep 3801` not found below ftinit (not re-parented to it?)\(ftinit.report)")
            ftinit.track(adopted.pid)
            #expect(adopted.ppid == ftinitPid, "orphan's parent is \(adopted.ppid), not ftinit (\(ftinitPid))\(ftinit.report)")

            // The short-lived ones ran, exited and were reaped: no zombie child of ftinit.
            let ran = Poll.until(timeout: .seconds(20)) { scratch.lines("tally").count == 200 }
            try #require(ran, "only \(scratch.lines("tally").count) of 200 orphans ran\(ftinit.report)")
            Poll.until(timeout: .seconds(5)) { ftinit.zombies().isEmpty }
            let zombies = ProcFS.children(of: ftinitPid).filter(\.isZombie)
            #expect(zombies.isEmpty, "\(zombies.count) zombie children of ftinit, e.g. \(zombies.prefix(5))\(ftinit.report)")
            #expect(ftinit.process.ended == nil, "ftinit exited early\(ftinit.report)")

            try ftinit.send(SIGTERM)
            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 0, "\(ftinit.report)")
        }

        @Test func orphansOfTheCommandAreReapedInSingleModeWhenItIsNotPID1() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let factory = Scripts.orphanFactory(count: 200, sleep: "0.05", tally: scratch.file("tally"), ready: scratch.file("ready"))
            let ftinit = try FTInit.launch(["--", "sh", "-c", "\(factory); exec sleep 3803"], mode: .plain, directory: scratch.path)
            defer { ftinit.stop() }
            let ftinitPid = try ftinit.pid()
            try scratch.waitFor("ready", timeout: .seconds(30), report: ftinit.report)

            let ran = Poll.until(timeout: .seconds(20)) { scratch.lines("tally").count == 200 }
            try #require(ran, "only \(scratch.lines("tally").count) of 200 orphans ran\(ftinit.report)")
            let clean = Poll.until(timeout: .seconds(5)) {
                ftinit.zombies().isEmpty && ProcFS.descendants(of: ftinitPid).count == 1
            }

            let left = ProcFS.descendants(of: ftinitPid)
            #expect(clean, "left below ftinit: \(left.prefix(10))\(ftinit.report)")
            #expect(ftinit.process.ended == nil, "ftinit exited early\(ftinit.report)")
        }

        /// An orphan in a session of its own is out of reach of the stop signal sent to the
        /// service's process group; ftinit still kills it before exiting.
        @Test func orphanThatLeftTheServiceGroupIsKilledBeforeFtinitExits() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service leaver]
                run = sh -c '( setsid sleep 3804 & ); echo ok > \(scratch.file("ready")); exec sleep 3805'

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], mode: .plain, directory: scratch.path)
            defer { ftinit.stop() }
            let ftinitPid = try ftinit.pid()
            try scratch.waitFor("ready", report: ftinit.report)
            var orphan: ProcStat?
            Poll.until(timeout: .seconds(2)) {
                orphan = ftinit.findProcess(argv: ["sleep", "3804"])
                return orphan.map { $0.ppid == ftinitPid } ?? false
            }
            let escaped = try #require(orphan, "orphan `sleep 3804` not found below ftinit\(ftinit.report)")
            ftinit.track(escaped.pid)
            #expect(escaped.ppid == ftinitPid, "orphan's parent is \(escaped.ppid), not ftinit\(ftinit.report)")
            #expect(escaped.session == escaped.pid, "the orphan did not leave the service's session")

            try ftinit.send(SIGTERM)

            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 0, "\(ftinit.report)")
            #expect(!ProcFS.exists(escaped.pid), "the orphan \(escaped) outlived ftinit\(ftinit.report)")
        }
    }
}
