import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// SIGTERM/SIGINT to ftinit: ordered stop along the `after` graph, `stop-signal` to each
/// service's process group, SIGKILL after `stop-timeout` (capped by `[init] stop-timeout`), exit 0
/// when everything stopped in time, 1 when SIGKILL was needed (docs/ftinit.md, "Runtime
/// behaviour" 4 and 5).
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(Prerequisites.baseTools), what: "stop tests"))
    struct Stop {
        /// Three services started a, b, c (by `after`); their config order is b, c, a.
        static let chain = """
            [service b]
            run = sleep 4102
            after = a

            [service c]
            run = sleep 4103
            after = b

            [service a]
            run = sleep 4101

            """

        @Test(arguments: [SIGTERM, SIGINT])
        func stopRequestStopsEverythingInReverseStartOrderAndExits0(signal: Int32) throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config(Self.chain)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            _ = try ftinit.requireStarted(["a", "b", "c"])

            try ftinit.send(signal)

            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 0, "\(ftinit.report)")
            let stopping = ftinit.events("stopping")
            #expect(stopping.map(\.subject) == ["c", "b", "a"], "stop order\(ftinit.report)")
            #expect(stopping.allSatisfy { $0.signalName() == "TERM" }, "default stop-signal is TERM\(ftinit.report)")
            #expect(stopping.allSatisfy { $0["timeout"].flatMap(DurationText.parse) == .seconds(10) },
                    "default stop-timeout is 10s\(ftinit.report)")
            for name in ["a", "b", "c"] {
                #expect(ftinit.events("exited", subject: name).first?.signalName() == "TERM", "\(name)\(ftinit.report)")
            }
            #expect(ftinit.events("killed").isEmpty, "\(ftinit.report)")
            #expect(ftinit.stderr.lines.last?.text == "ftinit: info exiting code=0", "last line\(ftinit.report)")
            // Along the graph: b only once c has exited, a only once b has.
            for (dependent, dependency) in [("c", "b"), ("b", "a")] {
                let exited = ftinit.events("exited", subject: dependent).first?.time
                let stopped = ftinit.events("stopping", subject: dependency).first?.time
                #expect(exited != nil && stopped != nil && exited! <= stopped!,
                        "\(dependency) was stopped before \(dependent) had exited\(ftinit.report)")
            }
        }

        /// Issue 18 (2): services with no `after` between them stop together, so the stop takes
        /// the slowest one's time, not the sum; a service that others come after waits for the
        /// slowest of them.
        @Test func independentServicesStopTogetherAndADependencyWaitsForItsSlowestDependent() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            // slow1 and slow2 take 1 s each to stop; quick exits at once; all three come after base.
            func stopsIn(_ seconds: String, _ name: String) -> String {
                "sh -c 'trap \"sleep \(seconds); exit 0\" TERM; echo ok > \(scratch.file(name)); while :; do sleep 0.05; done'"
            }
            let path = try scratch.config("""
                [service base]
                run = \(stopsIn("0", "base"))

                [service slow1]
                run = \(stopsIn("1", "slow1"))
                after = base

                [service slow2]
                run = \(stopsIn("1", "slow2"))
                after = base

                [service quick]
                run = \(stopsIn("0", "quick"))
                after = base

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            for name in ["base", "slow1", "slow2", "quick"] { try scratch.waitFor(name, report: ftinit.report) }

            let termSent = ContinuousClock.now
            try ftinit.send(SIGTERM)
            let code = try ftinit.exitCode(timeout: .seconds(5))

            #expect(code == 0, "\(ftinit.report)")
            let total = (try #require(ftinit.exitTime) - termSent).seconds
            print("Stop: three independent services (two taking 1 s) and their dependency stopped in \(total) s")
            #expect(total < 1.7, "the stop took \(total) s: the two 1 s stops did not overlap\(ftinit.report)")
            let stopping = ftinit.events("stopping")
            #expect(stopping.map(\.subject) == ["quick", "slow2", "slow1", "base"], "\(ftinit.report)")
            let firstExit = try #require(ftinit.events("exited").first, "\(ftinit.report)")
            #expect(stopping.prefix(3).allSatisfy { $0.time <= firstExit.time }, "the three were not signalled together\(ftinit.report)")
            let lastDependent = ["slow1", "slow2", "quick"].compactMap { ftinit.events("exited", subject: $0).first?.time }.max()
            let baseStopping = try #require(ftinit.events("stopping", subject: "base").first, "\(ftinit.report)")
            #expect(lastDependent.map { $0 <= baseStopping.time } == true, "base was stopped before its slowest dependent exited\(ftinit.report)")
            #expect(ftinit.events("killed").isEmpty, "\(ftinit.report)")
        }

        /// Issue 18 (2): `[init] stop-timeout` caps unrelated services stopped together: both are
        /// killed when the budget ends, not each after its own longer stop-timeout.
        @Test func totalStopBudgetCapsServicesStoppingTogether() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [init]
                stop-timeout = 1s

                [service one]
                run = sh -c 'trap "" TERM; echo ok > \(scratch.file("one")); exec sleep 4111'
                stop-timeout = 10s

                [service two]
                run = sh -c 'trap "" TERM; echo ok > \(scratch.file("two")); exec sleep 4112'
                stop-timeout = 10s

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            for name in ["one", "two"] { try scratch.waitFor(name, report: ftinit.report) }

            let termSent = ContinuousClock.now
            try ftinit.send(SIGTERM)
            let code = try ftinit.exitCode(timeout: .seconds(5))

            #expect(code == 1, "a stop that needed SIGKILL exits 1\(ftinit.report)")
            for name in ["one", "two"] {
                let timeout = ftinit.events("stopping", subject: name).first?["timeout"].flatMap(DurationText.parse)
                #expect(timeout.map { $0 <= .seconds(1) && $0 >= .milliseconds(900) } == true,
                        "\(name)'s stop-timeout \(String(describing: timeout)) is not cut to the 1 s budget\(ftinit.report)")
                #expect(ftinit.events("exited", subject: name).first?.signalName() == "KILL", "\(ftinit.report)")
            }
            let total = (try #require(ftinit.exitTime) - termSent).seconds
            #expect(abs(total - 1.0) <= 0.25, "the whole stop took \(total) s, the budget is 1 s\(ftinit.report)")
        }

        @Test func serviceIgnoringItsStopSignalIsKilledAfterItsStopTimeout() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            // `trap "" TERM` makes TERM ignored, and an ignored signal stays ignored across exec.
            let path = try scratch.config("""
                [service stubborn]
                run = sh -c 'trap "" TERM; echo ok > \(scratch.file("ready")); exec sleep 4104'
                stop-timeout = 1s

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            try scratch.waitFor("ready", report: ftinit.report)

            let termSent = ContinuousClock.now
            try ftinit.send(SIGTERM)
            let code = try ftinit.exitCode(timeout: .seconds(5))

            #expect(code == 1, "a requested stop that needed SIGKILL exits 1\(ftinit.report)")
            let stopping = try #require(ftinit.events("stopping", subject: "stubborn").first, "no stopping line\(ftinit.report)")
            let killed = try #require(ftinit.events("killed", subject: "stubborn").first, "no killed line\(ftinit.report)")
            #expect(stopping["timeout"].flatMap(DurationText.parse) == .seconds(1), "`\(stopping)`")
            #expect(killed.level == "warn", "`\(killed)`")
            let waited = (killed.time - stopping.time).seconds
            #expect(abs(waited - 1.0) <= 0.2, "SIGKILL came \(waited) s after the stop signal; stop-timeout is 1 s\(ftinit.report)")
            let total = (try #require(ftinit.exitTime) - termSent).seconds
            #expect(abs(total - 1.0) <= 0.2, "ftinit exited \(total) s after SIGTERM; expected about 1 s\(ftinit.report)")
            #expect(ftinit.events("exited", subject: "stubborn").first?.signalName() == "KILL", "\(ftinit.report)")
        }

        /// Issue 18 (1): a stopped service (SIGSTOP, a debugger, a frozen cgroup) acts on its
        /// stop signal only once continued. ftinit sends SIGCONT right after it, so the stop
        /// takes the service's own handler's time, not its stop-timeout and then SIGKILL.
        @Test func aStoppedServiceIsContinuedAndEndsByItsOwnHandler() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service frozen]
                run = sh -c 'trap "echo handled; exit 0" TERM; echo ok > \(scratch.file("ready")); while :; do sleep 0.05; done'
                stop-timeout = 10s

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            let started = try ftinit.requireEvent("started", subject: "frozen")
            try scratch.waitFor("ready", report: ftinit.report)
            let frozen = try ftinit.hostPid(of: started)
            try #require(kill(frozen, SIGSTOP) == 0)
            defer { kill(frozen, SIGCONT) }
            let stoppedState = Poll.until(timeout: .seconds(2)) { ProcFS.stat(frozen)?.state == "T" }
            try #require(stoppedState, "the service never showed state T\(ftinit.report)")

            let termSent = ContinuousClock.now
            try ftinit.send(SIGTERM)
            let code = try ftinit.exitCode(timeout: .seconds(5))

            let total = (try #require(ftinit.exitTime) - termSent).seconds
            #expect(total < 1.0, "ftinit exited \(total) s after SIGTERM; a continued service stops at once\(ftinit.report)")
            #expect(code == 0, "\(ftinit.report)")
            #expect(ftinit.events("exited", subject: "frozen").first?["code"] == "0", "not by its TERM handler\(ftinit.report)")
            #expect(ftinit.events("killed").isEmpty, "\(ftinit.report)")
            #expect(ftinit.stdout.text.contains("frozen | handled"), "its TERM handler did not run\(ftinit.report)")
        }

        @Test func totalStopBudgetCapsEachServiceStopTimeout() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [init]
                stop-timeout = 1500ms

                [service first]
                run = sh -c 'trap "" TERM; echo ok > \(scratch.file("first.ready")); exec sleep 4105'
                stop-timeout = 1s

                [service second]
                run = sh -c 'trap "" TERM; echo ok > \(scratch.file("second.ready")); exec sleep 4106'
                stop-timeout = 1s
                after = first

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            try scratch.waitFor("first.ready", report: ftinit.report)
            try scratch.waitFor("second.ready", report: ftinit.report)

            let termSent = ContinuousClock.now
            try ftinit.send(SIGTERM)
            let code = try ftinit.exitCode(timeout: .seconds(5))

            #expect(code == 1, "\(ftinit.report)")
            #expect(ftinit.events("stopping").map(\.subject) == ["second", "first"], "\(ftinit.report)")
            // second gets its full 1 s, first only the 0.5 s left of the 1.5 s budget.
            for (name, expected) in [("second", 1.0), ("first", 0.5)] {
                if let stopping = ftinit.events("stopping", subject: name).first,
                   let killed = ftinit.events("killed", subject: name).first {
                    let waited = (killed.time - stopping.time).seconds
                    #expect(abs(waited - expected) <= 0.2, "\(name) was killed \(waited) s after its stop signal, expected \(expected) s\(ftinit.report)")
                } else {
                    Issue.record("no stopping/killed lines for \(name)\(ftinit.report)")
                }
            }
            let total = (try #require(ftinit.exitTime) - termSent).seconds
            #expect(abs(total - 1.5) <= 0.25, "the whole stop took \(total) s, the budget is 1.5 s\(ftinit.report)")
        }

        @Test func configuredStopSignalIsSent() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service graceful]
                run = sh -c 'trap "" TERM; trap "echo QUIT > \(scratch.file("got")); exit 0" QUIT; echo ok > \(scratch.file("ready")); while :; do sleep 0.05; done'
                stop-signal = QUIT
                stop-timeout = 5s

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            try scratch.waitFor("ready", report: ftinit.report)

            try ftinit.send(SIGTERM)

            #expect(try ftinit.exitCode(timeout: .seconds(3)) == 0, "\(ftinit.report)")
            #expect(ftinit.events("stopping", subject: "graceful").first?.signalName() == "QUIT", "\(ftinit.report)")
            #expect(scratch.read("got") == "QUIT\n", "the service did not receive SIGQUIT\(ftinit.report)")
            #expect(ftinit.events("killed").isEmpty, "\(ftinit.report)")
        }

        /// The stop signal goes to the service's process group: a background child that keeps the
        /// default TERM disposition dies at once, while the main process, which ignores TERM,
        /// lives until its stop timeout.
        @Test func stopSignalGoesToTheWholeProcessGroup() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service family]
                run = sh -c 'sleep 4107 & trap "" TERM; echo ok > \(scratch.file("ready")); exec sleep 4108'
                stop-timeout = 2s

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            try scratch.waitFor("ready", report: ftinit.report)
            var found: ProcStat?
            Poll.until(timeout: .seconds(2)) {
                found = ftinit.findProcess(argv: ["sleep", "4107"])
                return found != nil
            }
            let member = try #require(found, "background child not found\(ftinit.report)")

            try ftinit.send(SIGTERM)
            _ = try ftinit.requireEvent("stopping", subject: "family")
            let memberDied = Poll.until(timeout: .seconds(1)) { ProcFS.stat(member.pid).map(\.isZombie) ?? true }

            #expect(memberDied, "the group member did not get the stop signal\(ftinit.report)")
            #expect(ftinit.process.ended == nil && ftinit.events("killed").isEmpty,
                    "the main process should still be waiting for its 2 s stop timeout\(ftinit.report)")
            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 1, "\(ftinit.report)")
        }
    }
}
