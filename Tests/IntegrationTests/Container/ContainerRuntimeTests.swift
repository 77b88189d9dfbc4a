import Foundation
import Testing

/// ftinit as the PID 1 of real containers under Docker's runtime (containerd + runc, what the
/// kubelet drives too), in `FROM scratch` images built from the binary under test and Debian's
/// static busybox. Each container runs as the kubelet would start it: read-only root, tmpfs
/// for /run and /tmp, every capability dropped.
extension Integration {
    @Suite(.requires(.root, .dockerDaemon, .tools(["docker", "busybox"]), what: "container tests"))
    struct ContainerRuntime {
        /// A web server with an http check, a TCP listener with a tcp check (busybox nc, one per
        /// connection, waited for by its shell: `nc -ll -e` leaves its children as zombies of
        /// its own for a while, which the zombie check below would blame on ftinit), and a
        /// worker started after both that stops on TERM.
        static let config = """
            [init]
            stop-timeout = 8s

            [service web]
            run = /bin/httpd -f -p 8080 -h /www
            check = http http://127.0.0.1:8080/
            check-interval = 1s
            check-timeout = 500ms
            check-retries = 1
            start-period = 5s
            stop-timeout = 5s

            [service listener]
            run = /bin/sh -c 'while :; do nc -l -p 9000 < /dev/null; done'
            check = tcp 127.0.0.1:9000
            check-interval = 1s
            start-period = 5s

            [service worker]
            run = /bin/sh -c 'trap "exit 0" TERM; while :; do sleep 0.2; done'
            after = web listener

            """
        static let healthcheck = #"--interval=1s --timeout=2s --retries=2 CMD ["/sbin/ftinit", "probe"]"#

        static func image(_ tag: String) throws -> TestImage {
            try TestImage.build("ftinit-test-\(tag)", config: config, healthcheck: healthcheck)
        }

        static func waitHealthy(_ container: Container) throws {
            let healthy = try DockerHost.eventually(.seconds(15)) {
                try DockerHost.inspect(container.name, "{{.State.Health.Status}}") == "healthy"
            }
            try #require(healthy, "not healthy within 15 s\(container.report)")
        }

        /// `docker stop` is the kubelet's SIGTERM then SIGKILL after the grace period: ftinit
        /// stops the services along the `after` graph (worker first, then web and listener
        /// together) and exits 0, well inside the timeout.
        @Test func dockerStopStopsTheServicesAlongTheirDependenciesAndExits0() throws {
            let container = try Self.image("stop").run("ftinit-stop")
            defer { container.remove() }
            try Self.waitHealthy(container)

            let began = ContinuousClock.now
            let stopped = try DockerHost.run(["stop", "-t", "10", container.name])
            let took = ContinuousClock.now - began
            #expect(stopped.succeeded, "\(stopped)")
            #expect(try DockerHost.inspect(container.name, "{{.State.ExitCode}}") == "0", "\(container.report)")
            #expect(took < .seconds(3), "docker stop took \(took) (timeout 10 s)\(container.report)")
            let started = container.events("started").map(\.subject), stopping = container.events("stopping").map(\.subject)
            #expect(started.count == 3 && started.last == "worker", "\(container.report)")
            #expect(stopping == started.reversed(), "\(container.report)")
            // web and listener only once worker has exited, and both before either of them ends.
            let log = container.events(), line = { (event: String, subject: String) in
                log.firstIndex { $0.event == event && $0.subject == subject }
            }
            let workerExited = line("exited", "worker")
            let others = ["web", "listener"].map { line("stopping", $0) }
            let firstOtherExit = ["web", "listener"].compactMap { line("exited", $0) }.min()
            #expect(workerExited != nil && others.allSatisfy { $0 != nil && $0! > workerExited! && $0! < (firstOtherExit ?? .max) },
                    "\(container.report)")
        }

        /// Issue 18 (4): what a person debugging the container does, through `docker exec` (as
        /// `kubectl exec`): a restart of web stops worker (after it) then web, starts them again
        /// and waits until they are ready, the container stays up; another uid is denied; `ftinit
        /// stop` ends the container with 0.
        @Test func commandsThroughDockerExecRestartAServiceAndStopTheContainer() throws {
            let container = try Self.image("commands").run("ftinit-commands")
            defer { container.remove() }
            try Self.waitHealthy(container)
            let web = try #require(container.pid(of: "web"), "\(container.report)")

            let restarted = try DockerHost.run(["exec", container.name, "/sbin/ftinit", "restart", "web"])
            let denied = try DockerHost.run(["exec", "-u", "4321", container.name, "/sbin/ftinit", "stop"])

            #expect(restarted.succeeded && restarted.stdout.contains("ftinit restart: ready: "), "\(restarted)\(container.report)")
            #expect(container.pid(of: "web") != web, "web has the same pid\(container.report)")
            let requested = container.events("restart-requested").first
            #expect(requested?.subject == "web" && requested?["with"] == "worker", "\(container.report)")
            let after = container.events().drop { $0.event != "restart-requested" }
                .filter { ["stopping", "started"].contains($0.event) }.map { "\($0.event) \($0.subject ?? "")" }
            #expect(after == ["stopping worker", "stopping web", "started web", "started worker"], "\(container.report)")
            #expect(denied.code == 77 && denied.stderr.contains("permission denied"), "\(denied)")
            #expect(try DockerHost.inspect(container.name, "{{.State.Running}}") == "true", "\(container.report)")
            try Self.waitHealthy(container)

            let stopped = try DockerHost.run(["exec", container.name, "/sbin/ftinit", "stop"])
            #expect(stopped.succeeded && stopped.stdout == "ftinit stop: ok: stopping\n", "\(stopped)")
            let ended = try DockerHost.eventually(.seconds(10)) { try DockerHost.inspect(container.name, "{{.State.Running}}") == "false" }
            #expect(ended, "the container still runs\(container.report)")
            #expect(try DockerHost.inspect(container.name, "{{.State.ExitCode}}") == "0", "\(container.report)")
            #expect(container.events("stop-requested").first?["command"] == "stop", "\(container.report)")
        }

        /// The subject's "containers restart when a component dies", with a real runtime: a
        /// service killed inside the container ends it non-zero at once, and Docker's restart
        /// policy brings it back healthy.
        @Test func aKilledServiceEndsTheContainerAndTheRestartPolicyBringsItBack() throws {
            let container = try Self.image("restart").run("ftinit-restart", ["--restart", "on-failure"])
            defer { container.remove() }
            try Self.waitHealthy(container)
            let web = try #require(container.pid(of: "web"), "\(container.report)")

            let killedAt = Date()
            let killed = try DockerHost.run(["exec", container.name, "/bin/kill", "-9", web])
            #expect(killed.succeeded, "\(killed)")
            let restarted = try DockerHost.eventually(.seconds(5)) {
                try DockerHost.inspect(container.name, "{{.RestartCount}}") == "1"
            }
            #expect(restarted, "no restart within 5 s\(container.report)")
            // Docker keeps the end of the previous run in State.FinishedAt (RFC 3339, ns).
            let finishedAt = try DockerHost.inspect(container.name, "{{.State.FinishedAt}}")
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let finished = try #require(formatter.date(from: finishedAt.replacingOccurrences(of: #"(\.\d{3})\d+"#, with: "$1", options: .regularExpression)),
                                        "FinishedAt \(finishedAt)")
            #expect(finished.timeIntervalSince(killedAt) < 2, "the container ended \(finished.timeIntervalSince(killedAt)) s after the kill")
            #expect(container.logs.contains("ftinit: info exiting code=137"), "\(container.report)")
            try Self.waitHealthy(container)
        }

        /// ftinit's open files (PID 1's /proc/PID/fd): the fewest of five looks, as an http
        /// check may hold a socket at any moment.
        static func openFiles(_ container: Container) throws -> Int {
            try (0..<5).map { _ in
                Thread.sleep(forTimeInterval: 0.1)
                return try DockerHost.run(["exec", container.name, "/bin/ls", "/proc/1/fd"]).stdout.split(separator: "\n").count
            }.min()!
        }

        /// A service that ignores SIGTERM is killed after its own stop timeout, inside Docker's
        /// (ftinit exits 1: the stop needed SIGKILL). When the runtime's grace period is the
        /// shorter one, the runtime's SIGKILL ends ftinit first: exit 137, no `exiting` line.
        /// That is why every Deployment's terminationGracePeriodSeconds (40) is longer than
        /// its image's stop budget (25 s; checked by ManifestPolicyTests).
        @Test func aServiceIgnoringTERMIsKilledAfterItsStopTimeoutUnlessTheGracePeriodEndsFirst() throws {
            let image = try TestImage.build("ftinit-test-stubborn", config: """
                [init]
                stop-timeout = 8s

                [service stubborn]
                run = /bin/sh -c 'trap "" TERM; while :; do sleep 0.2; done'
                stop-timeout = 3s

                """)
            for (grace, code) in [("10", "1"), ("1", "137")] {
                let container = try image.run("ftinit-stubborn-\(grace)")
                defer { container.remove() }
                let started = DockerHost.eventually(.seconds(10)) { container.logs.contains("started service=stubborn") }
                try #require(started, "\(container.report)")
                let began = ContinuousClock.now
                try DockerHost.run(["stop", "-t", grace, container.name])
                let took = ContinuousClock.now - began
                #expect(try DockerHost.inspect(container.name, "{{.State.ExitCode}}") == code, "grace \(grace) s\(container.report)")
                if code == "1" {
                    #expect(took > .seconds(2.9) && took < .seconds(6), "stop took \(took)")
                    #expect(container.logs.contains("ftinit: warn killed service=stubborn"), "\(container.report)")
                    #expect(container.logs.contains("ftinit: info exiting code=1"), "\(container.report)")
                } else {
                    #expect(took < .seconds(3), "stop took \(took)")
                    #expect(!container.logs.contains("ftinit: info exiting"), "\(container.report)")
                }
            }
        }

        /// HEALTHCHECK with `ftinit probe`: starting, then healthy; repeated probes leave no
        /// zombie and no open file in PID 1; a frozen service turns the container unhealthy (ftinit stops it, and the
        /// probe says so while it stops).
        @Test func healthcheckWithFtinitProbeFollowsTheServices() throws {
            let container = try Self.image("health").run("ftinit-health")
            defer { container.remove() }
            #expect(try DockerHost.inspect(container.name, "{{.State.Health.Status}}") == "starting")
            try Self.waitHealthy(container)
            Thread.sleep(forTimeInterval: 3)  // a few more probes
            let processes = try DockerHost.run(["exec", container.name, "/bin/ps", "-o", "pid,stat,comm"])
            let zombies = processes.stdout.split(separator: "\n").filter { $0.split(separator: " ").dropFirst().first?.hasPrefix("Z") == true }
            #expect(processes.succeeded && zombies.isEmpty, "zombies after repeated probes: \(zombies)\n\(processes)")
            let openBefore = try Self.openFiles(container)
            let probes = try DockerHost.run(["exec", container.name, "/bin/sh", "-c",
                                             "i=0; while [ $i -lt 300 ]; do /sbin/ftinit probe >/dev/null || exit 1; i=$((i+1)); done"])
            #expect(probes.succeeded, "a probe failed: \(probes)")
            let openAfter = try Self.openFiles(container)
            #expect(openBefore > 3 && openAfter == openBefore, "PID 1 had \(openBefore) open files, \(openAfter) after 300 probes")

            let web = try #require(container.pid(of: "web"), "\(container.report)")
            try DockerHost.run(["exec", container.name, "/bin/kill", "-STOP", web])
            let unhealthy = try DockerHost.eventually(.seconds(12)) {
                try DockerHost.inspect(container.name, "{{.State.Health.Status}}") == "unhealthy"
            }
            #expect(unhealthy, "not unhealthy within 12 s\(container.report)")
            #expect(container.logs.contains("ftinit: error unhealthy service=web"), "\(container.report)")
        }
    }
}
