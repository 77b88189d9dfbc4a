import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The control socket and `ftinit probe` (docs/ftinit.md, "Control socket, ftinit probe,
/// ftinit status"): exit 0 while everything is fine or still starting, 1 otherwise or when
/// ftinit cannot answer; never waits past `--timeout`; no client can stall or leak into PID 1.
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(Prerequisites.baseTools), what: "probe tests"))
    struct Probe {
        /// `web` is healthy after its first check (then checked only every 10 min, so no check
        /// process comes and goes while fds are counted); `plain` has no check.
        static func healthyConfig(_ scratch: Scratch) throws -> String {
            try scratch.config("""
                [service web]
                run = sleep 5001
                check = exec sh -c 'exit 0'
                check-interval = 10m

                [service plain]
                run = sleep 5002

                """)
        }

        /// Launches `healthyConfig` and waits until web is healthy.
        static func launchHealthy(_ scratch: Scratch, sourceLocation: SourceLocation = #_sourceLocation) throws -> FTInit {
            let ftinit = try FTInit.launch(["run", "--config", try healthyConfig(scratch)], directory: scratch.path,
                                           sourceLocation: sourceLocation)
            _ = try ftinit.requireEvent("started", subject: "plain", sourceLocation: sourceLocation)
            _ = try ftinit.requireEvent("healthy", subject: "web", timeout: .seconds(10), sourceLocation: sourceLocation)
            return ftinit
        }

        static func oneLine(_ text: String) -> String? {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            return lines.count == 2 && lines[1].isEmpty ? String(lines[0]) : nil
        }

        @Test func probeIsOkWhenEveryServiceIsHealthy() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let ftinit = try Self.launchHealthy(scratch)
            defer { ftinit.stop() }

            // The socket from $FTINIT_SOCKET (as in the image), then with --socket.
            let fromEnvironment = try Tool.ftinit(["probe"], environment: ["FTINIT_SOCKET": ftinit.socketPath])
            let fromOption = try Tool.probe(ftinit.socketPath)

            for probe in [fromEnvironment, fromOption] {
                #expect(probe.code == 0, "\(probe)\(ftinit.report)")
                let line = Self.oneLine(probe.stdout)
                #expect(line?.hasPrefix("ftinit probe: ok: ") == true, "expected one line `ftinit probe: ok: SUMMARY`\n\(probe)")
                #expect(probe.stderr.isEmpty, "\(probe)")
            }
            #expect(ftinit.process.ended == nil)
        }

        @Test func probeIsOkWhileAServiceIsStartingWithinItsStartPeriod() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service web]
                run = sleep 5003
                check = exec sh -c 'exit 1'
                start-period = 60s

                [service dependent]
                run = sleep 5004
                after = web

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            _ = try ftinit.requireEvent("started", subject: "web")

            let early = try Tool.probe(ftinit.socketPath)
            // After a few failed attempts (they do not count inside the start period).
            Poll.sleep(.milliseconds(2200))
            let later = try Tool.probe(ftinit.socketPath)

            for probe in [early, later] {
                #expect(probe.code == 0, "a service inside its start period is fine\n\(probe)\(ftinit.report)")
                #expect(probe.stdout.hasPrefix("ftinit probe: ok: ") && probe.stdout.contains("starting"),
                        "the summary should count the starting service\n\(probe)")
            }
            #expect(ftinit.events("started", subject: "dependent").isEmpty, "dependent started before web was healthy\(ftinit.report)")
            try ftinit.send(SIGTERM)
            #expect(try ftinit.exitCode(timeout: .seconds(10)) == 0, "\(ftinit.report)")
        }

        /// Issue 18 (3): `probe --ready` says "not ready" while a task runs, a service waits for
        /// it, or a service's check has not passed yet, naming each; liveness (`probe`) is fine
        /// all along. Once everything is done, running and healthy, both pass.
        @Test func readyOnlyOnceEveryTaskIsDoneAndEveryCheckHasPassed() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [task setup]
                run = sh -c 'while [ ! -e \(scratch.file("go")) ]; do sleep 0.05; done'

                [service web]
                run = sleep 5005
                after = setup
                check = exec test -e \(scratch.file("up"))
                check-start-interval = 100ms
                start-period = 60s

                [service plain]
                run = sleep 5006

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            _ = try ftinit.requireEvent("started", subject: "setup")

            let live = try Tool.probe(ftinit.socketPath)
            let setupRuns = try Tool.probe(ftinit.socketPath, ["--ready"])
            #expect(live.code == 0, "\(live)")
            #expect(setupRuns.code == 1 && setupRuns.stderr == "ftinit probe: not ready: setup running, web waiting\n", "\(setupRuns)")

            _ = try scratch.write("go", "")
            _ = try ftinit.requireEvent("started", subject: "web")
            let checkPending = try Tool.probe(ftinit.socketPath, ["--ready"])
            #expect(checkPending.code == 1 && checkPending.stderr == "ftinit probe: not ready: web starting\n", "\(checkPending)")

            _ = try scratch.write("up", "")
            _ = try ftinit.requireEvent("healthy", subject: "web", timeout: .seconds(5))
            let ready = try Tool.probe(ftinit.socketPath, ["--ready"])
            #expect(ready.code == 0 && ready.stdout.hasPrefix("ftinit probe: ready: "), "\(ready)")
            try ftinit.send(SIGTERM)
            #expect(try ftinit.exitCode(timeout: .seconds(10)) == 0, "\(ftinit.report)")
        }

        /// `web` turns unhealthy after its 1 s start period; `stubborn` ignores SIGTERM, so the
        /// ordered stop lasts its 5 s stop-timeout: a window to ask ftinit. Then ftinit is gone.
        @Test func probeFailsOnceAServiceIsUnhealthyAndWhenFTInitIsGone() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service stubborn]
                run = sh -c 'trap "" TERM; while :; do sleep 0.1; done'
                stop-timeout = 5s

                [service web]
                run = sleep 5005
                after = stubborn
                check = exec sh -c 'echo not yet; exit 1'
                start-period = 1s

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            _ = try ftinit.requireEvent("unhealthy", subject: "web", timeout: .seconds(10))
            try #require(ftinit.process.ended == nil, "ftinit exited before the probe\(ftinit.report)")

            let probe = try Tool.probe(ftinit.socketPath)
            let report = Network.exchange(ftinit.socketPath, Array("status\n".utf8))
            let stillRunning = ftinit.process.ended == nil

            #expect(stillRunning, "ftinit did not wait for stubborn's stop-timeout\(ftinit.report)")
            #expect(probe.code == 1, "\(probe)\(ftinit.report)")
            let line = Self.oneLine(probe.stdout + probe.stderr)
            #expect(line?.hasPrefix("ftinit probe: fail: ") == true, "expected one line `ftinit probe: fail: REASON`\n\(probe)")
            #expect(line?.contains("web") == true, "the reason should name what is wrong (the unhealthy service web)\n\(probe)")
            #expect(report?.response.hasPrefix("ftinit verdict=fail ") == true, "\(String(describing: report))")

            #expect(try ftinit.exitCode(timeout: .seconds(15)) == 1, "\(ftinit.report)")
            let gone = try Tool.probe(ftinit.socketPath)
            #expect(gone.code == 1 && gone.elapsed < .seconds(1), "probe after ftinit exited\n\(gone)")
        }

        @Test func probeFailsFastWithoutASocketOrWithNobodyListening() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }

            let missing = try Tool.probe(scratch.file("missing.sock"))
            #expect(missing.code == 1 && missing.elapsed < .milliseconds(900), "\(missing)")
            let line = Self.oneLine(missing.stdout + missing.stderr)
            #expect(line?.hasPrefix("ftinit probe: fail: ") == true && line?.contains("no socket") == true,
                    "expected one line `ftinit probe: fail: ... no socket ...`\n\(missing)")

            let stale = scratch.file("stale.sock")
            try Network.makeStaleUnixSocket(stale)
            let refused = try Tool.probe(stale)
            #expect(refused.code == 1 && refused.elapsed < .milliseconds(900), "\(refused)")
            #expect(Self.oneLine(refused.stdout + refused.stderr)?.hasPrefix("ftinit probe: fail: ") == true, "\(refused)")

            // A bad option is a usage error (64), not a failed probe (1).
            let usage = try Tool.ftinit(["probe", "--timeout", "soon"])
            #expect(usage.code == 64, "\(usage)")
        }

        @Test func staleSocketFileIsReplacedAndTheSocketIsPrivate() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            try Network.makeStaleUnixSocket(scratch.file("ftinit.sock"))
            let ftinit = try Self.launchHealthy(scratch)
            defer { ftinit.stop() }

            var info = stat()
            #expect(lstat(ftinit.socketPath, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK, "no socket at \(ftinit.socketPath)")
            #expect(info.st_mode & 0o777 == 0o600, "socket mode \(String(info.st_mode & 0o777, radix: 8)), expected 600")
            let probe = try Tool.probe(ftinit.socketPath)
            #expect(probe.code == 0, "\(probe)\(ftinit.report)")

            try ftinit.send(SIGTERM)
            #expect(try ftinit.exitCode(timeout: .seconds(10)) == 0, "\(ftinit.report)")
        }

        @Test func otherFileAtTheSocketPathIsASetupErrorAndIsLeftAlone() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            try scratch.write("ftinit.sock", "not a socket\n")
            let ftinit = try FTInit.launch(["run", "--config", try Self.healthyConfig(scratch)], directory: scratch.path)
            defer { ftinit.stop() }

            let code = try ftinit.exitCode(timeout: .seconds(10))

            #expect(code == 71, "expected EX_OSERR (71)\(ftinit.report)")
            #expect(ftinit.events("started").isEmpty, "\(ftinit.report)")
            #expect(scratch.read("ftinit.sock") == "not a socket\n", "the file at the socket path was replaced")
        }

        /// PID 1 frozen with SIGSTOP (from the host): the kernel still queues the connection,
        /// nobody answers; the probe gives up at its timeout (not before, not 100 ms after).
        /// After SIGCONT ftinit carries on.
        @Test func probeOfAStoppedSupervisorFailsWithinItsTimeout() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let ftinit = try Self.launchHealthy(scratch)
            defer { ftinit.stop() }
            let pid = try ftinit.pid()
            #expect(try Tool.probe(ftinit.socketPath).code == 0)

            try ftinit.send(SIGSTOP)
            defer { kill(pid, SIGCONT) }
            try #require(Poll.until(timeout: .seconds(2)) { ProcFS.stat(pid)?.state == "T" }, "ftinit did not stop")

            let short = try Tool.probe(ftinit.socketPath, ["--timeout", "500ms"])
            let standard = try Tool.probe(ftinit.socketPath)

            for (probe, timeout) in [(short, 0.5), (standard, 1.0)] {
                let elapsed = probe.elapsed.seconds
                #expect(probe.code == 1, "\(probe)")
                #expect(elapsed >= timeout - 0.05 && elapsed < timeout + 0.1,
                        "probe with a \(timeout) s timeout returned after \(elapsed) s\n\(probe)")
                #expect(Self.oneLine(probe.stdout + probe.stderr)?.hasPrefix("ftinit probe: fail: ") == true, "\(probe)")
            }

            kill(pid, SIGCONT)
            try #require(Poll.until(timeout: .seconds(2)) { ProcFS.stat(pid)?.state != "T" })
            let resumed = try Tool.probe(ftinit.socketPath)
            #expect(resumed.code == 0, "after SIGCONT\n\(resumed)\(ftinit.report)")
            // The stale requests were answered into closed connections: SIGPIPE, ignored silently;
            // being resumed (SIGCONT) is not worth a log line either.
            #expect(!ftinit.events("ignored").contains { ["PIPE", "CONT"].contains($0.signalName() ?? "") }, "\(ftinit.report)")
            try ftinit.send(SIGTERM)
            #expect(try ftinit.exitCode(timeout: .seconds(10)) == 0, "\(ftinit.report)")
        }

        @Test func thousandProbesLeaveNoZombieAndNoFileDescriptorBehind() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let ftinit = try Self.launchHealthy(scratch)
            defer { ftinit.stop() }
            let pid = try ftinit.pid()
            // Let the first check's leftovers settle.
            Poll.sleep(.milliseconds(300))
            let baselineFds = try #require(ProcFS.fdCount(pid))
            let baselineProcesses = ftinit.processes().count

            var failures: [ToolResult] = []
            var slowest = Duration.zero
            for _ in 0..<1000 {
                let probe = try Tool.probe(ftinit.socketPath)
                if probe.code != 0 { failures.append(probe) }
                slowest = max(slowest, probe.elapsed)
                if failures.count > 5 { break }
            }

            #expect(failures.isEmpty, "\(failures.count) probes failed, first:\n\(failures.first.map(\.description) ?? "")")
            #expect(slowest < .seconds(1), "slowest probe took \(slowest)")
            let settled = Poll.until(timeout: .seconds(2)) { ProcFS.fdCount(pid) == baselineFds }
            #expect(settled, "ftinit had \(baselineFds) fds before, \(ProcFS.fdCount(pid) ?? -1) after:\n\(ProcFS.fdTargets(pid).joined(separator: "\n"))")
            #expect(ftinit.zombies().isEmpty, "zombies: \(ftinit.zombies())")
            #expect(ftinit.processes().count == baselineProcesses, "processes: \(ftinit.processes())")
            #expect(ftinit.process.ended == nil, "\(ftinit.report)")
        }

        /// 50 clients connect and send nothing: ftinit serves at most 16 and closes the rest at
        /// once; a probe meanwhile still returns within its timeout; the idle 16 are dropped
        /// after 1 s, then probes answer ok and the fd count is back to the baseline.
        @Test func floodOfIdleClientsIsBoundedAndDroppedAfterOneSecond() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let ftinit = try Self.launchHealthy(scratch)
            defer { ftinit.stop() }
            let pid = try ftinit.pid()
            Poll.sleep(.milliseconds(300))
            let baselineFds = try #require(ProcFS.fdCount(pid))

            var clients: [Int32] = []
            defer { clients.forEach { close($0) } }
            for _ in 0..<50 {
                let fd = try #require(Network.connectUnix(ftinit.socketPath), "connect failed: errno \(errno)")
                clients.append(fd)
            }
            let floodedAt = ContinuousClock.now
            // ftinit accepts them all; let it, while watching its fd count.
            var peakFds = 0
            Poll.until(timeout: .milliseconds(300)) {
                peakFds = max(peakFds, ProcFS.fdCount(pid) ?? 0)
                return false
            }
            #expect(peakFds <= baselineFds + 16, "ftinit held \(peakFds - baselineFds) client fds, the limit is 16")
            let closedAtOnce = clients.filter { Network.readUntilClosed($0, timeout: .milliseconds(1)).closed }.count
            #expect(closedAtOnce >= 34, "only \(closedAtOnce) of 50 idle clients were closed at once (at most 16 are served)")

            let during = try Tool.probe(ftinit.socketPath)
            #expect(during.elapsed < .milliseconds(1100), "a probe during the flood took \(during.elapsed)\n\(during)")

            // The 16 served ones have 1 s to send a request; they send nothing.
            let dropped = Poll.until(timeout: .seconds(4)) { ProcFS.fdCount(pid) == baselineFds }
            #expect(dropped, "fd count \(ProcFS.fdCount(pid) ?? -1), baseline \(baselineFds), \((ContinuousClock.now - floodedAt)) after the flood")
            let droppedAfter = (ContinuousClock.now - floodedAt).seconds
            #expect(droppedAfter >= 0.9, "idle clients were dropped after \(droppedAfter) s, they have 1 s")
            let allClosed = clients.allSatisfy { Network.readUntilClosed($0, timeout: .milliseconds(100)).closed }
            #expect(allClosed, "some idle client is still connected")

            let after = try Tool.probe(ftinit.socketPath)
            #expect(after.code == 0 && after.elapsed < .milliseconds(1100), "\(after)\(ftinit.report)")
            #expect(ftinit.process.ended == nil, "\(ftinit.report)")
        }

        /// The wire protocol: `status\n` gets the report then EOF; a request over 256 bytes is
        /// dropped without an answer; a silent client is dropped after 1 s.
        @Test func controlSocketAnswersStatusAndDropsOversizedOrSilentClients() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let ftinit = try Self.launchHealthy(scratch)
            defer { ftinit.stop() }
            let web = try #require(ftinit.events("started", subject: "web").first?.pid)

            let answer = try #require(Network.exchange(ftinit.socketPath, Array("status\n".utf8)))
            #expect(answer.closed, "the connection was not closed after the report")
            let lines = answer.response.split(separator: "\n").map(String.init)
            let header = lines.first.flatMap { LogEvent.parse("ftinit: info \($0)", time: .now) }
            #expect(header?.event == "ftinit" && header?["verdict"] == "ok" && header?["summary"]?.isEmpty == false,
                    "expected `ftinit verdict=ok summary=\"...\"`\n\(answer.response)")
            let webLine = lines.dropFirst().compactMap { LogEvent.parse("ftinit: info \($0)", time: .now) }
                .first { $0.event == "service" && $0["name"] == "web" }
            #expect(webLine?["state"] == "running" && webLine?["pid"] == "\(web)" && webLine?["health"] == "healthy"
                    && webLine?["check"] == "exec sh -c 'exit 0'" && webLine?["result"] == "ok" && webLine?["latency"] != nil,
                    "web's line\n\(answer.response)")

            let oversized = try #require(Network.exchange(ftinit.socketPath, Array(repeating: UInt8(ascii: "x"), count: 300)))
            #expect(oversized.closed && oversized.response.isEmpty, "a 300-byte request got \(oversized)")

            let silent = try #require(Network.connectUnix(ftinit.socketPath))
            defer { close(silent) }
            let connectedAt = ContinuousClock.now
            let result = Network.readUntilClosed(silent, timeout: .seconds(3))
            let after = (ContinuousClock.now - connectedAt).seconds
            #expect(result.closed && result.response.isEmpty && after >= 0.9 && after <= 1.6,
                    "a silent client was dropped after \(after) s (closed: \(result.closed)), expected 1 s")
            #expect(ftinit.process.ended == nil, "\(ftinit.report)")
        }
    }
}
