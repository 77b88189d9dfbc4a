import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// PID 1 at its edges in time: stops that race deaths, timeouts and name lookups, an
/// inherited signal disposition, durations past the clock (issue 14).
extension Integration.PID1Edges {
    /// Defect 5: health checks went on during the stop (5 of them in a 6 s stop, in the
    /// review). Here `web` turning healthy starts `app`, whose command does not exist: that
    /// begins the stop from inside web's health change, and the old HealthMonitor then
    /// rescheduled its next check after the stop had ended it. None may start once the stop
    /// has begun.
    @Test func noHealthCheckRunsDuringTheStop() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let marks = scratch.file("checks")
        let path = try scratch.config("""
            [service web]
            run = sh -c 'trap "" TERM; while :; do sleep 1; done'
            stop-timeout = 4s
            check = exec sh -c 'echo x >> \(marks)'
            check-interval = 300ms

            [service app]
            run = /nonexistent/app
            after = web

            """)
        let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
        defer { ftinit.stop() }
        _ = try ftinit.requireEvent("stopping", timeout: .seconds(10))
        let atStop = scratch.lines("checks").count
        #expect(try ftinit.exitCode(timeout: .seconds(20)) == 127, "\(ftinit.report)")
        let during = scratch.lines("checks").count - atStop
        #expect(atStop >= 1, "web was never checked\(ftinit.report)")
        #expect(during == 0, "\(during) health checks ran during the 4 s stop\(ftinit.report)")
    }

    /// Suspected in the review, and confirmed: a service dies and SIGTERM arrives in the same
    /// wake-up (here: ftinit stopped with SIGSTOP while the service TERMs PID 1 and exits 3,
    /// then SIGCONT). signalfd hands TERM (15) out before CHLD (17), so the stop began "on
    /// request" and the death was reported as exit 0. Deaths are handled first now: exit 3.
    @Test func aDeathThatRacesAStopRequestIsNotHidden() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try scratch.config("""
            [service dies]
            run = sh -c 'while [ ! -e \(scratch.file("go")) ]; do sleep 0.05; done; kill -TERM 1; exit 3'

            [service stays]
            run = sleep 4939

            """)
        let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
        defer { ftinit.stop() }
        _ = try ftinit.requireStarted(["dies", "stays"])
        try ftinit.send(SIGSTOP)
        _ = try scratch.write("go", "")
        let dies = try #require(ftinit.events("started").first { $0.subject == "dies" })
        let diesPid = try ftinit.hostPid(of: dies)
        #expect(Poll.until(timeout: .seconds(5)) { ProcFS.stat(diesPid)?.isZombie ?? true }, "the service did not exit")
        try ftinit.send(SIGCONT)
        #expect(try ftinit.exitCode(timeout: .seconds(15)) == 3, "\(ftinit.report)")
    }

    /// Suspected in the review, and confirmed: a task's timeout timer and the stop's timer
    /// shared one slot. A task still running (and ignoring TERM) when the stop reaches it
    /// got the stop's timer in that slot, yet its own timeout still fired: SIGKILL came from
    /// the task timeout, unmarked, and a stop that needed SIGKILL exited 0 (the contract:
    /// 1). The stop now cancels the task's timeout; its own timer kills, and says so.
    @Test func aTaskStillRunningWhenTheStopReachesItIsStoppedByTheStopsRules() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try scratch.config("""
            [init]
            stop-timeout = 3s

            [task slow]
            run = sh -c 'trap "" TERM; sleep 30'
            timeout = 2s

            """)
        let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
        defer { ftinit.stop() }
        _ = try ftinit.requireStarted(["slow"])
        Thread.sleep(forTimeInterval: 0.5)
        try ftinit.send(SIGTERM)
        let code = try ftinit.exitCode(timeout: .seconds(15))
        #expect(code == 1, "a stop that needed SIGKILL exits 1\(ftinit.report)")
        #expect(ftinit.events("timeout").isEmpty, "the task's own timeout fired during the stop\(ftinit.report)")
        #expect(!ftinit.events("killed", subject: "slow").isEmpty, "the stop did not kill it\(ftinit.report)")
    }

    /// Defect 3: SIGTERM while the config's check host resolves (a name server that takes
    /// 2 s a query) stops boot: nothing is started and ftinit exits 0 once the lookup
    /// returns. Before, signals were blocked only after
    /// preflight: PID 1 dropped the TERM (default disposition) and started everything.
    @Test func aStopRequestedWhileANameResolvesStartsNothing() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        // A name server that answers after 2 s, on an address of its own.
        let dns = try SpawnedProcess.pythonServer(DNSResponder.script, ["127.0.0.83", "slow.ft-test", "127.0.0.1", "2"],
                                                  name: "the slow name server")
        defer { dns.killAndWait() }
        let resolv = try scratch.write("resolv.conf", "nameserver 127.0.0.83\noptions timeout:8 attempts:1\n")
        let path = try scratch.config("""
            [service web]
            run = sleep 4930
            check = tcp slow.ft-test:80

            """)
        let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path, bindMounts: [resolv: "/etc/resolv.conf"])
        defer { ftinit.stop() }
        Thread.sleep(forTimeInterval: 1)
        try ftinit.send(SIGTERM)
        let code = try ftinit.exitCode(timeout: .seconds(15))
        #expect(code == 0, "\(ftinit.report)")
        #expect(ftinit.events("started").isEmpty, "a service started after the stop request\(ftinit.report)")
        #expect(!ftinit.events("stop-requested").isEmpty, "\(ftinit.report)")
    }

    /// Defect 4: a SIGCHLD ignored by whatever started ftinit (inherited through exec) made
    /// the kernel reap every child itself: a service died and nothing was seen. Before, the
    /// death went unnoticed and ftinit ran on (here: did not exit within 10 s).
    @Test func anInheritedIgnoredSIGCHLDStillShowsEveryDeath() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try scratch.config("""
            [service dies]
            run = sh -c 'sleep 1; exit 3'

            [service stays]
            run = sleep 4931

            """)
        let binary = try FTInitBinary.require()
        let python = try #require(Prerequisites.which("python3"))
        let result = try Tool.run([python, "-c", """
            import os, signal, sys
            signal.signal(signal.SIGCHLD, signal.SIG_IGN)
            os.execv(sys.argv[1], sys.argv[1:])
            """, binary, "run", "--config", path], environment: ["FTINIT_SOCKET": scratch.file("ftinit.sock")], timeout: .seconds(10))
        #expect(result.code == 3, "\(result)")
        #expect(result.stderr.contains("exited service=dies") && result.stderr.contains("code=3"), "\(result)")
    }

    /// Defect 10: a duration so long that `now + stop-timeout` overflows passed `ftinit
    /// check` and killed PID 1 with SIGILL (exit 132) at the first stop. Durations past
    /// 36500d (100 years) are now refused with the file and line.
    @Test func aHugeDurationIsRefusedWhereItIsWritten() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        // Int64.max ms less a second, in pairs the parser takes (at most 9 digits each).
        var rest = Int64.max - 1000
        var huge = ""
        for (suffix, unit) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] {
            while rest >= unit {
                let count = min(rest / unit, 999_999_999)
                huge += "\(count)\(suffix)"
                rest -= count * unit
            }
        }
        let path = try scratch.config("""
            [init]
            stop-timeout = \(huge)

            [service web]
            run = sleep 4934

            """)
        let check = try Tool.ftinit(["check", "--config", path])
        #expect(check.code == 78, "\(check)")
        #expect(check.stderr.contains("\(path):2: duration '\(huge)' for stop-timeout is longer than 36500d"), "\(check)")
        let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
        defer { ftinit.stop() }
        #expect(try ftinit.exitCode(timeout: .seconds(10)) == 78, "\(ftinit.report)")
    }
}
