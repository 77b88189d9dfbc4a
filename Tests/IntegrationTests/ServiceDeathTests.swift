import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// When a service dies or a task fails, ftinit stops the rest in reverse start order and exits
/// with the code of that first death (docs/ftinit.md, "Exit codes", "Runtime behaviour" 4).
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(Prerequisites.baseTools), what: "service death tests"))
    struct ServiceDeath {
        @Test func serviceKilledStopsOthersInReverseStartOrderAndExits137WithinOneSecond() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            // Start order a, b, c (by `after`); config order c, a, b.
            let path = try scratch.config("""
                [service c]
                run = sleep 4003
                after = b

                [service a]
                run = sleep 4001

                [service b]
                run = sleep 4002
                after = a

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            let started = try ftinit.requireStarted(["a", "b", "c"])
            #expect(started.map(\.subject) == ["a", "b", "c"], "start order\(ftinit.report)")
            let victim = try ftinit.hostPid(of: try #require(started.first { $0.subject == "b" }))
            #expect(ProcFS.cmdline(victim) == ["sleep", "4002"], "pid of b in the started line is not b's")

            let killedAt = ContinuousClock.now
            kill(victim, SIGKILL)
            let code = try ftinit.exitCode(timeout: .seconds(5))

            #expect(code == 137, "\(ftinit.report)")
            let elapsed = try #require(ftinit.exitTime) - killedAt
            #expect(elapsed < .seconds(1), "ftinit took \(elapsed) from the SIGKILL to its exit\(ftinit.report)")
            let exited = ftinit.events("exited", subject: "b").first
            #expect(exited?.signalName() == "KILL", "expected `exited service=b pid=N signal=KILL`, got \(exited.map(\.line) ?? "nothing")")
            #expect(ftinit.events("stopping").map(\.subject) == ["c", "a"], "stop order\(ftinit.report)")
            for name in ["a", "c"] {
                let stopped = ftinit.events("exited", subject: name).first
                #expect(stopped?.signalName() == "TERM", "\(name) was not stopped by SIGTERM\(ftinit.report)")
            }
            #expect(ftinit.stderr.lines.last?.text == "ftinit: info exiting code=137", "last line\(ftinit.report)")
        }

        /// A service exiting with N makes ftinit exit N, except 0: a service must never end,
        /// so ftinit exits 1 rather than report success.
        @Test(arguments: [(2, 2), (3, 3), (255, 255), (0, 1)] as [(Int32, Int32)])
        func serviceExitingWithStatusNStopsOthersAndExitsNOr1For0(status: Int32, expected: Int32) throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service steady]
                run = sleep 4004

                [service quitter]
                run = sh -c 'sleep 0.3; exit \(status)'

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }

            #expect(try ftinit.exitCode(timeout: .seconds(5)) == expected, "\(ftinit.report)")
            #expect(ftinit.events("exited", subject: "quitter").first?["code"] == "\(status)", "\(ftinit.report)")
            #expect(ftinit.events("stopping").map(\.subject) == ["steady"], "\(ftinit.report)")
            #expect(ftinit.stderr.lines.last?.text == "ftinit: info exiting code=\(expected)", "last line\(ftinit.report)")
        }

        @Test func failingTaskStopsEverythingAndNothingAfterItStarts() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service bystander]
                run = sleep 4006

                [task broken]
                run = sh -c 'sleep 0.3; exit 4'

                [service dependent]
                run = sleep 4007
                after = broken

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }

            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 4, "\(ftinit.report)")
            #expect(ftinit.events("started", subject: "dependent").isEmpty, "a service after a failed task started\(ftinit.report)")
            #expect(ftinit.events("stopping").map(\.subject) == ["bystander"], "\(ftinit.report)")
        }

        @Test func taskStillRunningAfterItsTimeoutIsKilledAndFails() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service bystander]
                run = sleep 4008

                [task slow]
                run = sleep 4009
                timeout = 500ms

                [service dependent]
                run = sleep 4010
                after = slow

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            // The task has nothing to wait for: it starts right after the config is loaded.
            let taskStarted = try ftinit.requireEvent("starting")

            let code = try ftinit.exitCode(timeout: .seconds(5))

            #expect(code != 0, "\(ftinit.report)")
            #expect(ftinit.events("started", subject: "dependent").isEmpty, "a service after a failed task started\(ftinit.report)")
            let taskEnded = try #require(ftinit.events("exited", subject: "slow").first, "no exited line for the task\(ftinit.report)")
            let lifetime = (taskEnded.time - taskStarted.time).seconds
            #expect(abs(lifetime - 0.5) <= 0.2, "the task ran \(lifetime) s, its timeout is 0.5 s\(ftinit.report)")
        }
    }
}
