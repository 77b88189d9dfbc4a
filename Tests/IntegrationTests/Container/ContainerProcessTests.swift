import Foundation
import Testing

/// Reaping inside real containers: orphans made by `docker exec`, and the shared PID namespace
/// of a Kubernetes pod with `shareProcessNamespace` (`--pid=container:…`), where ftinit is not
/// PID 1 and reaps as a child subreaper. Plus the metrics ftinit reads from the container's
/// own cgroup.
extension Integration {
    @Suite(.requires(.root, .dockerDaemon, .tools(["docker", "busybox"]), what: "container tests"))
    struct ContainerProcesses {
        static let sleeper = """
            [service idle]
            run = /bin/sleep 100000

            """

        /// Processes in `container` whose state is Z (busybox ps: PID STAT COMMAND).
        static func zombies(_ container: Container) throws -> [Substring] {
            let listing = try DockerHost.run(["exec", container.name, "/bin/ps", "-o", "pid,stat,comm"])
            try #require(listing.succeeded, "\(listing)")
            return listing.stdout.split(separator: "\n").filter { $0.split(separator: " ").dropFirst().first?.hasPrefix("Z") == true }
        }

        @Test func orphansOfADockerExecAreReapedByFtinit() throws {
            let container = try TestImage.build("ftinit-test-orphans", config: Self.sleeper).run("ftinit-orphans")
            defer { container.remove() }
            // 50 grandchildren whose parent exits at once: they become ftinit's (PID 1's) orphans.
            let made = try DockerHost.run(["exec", container.name, "/bin/sh", "-c",
                                           "i=0; while [ $i -lt 50 ]; do (sleep 0.5 &); i=$((i+1)); done"])
            #expect(made.succeeded, "\(made)")
            let clean = try DockerHost.eventually(.seconds(5)) {
                let listing = try DockerHost.run(["exec", container.name, "/bin/ps"]).stdout
                return try Self.zombies(container).isEmpty && !listing.contains("sleep 0.5")
            }
            let left = try Self.zombies(container)
            #expect(clean, "orphans left: \(left)\(container.report)")
        }

        /// shareProcessNamespace: a second ftinit joins the first container's PID namespace,
        /// so it is not PID 1 there; as child subreaper it still reaps its services' orphans.
        @Test func ftinitThatIsNotPID1ReapsAsSubreaper() throws {
            let image = try TestImage.build("ftinit-test-shared", config: """
                [init]
                socket = /run/second.sock

                [service orphans]
                run = /bin/sh -c 'while :; do (sleep 1 &); sleep 0.2; done'

                """)
            let first = try TestImage.build("ftinit-test-orphans", config: Self.sleeper).run("ftinit-pid1")
            defer { first.remove() }
            let second = try image.run("ftinit-sidecar", ["--pid", "container:ftinit-pid1"])
            defer { second.remove() }
            #expect(DockerHost.eventually(.seconds(5)) { second.logs.contains("started service=orphans") }, "\(second.report)")
            Thread.sleep(forTimeInterval: 2.5)  // orphans made, some ended
            let zombies = try Self.zombies(first)
            #expect(zombies.isEmpty, "zombies in the shared namespace: \(zombies)\(second.report)")
            // The orphans were adopted by the second ftinit (the subreaper), not by PID 1.
            let rows = try DockerHost.run(["exec", first.name, "/bin/ps", "-o", "pid,ppid,comm"]).stdout
                .split(separator: "\n").map { $0.split(separator: " ").map(String.init) }.filter { $0.count == 3 }
            let sidecar = rows.first { $0[2] == "ftinit" && $0[0] != "1" }?[0]
            try #require(sidecar != nil, "no second ftinit in \(rows)")
            #expect(rows.contains { $0[2] == "sleep" && $0[1] == sidecar }, "no orphan adopted by the sidecar ftinit (pid \(sidecar!)): \(rows)")
        }

        /// `[metrics]` inside a container reads the container's own cgroup (v1 on this host):
        /// a stand-in InfluxDB (busybox nc) in the same container keeps the first push, which
        /// ftinit gives up on after its timeout (nc never answers), closing the connection.
        @Test func metricsReadTheContainersOwnCgroup() throws {
            let container = try TestImage.build("ftinit-test-metrics", config: """
                [metrics]
                url = http://127.0.0.1:8086
                database = ft
                service = test
                interval = 1s

                [service influx]
                run = /bin/sh -c 'nc -l -p 8086 > /tmp/push.txt; sleep 100000'

                [service busy]
                run = /bin/sh -c 'while :; do :; done'

                """).run("ftinit-metrics")
            defer { container.remove() }
            var push = ""
            let pushed = try DockerHost.eventually(.seconds(10)) {
                push = try DockerHost.run(["exec", container.name, "/bin/cat", "/tmp/push.txt"]).stdout
                return push.contains("ftinit_container,")
            }
            try #require(pushed, "no push arrived: \(push)\(container.report)")
            let line = try #require(push.split(separator: "\n").first { $0.hasPrefix("ftinit_container,") })
            let fields = lineProtocolFields(line)
            let memory = Int64(fields["memory_bytes"]?.dropLast() ?? "") ?? 0
            let cpu = Double(fields["cpu_seconds"] ?? "") ?? 0
            // The container's own figures: a few MB of memory (the host's would be GBs), and the
            // CPU of a busy loop running for about a second.
            #expect(memory > 100_000 && memory < 200_000_000, "memory_bytes \(memory): \(line)")
            #expect(cpu > 0.1 && cpu < 30, "cpu_seconds \(cpu): \(line)")
        }
    }
}
