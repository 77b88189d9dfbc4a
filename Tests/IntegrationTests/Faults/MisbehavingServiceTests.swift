import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Services that break the rules of a supervised process (docs/ftinit.md, "Runtime
/// behaviour" 3 and 4): one that forks into the background and exits 0 (daemonizes by
/// mistake), one that closes its stdout and stderr. (A service ignoring its stop signal:
/// `Stop.serviceIgnoringItsStopSignalIsKilledAfterItsStopTimeout`; a task hanging past its
/// timeout: `ServiceDeath.taskStillRunningAfterItsTimeoutIsKilledAndFails`.)
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(Prerequisites.baseTools + ["setsid"]), what: "misbehaving service tests"))
    struct MisbehavingService {
        /// How a service daemonizes, and how many processes it leaves running.
        /// * `background`: the shell starts two jobs in the background and exits 0 (they stay in
        ///   the service's session).
        /// * `doubleForkSetsid`: the classic daemon double fork: a subshell starts `setsid sleep`
        ///   and exits, so the sleep is in a session of its own and re-parented to ftinit.
        static let daemonizers: [(name: String, script: String, left: Int)] = [
            ("background", "sleep 4901 & sleep 4902 & exit 0", 2),
            ("doubleForkSetsid", "( setsid sleep 4903 & ); exit 0", 1),
        ]

        /// The service exits 0 leaving processes behind: a `daemonized` error line with the
        /// count, `ftinit probe` during the (deliberately slow) stop of a bystander says why,
        /// the bystander is stopped, ftinit exits 1 and what the daemon left is gone.
        @Test(arguments: Self.daemonizers.map(\.name))
        func serviceThatDaemonizesIsReportedAndStopsEverythingWithExit1(variant: String) throws {
            let daemonizer = try #require(Self.daemonizers.first { $0.name == variant })
            let scratch = try Scratch()
            defer { scratch.remove() }
            // The bystander takes ~1 s to stop (its TERM trap sleeps), long enough to probe.
            let path = try scratch.config("""
                [service bystander]
                run = sh -c 'trap "sleep 1; exit 0" TERM; echo ok > \(scratch.file("ready")); while :; do sleep 0.05; done'
                stop-timeout = 5s

                [service daemon]
                run = sh -c 'while [ ! -e \(scratch.file("ready")) ]; do sleep 0.02; done; \(daemonizer.script)'
                after = bystander

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }

            let daemonized = try ftinit.requireEvent("daemonized", subject: "daemon", timeout: .seconds(10))
            let probe = try Tool.probe(ftinit.socketPath)
            let code = try ftinit.exitCode(timeout: .seconds(10))

            #expect(daemonized.level == "error", "`\(daemonized)`")
            #expect(daemonized["left"] == String(daemonizer.left), "expected left=\(daemonizer.left): `\(daemonized)`\(ftinit.report)")
            #expect(daemonized["hint"].map { !$0.isEmpty } == true, "`\(daemonized)`")
            #expect(ftinit.events("exited", subject: "daemon").first?["code"] == "0", "\(ftinit.report)")
            let said = probe.stdout + probe.stderr
            #expect(probe.code == 1 && said.hasPrefix("ftinit probe: fail: ") && said.contains("daemonized"),
                    "the probe during the stop must fail and say the service daemonized\n\(probe)\(ftinit.report)")
            #expect(probe.elapsed < .milliseconds(1100), "\(probe)")
            #expect(code == 1, "a service that exits 0 makes ftinit exit 1\(ftinit.report)")
            #expect(ftinit.events("stopping").map(\.subject) == ["bystander"], "\(ftinit.report)")
            #expect(ftinit.events("killed").isEmpty, "the bystander stops on TERM\(ftinit.report)")
        }

        /// Same as a plain child (not PID 1): what the daemon left was re-parented to ftinit as
        /// subreaper, and ftinit kills it in its final sweep; nothing outlives ftinit.
        @Test func leftoversOfADaemonizedServiceAreKilledWhenFTInitIsNotPID1() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service daemon]
                run = sh -c '( setsid sleep 4904 & ); exit 0'

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], mode: .plain, directory: scratch.path)
            defer { ftinit.stop() }
            let daemonized = try ftinit.requireEvent("daemonized", subject: "daemon", timeout: .seconds(10))
            #expect(daemonized["left"] == "1", "`\(daemonized)`\(ftinit.report)")
            let code = try ftinit.exitCode(timeout: .seconds(10))
            #expect(code == 1, "\(ftinit.report)")
            let survivors = ProcFS.all().filter { ProcFS.cmdline($0.pid) == ["sleep", "4904"] }
            for survivor in survivors { kill(survivor.pid, SIGKILL) }
            #expect(survivors.isEmpty, "the daemon's sleep outlived ftinit: \(survivors)\(ftinit.report)")
        }

        /// A service that closes stdout and stderr (after a last line without newline) is not
        /// a dead service: its last words are flushed with a newline added, it keeps running,
        /// another service's output still gets through, the probe is ok, and SIGTERM stops
        /// everything with exit 0.
        @Test func serviceClosingItsStdoutAndStderrKeepsRunningAndIsStillSupervised() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service closer]
                run = sh -c 'printf "last words"; printf "err words" >&2; exec >&- 2>&-; echo ok > \(scratch.file("closed")); exec sleep 4905'

                [service talker]
                run = sh -c 'while [ ! -e \(scratch.file("closed")) ]; do sleep 0.02; done; echo after-close; exec sleep 4906'

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            try scratch.waitFor("closed", report: ftinit.report)

            let flushed = Poll.until(timeout: .seconds(3)) {
                ftinit.stdout.lines.contains { $0.text == "closer | last words" }
                    && ftinit.stderr.lines.contains { $0.text == "closer | err words" }
                    && ftinit.stdout.lines.contains { $0.text == "talker | after-close" }
            }
            #expect(flushed, "expected `closer | last words` (stdout), `closer | err words` (stderr), `talker | after-close`\(ftinit.report)")
            let probe = try Tool.probe(ftinit.socketPath)
            #expect(probe.code == 0, "\(probe)\(ftinit.report)")
            #expect(ftinit.events("exited").isEmpty, "\(ftinit.report)")

            try ftinit.send(SIGTERM)
            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 0, "\(ftinit.report)")
            #expect(ftinit.events("exited", subject: "closer").first?.signalName() == "TERM", "\(ftinit.report)")
        }
    }
}
