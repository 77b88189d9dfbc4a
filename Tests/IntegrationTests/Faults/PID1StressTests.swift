import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// PID 1 under load it does not control: a fork bomb of short-lived orphans and a storm of
/// signals (docs/ftinit.md, "Runtime behaviour" 5 and 6). ftinit must stay responsive
/// (probes answer within their timeout), reap everything, and still stop cleanly.
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(Prerequisites.baseTools + ["python3"]), what: "PID 1 stress tests"))
    struct PID1Stress {
        static let bombSize = 20_000

        /// Python: `count` short-lived orphans, in batches of 100: a child forks 100
        /// grandchildren that exit at once, and exits; the grandchildren (zombies or not yet)
        /// are re-parented to PID 1, which must reap them. Writes `done` at the end.
        static func forkBomb(count: Int, done: String) -> String {
            """
            import os
            for batch in range(\(count) // 100):
                pid = os.fork()
                if pid == 0:
                    for _ in range(100):
                        if os.fork() == 0:
                            os._exit(0)
                    os._exit(0)
                os.waitpid(pid, 0)
            open("\(done)", "w").write("ok")
            """
        }

        /// 20,000 short-lived orphans: none is left a zombie, ftinit answers every probe
        /// during the bomb in well under its 1 s timeout, and SIGTERM still exits 0.
        @Test func forkBombOfShortLivedOrphansIsReapedAndFTInitStaysResponsive() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let script = try scratch.write("bomb.py", Self.forkBomb(count: Self.bombSize, done: scratch.file("done")))
            let path = try scratch.config("""
                [service bomber]
                run = sh -c 'python3 \(script) && exec sleep 4950'

                [service bystander]
                run = sleep 4951

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            _ = try ftinit.requireStarted(["bomber", "bystander"])
            let started = ContinuousClock.now

            var probes: [ToolResult] = []
            var peakZombies = 0
            while !scratch.exists("done"), ContinuousClock.now - started < .seconds(60), ftinit.process.ended == nil {
                probes.append(try Tool.probe(ftinit.socketPath))
                // Scanning /proc is slow under the bomb: a zombie count every tenth probe.
                if probes.count % 10 == 1 { peakZombies = max(peakZombies, ftinit.zombies().count) }
                Poll.sleep(.milliseconds(50))
            }
            try scratch.waitFor("done", timeout: .seconds(1), report: ftinit.report)
            let bombTime = ContinuousClock.now - started
            let reaped = Poll.until(timeout: .seconds(5)) { ftinit.zombies().isEmpty }
            let slowest = probes.map(\.elapsed).max() ?? .zero
            print("PID1Stress: \(Self.bombSize) orphans in \(bombTime), \(probes.count) probes meanwhile, slowest \(slowest), peak zombies \(peakZombies)")

            #expect(reaped, "zombies left: \(ftinit.zombies())\(ftinit.report)")
            #expect(probes.allSatisfy { $0.code == 0 }, "a probe failed during the bomb: \(probes.first { $0.code != 0 }.map(\.description) ?? "")")
            #expect(slowest < .milliseconds(900), "slowest probe during the bomb took \(slowest)")
            let processes = ftinit.processes().map { ProcFS.cmdline($0.pid) }
            #expect(processes.count == 3, "expected ftinit and two sleeps, found \(processes)")
            #expect(ftinit.events("exited").isEmpty, "\(ftinit.report)")

            try ftinit.send(SIGTERM)
            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 0, "\(ftinit.report)")
        }

        /// The signals of the storm: forwarded ones, ones ftinit logs and ignores, and ones it
        /// handles silently (CONT: resumed; PIPE: a reader went away; CHLD: reaping).
        static let forwarded: [Int32] = [SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH, SIGQUIT]
        static let ignored: [(Int32, String)] = [(SIGURG, "URG"), (SIGALRM, "ALRM"), (SIGTSTP, "TSTP"), (SIGTTIN, "TTIN"),
                                                  (SIGTTOU, "TTOU"), (SIGVTALRM, "VTALRM"), (SIGPROF, "PROF"), (SIGIO, "IO")]
        static let silent: [Int32] = [SIGCONT, SIGPIPE, SIGCHLD]

        /// 10,000 mixed signals at PID 1 from the test process, as fast as it can send them:
        /// ftinit keeps answering probes, forwards what it forwards (each forwarded line names a
        /// forwarded signal and a running service), logs the others as ignored (none of them
        /// stops it, TSTP/TTIN/TTOU included), reaps the service's children as usual, and a
        /// SIGTERM afterwards still stops everything with exit 0.
        @Test func stormOfSignalsLeavesPID1SupervisingAndSIGTERMStillStopsItCleanly() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            // Both services ignore the forwarded signals (an ignored disposition survives exec);
            // `busy` keeps forking so SIGCHLD of real children arrive during the storm.
            let ignore = "trap \"\" HUP USR1 USR2 WINCH QUIT"
            let path = try scratch.config("""
                [service quiet]
                run = sh -c '\(ignore); exec sleep 4960'

                [service busy]
                run = sh -c '\(ignore); echo ok > \(scratch.file("ready")); while :; do sleep 0.01; done'

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            let services = try ftinit.requireStarted(["quiet", "busy"])
            try scratch.waitFor("ready", report: ftinit.report)
            let pid = try ftinit.pid()
            let mix = Self.forwarded + Self.ignored.map(\.0) + Self.silent

            var probes: [ToolResult] = []
            let stormStart = ContinuousClock.now
            for index in 0..<10_000 {
                let signal = mix[index % mix.count]
                try #require(kill(pid, signal) == 0, "kill(\(pid), \(signal)): errno \(errno)\(ftinit.report)")
                if index % 1000 == 999 { probes.append(try Tool.probe(ftinit.socketPath)) }
            }
            let stormTime = ContinuousClock.now - stormStart
            // Let ftinit drain what is pending, then it must be its old self.
            Poll.sleep(.milliseconds(300))
            let after = try Tool.probe(ftinit.socketPath)
            let forwardedLines = ftinit.events("forwarded")
            let ignoredLines = ftinit.events("ignored")
            print("PID1Stress: 10000 signals in \(stormTime); \(forwardedLines.count) forwarded lines, \(ignoredLines.count) ignored lines; slowest probe \(probes.map(\.elapsed).max() ?? .zero)")

            #expect(ftinit.process.ended == nil, "ftinit ended during the storm\(ftinit.report)")
            #expect(ProcFS.stat(pid)?.state != "T", "ftinit was stopped by a job-control signal")
            #expect(probes.allSatisfy { $0.code == 0 && $0.elapsed < .milliseconds(900) },
                    "a probe during the storm failed or was slow: \(probes.first { $0.code != 0 || $0.elapsed >= .milliseconds(900) }.map(\.description) ?? "")")
            #expect(after.code == 0, "\(after)\(ftinit.report)")
            let forwardedNames = Set(Self.forwarded.map { SignalNames.name($0) })
            let servicePids = Set(services.compactMap(\.pid))
            #expect(forwardedLines.allSatisfy { forwardedNames.contains($0.signalName() ?? "") && servicePids.contains($0.pid ?? -1) },
                    "a forwarded line for another signal or pid: \(forwardedLines.first { !forwardedNames.contains($0.signalName() ?? "") || !servicePids.contains($0.pid ?? -1) }.map(\.line) ?? "")")
            for name in forwardedNames {
                for service in ["quiet", "busy"] {
                    #expect(forwardedLines.contains { $0.signalName() == name && $0.subject == service }, "no \(name) forwarded to \(service)")
                }
            }
            let ignoredNames = Set(ignoredLines.compactMap { $0.signalName() })
            #expect(ignoredNames == Set(Self.ignored.map(\.1)), "ignored lines name \(ignoredNames.sorted())")
            #expect(ftinit.events("exited").isEmpty && ftinit.events("stop-requested").isEmpty, "\(ftinit.report)")
            #expect(ftinit.zombies().isEmpty, "zombies: \(ftinit.zombies())")

            try ftinit.send(SIGTERM)
            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 0, "\(ftinit.report)")
            #expect(ftinit.events("stopping").map(\.subject) == ["busy", "quiet"], "\(ftinit.report)")
        }
    }
}

/// Signal names as ftinit logs them (without `SIG`).
enum SignalNames {
    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGHUP: "HUP"
        case SIGUSR1: "USR1"
        case SIGUSR2: "USR2"
        case SIGWINCH: "WINCH"
        case SIGQUIT: "QUIT"
        default: "\(signal)"
        }
    }
}
