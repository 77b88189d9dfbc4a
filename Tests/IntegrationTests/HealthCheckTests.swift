import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Health checks against real listeners and commands (docs/ftinit.md, "Health checks"): a
/// service is `starting` until its first passing check, `unhealthy` when not healthy by the end
/// of its start period or after `check-retries` consecutive failures once healthy; an unhealthy
/// service stops everything and ftinit exits 1; `after` waits for healthy.
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(Prerequisites.baseTools + ["python3", "id", "test"]), .user("nobody"), what: "health check tests"))
    struct HealthChecks {
        /// `python3 -m http.server` on 127.0.0.1:`port`, serving `www/` (with a `sub/` directory).
        static func webServer(_ scratch: Scratch, port: Int) throws -> String {
            try FileManager.default.createDirectory(atPath: scratch.file("www/sub"), withIntermediateDirectories: true)
            try scratch.write("www/index.html", "hello\n")
            return "python3 -m http.server --bind 127.0.0.1 --directory \(scratch.file("www")) \(port)"
        }

        static func seconds(_ from: LogEvent, _ to: LogEvent) -> Double { (to.time - from.time).seconds }

        @Test func tcpCheckMakesTheServiceHealthyAndAfterWaitsForIt() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let port = try Network.freePort()
            // The listener only comes up a second after the service started.
            let path = try scratch.config("""
                [service client]
                run = sleep 4901
                after = web

                [service web]
                run = sh -c 'sleep 1; exec \(try Self.webServer(scratch, port: port))'
                check = tcp 127.0.0.1:\(port)
                start-period = 20s

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }

            let webStarted = try ftinit.requireEvent("started", subject: "web")
            let healthy = try ftinit.requireEvent("healthy", subject: "web", timeout: .seconds(15))
            let clientStarted = try ftinit.requireEvent("started", subject: "client", timeout: .seconds(5))

            #expect(healthy["check"] == "tcp 127.0.0.1:\(port)" && healthy["latency"].flatMap(DurationText.parse) != nil,
                    "expected `ftinit: info healthy service=web check=\"tcp 127.0.0.1:\(port)\" latency=DURATION`, got `\(healthy)`")
            let events = ftinit.events
            let healthyIndex = events.firstIndex { $0.event == "healthy" && $0.subject == "web" }!
            let clientIndex = events.firstIndex { $0.event == "started" && $0.subject == "client" }!
            #expect(healthyIndex < clientIndex, "client started before web was healthy\(ftinit.report)")
            #expect(Self.seconds(webStarted, clientStarted) >= 0.9,
                    "client started \(Self.seconds(webStarted, clientStarted)) s after web, whose port opens after 1 s\(ftinit.report)")
            #expect(Network.isListening(port), "nothing listens on \(port) although web is healthy")

            try ftinit.send(SIGTERM)
            #expect(try ftinit.exitCode(timeout: .seconds(10)) == 0, "\(ftinit.report)")
        }

        /// `http URL` passes on 200 to 399 (`/` is 200, `/sub` a 301 to `/sub/`) and fails
        /// otherwise (`/missing` is 404): not healthy within the start period → unhealthy, exit 1.
        @Test(arguments: [("/", true), ("/sub", true), ("/missing", false)])
        func httpCheckPassesOn2xxAnd3xxAndFailsOn404(path urlPath: String, passes: Bool) throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let port = try Network.freePort()
            let check = "http http://127.0.0.1:\(port)\(urlPath)"
            let path = try scratch.config("""
                [service web]
                run = \(try Self.webServer(scratch, port: port))
                check = \(check)
                start-period = \(passes ? "20s" : "5s")

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }

            if passes {
                let healthy = try ftinit.requireEvent("healthy", subject: "web", timeout: .seconds(15))
                #expect(healthy["check"] == check, "`\(healthy)`")
                try ftinit.send(SIGTERM)
                #expect(try ftinit.exitCode(timeout: .seconds(10)) == 0, "\(ftinit.report)")
            } else {
                let unhealthy = try ftinit.requireEvent("unhealthy", subject: "web", timeout: .seconds(15))
                #expect(unhealthy.level == "error" && unhealthy["check"] == check, "`\(unhealthy)`")
                #expect(unhealthy["error"]?.contains("404") == true, "the last error should carry the status: `\(unhealthy)`")
                #expect(ftinit.events("healthy").isEmpty, "\(ftinit.report)")
                #expect(try ftinit.exitCode(timeout: .seconds(10)) == 1, "\(ftinit.report)")
            }
        }

        /// Issue 18 (Also): the check ftinit shows (`ftinit status`, its `healthy` line) is the one
        /// that runs, variables expanded, except a secret's value; the check itself gets the value.
        @Test func statusShowsTheCheckAsItRunsWithSecretsHidden() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            _ = try scratch.write("expected", "s3cret")
            let path = try scratch.config("""
                [service db]
                run = sleep 4905
                check = exec sh -c 'test "$1" = "$(cat expected)" && test -d "$2"' sh ${CHECK_PASSWORD} ${DATA_DIR}
                dir = \(scratch.path)

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], environment: ["CHECK_PASSWORD": "s3cret", "DATA_DIR": scratch.path],
                                           directory: scratch.path)
            defer { ftinit.stop() }

            let healthy = try ftinit.requireEvent("healthy", subject: "db", timeout: .seconds(10))
            let status = try Tool.ftinit(["status", "--socket", ftinit.socketPath])

            let shown = "exec sh -c 'test \"$1\" = \"$(cat expected)\" && test -d \"$2\"' sh *** \(scratch.path)"
            #expect(healthy["check"] == shown, "`\(healthy.line)`")
            #expect(status.code == 0 && status.stdout.contains(shown), "\(status)")
            #expect(!ftinit.stderr.text.contains("s3cret") && !status.stdout.contains("s3cret"), "the secret was shown\(ftinit.report)")
        }

        /// `exec` checks run with the service's user, dir and env; a failing one's last output
        /// line is the error. Not healthy by the end of start-period (2 s) → `unhealthy` about
        /// 2 s after the start, not before; everything stops, exit 1.
        @Test func execChecksPassOrFailAndStartPeriodIsRespected() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let workdir = scratch.file("work")
            try FileManager.default.createDirectory(atPath: workdir, withIntermediateDirectories: false)
            let path = try scratch.config("""
                [service good]
                run = sleep 4903
                user = nobody
                dir = \(workdir)
                env = CHECK_ENV=yes
                check = exec sh -c 'test "$(id -u)" = 65534 && test "$PWD" = \(workdir) && test "$CHECK_ENV" = yes'
                start-period = 20s

                [service bad]
                run = sleep 4904
                after = good
                check = exec sh -c 'echo first line; echo still warming up; exit 3'
                start-period = 2s

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }

            _ = try ftinit.requireEvent("healthy", subject: "good", timeout: .seconds(10))
            let badStarted = try ftinit.requireEvent("started", subject: "bad", timeout: .seconds(5))
            let unhealthy = try ftinit.requireEvent("unhealthy", subject: "bad", timeout: .seconds(10))
            let code = try ftinit.exitCode(timeout: .seconds(10))

            let after = Self.seconds(badStarted, unhealthy)
            #expect(after >= 1.9 && after <= 3.5, "unhealthy \(after) s after the start, start-period is 2 s\(ftinit.report)")
            #expect(unhealthy["reason"] == "not healthy within start-period 2s", "`\(unhealthy)`")
            #expect(unhealthy["error"]?.contains("still warming up") == true, "the last output line is the error: `\(unhealthy)`")
            #expect(unhealthy["check"] == "exec sh -c 'echo first line; echo still warming up; exit 3'" || unhealthy["check"]?.hasPrefix("exec sh") == true,
                    "`\(unhealthy)`")
            #expect(code == 1, "an unhealthy service makes ftinit exit 1\(ftinit.report)")
            #expect(ftinit.events("stopping").map(\.subject).contains("good"), "the other service was not stopped\(ftinit.report)")
        }

        /// A check that can never pass (nothing listens): `unhealthy` with "not healthy within
        /// start-period" about 3 s after the start, not earlier; exit 1.
        @Test func tcpCheckThatNeverPassesIsUnhealthyAtTheEndOfItsStartPeriod() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let port = try Network.freePort()
            let path = try scratch.config("""
                [service bystander]
                run = sleep 4905

                [service web]
                run = sleep 4906
                check = tcp 127.0.0.1:\(port)
                check-interval = 10s
                start-period = 3s

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }

            let started = try ftinit.requireEvent("started", subject: "web")
            let unhealthy = try ftinit.requireEvent("unhealthy", subject: "web", timeout: .seconds(10))
            let code = try ftinit.exitCode(timeout: .seconds(10))

            let after = Self.seconds(started, unhealthy)
            #expect(after >= 2.9 && after <= 4.5, "unhealthy \(after) s after the start, start-period is 3 s\(ftinit.report)")
            #expect(unhealthy["reason"] == "not healthy within start-period 3s", "`\(unhealthy)`")
            #expect(unhealthy["error"].map { !$0.isEmpty } == true, "`\(unhealthy)`")
            #expect(code == 1, "\(ftinit.report)")
            #expect(ftinit.events("stopping").map(\.subject).contains("bystander"), "\(ftinit.report)")
        }

        /// Healthy, then frozen (SIGSTOP from the host): each check times out; after 3
        /// consecutive failures (0.5 s timeout, 0.5 s interval: 2.5–3 s) ftinit logs `unhealthy`
        /// with "consecutive failures" and exits 1.
        @Test func serviceThatStopsAnsweringBecomesUnhealthyAfterItsRetries() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let port = try Network.freePort()
            let check = "http http://127.0.0.1:\(port)/"
            let path = try scratch.config("""
                [service web]
                run = \(try Self.webServer(scratch, port: port))
                check = \(check)
                check-interval = 500ms
                check-timeout = 500ms
                check-retries = 3
                start-period = 20s
                stop-timeout = 2s

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            let started = try ftinit.requireEvent("started", subject: "web")
            _ = try ftinit.requireEvent("healthy", subject: "web", timeout: .seconds(15))
            let web = try ftinit.hostPid(of: started)
            // A few passing checks at the healthy interval first.
            Poll.sleep(.milliseconds(1200))
            try #require(ftinit.events("unhealthy").isEmpty && ftinit.process.ended == nil, "\(ftinit.report)")

            let frozenAt = ContinuousClock.now
            try #require(kill(web, SIGSTOP) == 0)
            defer { kill(web, SIGCONT) }
            let unhealthy = try ftinit.requireEvent("unhealthy", subject: "web", timeout: .seconds(10))
            let code = try ftinit.exitCode(timeout: .seconds(10))

            let after = (unhealthy.time - frozenAt).seconds
            #expect(after >= 2.2 && after <= 4.5, "unhealthy \(after) s after the freeze; expected 2.5–3 s\(ftinit.report)")
            #expect(unhealthy["reason"]?.contains("consecutive failures") == true, "`\(unhealthy)`")
            #expect(unhealthy["check"] == check && unhealthy["error"].map { !$0.isEmpty } == true, "`\(unhealthy)`")
            #expect(code == 1, "\(ftinit.report)")
        }

        /// An exec check that hangs is killed with its process group at check-timeout and reaped:
        /// no attempt's processes outlive it, no zombie stays.
        @Test func hangingExecCheckIsKilledAtItsTimeoutAndReaped() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service web]
                run = sleep 4907
                check = exec sh -c 'sleep 101 & exec sleep 100'
                check-timeout = 500ms
                check-interval = 1s
                start-period = 60s

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            _ = try ftinit.requireEvent("started", subject: "web")

            // Watch every `sleep 100` / `sleep 101` of the checks for 3.5 s.
            var firstSeen: [pid_t: ContinuousClock.Instant] = [:]
            var lastSeen: [pid_t: ContinuousClock.Instant] = [:]
            var zombieSince: [pid_t: ContinuousClock.Instant] = [:]
            var longestZombie = 0.0
            let end = ContinuousClock.now + .milliseconds(3500)
            while ContinuousClock.now < end {
                let now = ContinuousClock.now
                for process in ftinit.processes() {
                    let argv = ProcFS.cmdline(process.pid)
                    let isCheck = process.comm == "sleep" && (argv == ["sleep", "100"] || argv == ["sleep", "101"] || argv.isEmpty)
                    guard isCheck else { continue }
                    if firstSeen[process.pid] == nil { firstSeen[process.pid] = now }
                    lastSeen[process.pid] = now
                    if process.isZombie {
                        let since = zombieSince[process.pid] ?? now
                        zombieSince[process.pid] = since
                        longestZombie = max(longestZombie, (now - since).seconds)
                    }
                }
                Poll.sleep(.milliseconds(10))
            }

            #expect(firstSeen.count >= 4, "expected at least two attempts (two sleeps each), saw \(firstSeen.count) processes\(ftinit.report)")
            for (pid, first) in firstSeen {
                let lifetime = (lastSeen[pid]! - first).seconds
                let stillThere = ProcFS.exists(pid) && (lastSeen[pid]! > end - .milliseconds(50))
                if !stillThere {
                    #expect(lifetime <= 0.9, "check process \(pid) lived \(lifetime) s, check-timeout is 0.5 s\(ftinit.report)")
                }
            }
            #expect(longestZombie < 0.3, "a killed check process stayed a zombie for \(longestZombie) s")
            // Right now at most the current attempt's two processes exist, none of them older than the timeout.
            let live = ftinit.processes().filter { ["sleep 100", "sleep 101"].contains(ProcFS.cmdline($0.pid).joined(separator: " ")) }
            #expect(live.count <= 2, "leftover check processes: \(live)")
            let report = try #require(Network.exchange(ftinit.socketPath, Array("status\n".utf8)), "no answer on the control socket")
            let web = report.response.split(separator: "\n").first { $0.hasPrefix("service name=web ") }
            #expect(web?.contains("health=starting") == true && web?.contains("result=ok") == false, "\(report.response)")

            try ftinit.send(SIGTERM)
            #expect(try ftinit.exitCode(timeout: .seconds(10)) == 0, "\(ftinit.report)")
        }

        /// `ftinit status`: a table with name, kind, pid, state, health, uptime, latency, check
        /// and last result for every service and task.
        @Test func statusShowsEveryProgramWithItsHealthAndLastResult() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [task prep]
                run = sh -c 'exit 0'

                [service web]
                run = sleep 4908
                after = prep
                check = exec sh -c 'exit 0'
                check-interval = 1s

                [service plain]
                run = sleep 4909

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            let webStarted = try ftinit.requireEvent("started", subject: "web")
            let plainStarted = try ftinit.requireEvent("started", subject: "plain")
            _ = try ftinit.requireEvent("healthy", subject: "web", timeout: .seconds(10))

            // The socket from FTINIT_SOCKET, as in the image (no --socket).
            let status = try Tool.ftinit(["status"], environment: ["FTINIT_SOCKET": ftinit.socketPath])

            #expect(status.code == 0, "\(status)")
            let lines = status.stdout.split(separator: "\n").map(String.init)
            let header = lines.first?.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            #expect(header == "NAME KIND PID STATE HEALTH UPTIME LATENCY CHECK LAST RESULT", "header\n\(status)")
            func row(_ name: String) -> [String]? {
                lines.dropFirst().first { $0.hasPrefix(name + " ") }?.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            }
            let web = try #require(row("web"), "no row for web\n\(status)")
            #expect(web.count >= 9 && web[1] == "service" && web[2] == "\(webStarted.pid!)" && web[3] == "running"
                    && web[4] == "healthy" && web.last == "ok" && web.contains("exec"), "web row: \(web)\n\(status)")
            let plain = try #require(row("plain"), "no row for plain\n\(status)")
            #expect(plain.count >= 5 && plain[1] == "service" && plain[2] == "\(plainStarted.pid!)" && plain[3] == "running"
                    && plain[4] == "none", "plain row: \(plain)\n\(status)")
            let prep = try #require(row("prep"), "no row for prep\n\(status)")
            #expect(prep.count >= 5 && prep[1] == "task" && prep[3] == "done", "prep row: \(prep)\n\(status)")

            let unreachable = try Tool.ftinit(["status", "--socket", scratch.file("nothing.sock")])
            #expect(unreachable.code == 1, "\(unreachable)")

            try ftinit.send(SIGTERM)
            #expect(try ftinit.exitCode(timeout: .seconds(10)) == 0, "\(ftinit.report)")
        }
    }
}
