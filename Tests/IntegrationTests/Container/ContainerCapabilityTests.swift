import Foundation
import Testing

/// Which capability which feature of ftinit needs (README, "Capabilities"), proven with
/// `--cap-drop ALL` and then only that capability added back: each test runs the same image
/// both ways.
extension Integration {
    @Suite(.requires(.root, .dockerDaemon, .tools(["docker", "busybox"]), what: "container tests"))
    struct ContainerCapabilities {
        /// root and nobody, the only accounts of the test images.
        static let accounts = ["passwd": "root:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n",
                               "group": "root:x:0:\nnogroup:x:65534:\n"]

        /// Waits for `container` to exit; its exit code.
        static func exitCode(_ container: Container, within limit: Duration = .seconds(10)) throws -> String? {
            let exited = try DockerHost.eventually(limit) { try DockerHost.inspect(container.name, "{{.State.Status}}") == "exited" }
            return exited ? try DockerHost.inspect(container.name, "{{.State.ExitCode}}") : nil
        }

        static func waitStarted(_ container: Container, _ service: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let started = DockerHost.eventually(.seconds(10)) { container.logs.contains("started service=\(service) ") }
            try #require(started, "\(service) did not start\(container.report)", sourceLocation: sourceLocation)
        }

        @Test func dropToAnotherUserNeedsSETUIDAndSETGIDOnly() throws {
            let image = try TestImage.build("ftinit-test-user", config: """
                [service as-nobody]
                run = /bin/sleep 100000
                user = nobody

                """, files: Self.accounts)
            let without = try image.run("ftinit-user-nocaps")
            defer { without.remove() }
            #expect(try Self.exitCode(without) == "126", "\(without.report)")
            #expect(without.logs.contains("Operation not permitted"), "\(without.report)")

            let with = try image.run("ftinit-user-caps", ["--cap-add", "SETUID", "--cap-add", "SETGID"])
            defer { with.remove() }
            try Self.waitStarted(with, "as-nobody")
            let owner = try DockerHost.run(["exec", with.name, "/bin/ps", "-o", "user,comm"]).stdout
            #expect(owner.split(separator: "\n").contains { $0.hasPrefix("nobody") && $0.hasSuffix("sleep") }, "\(owner)")
        }

        /// runAsNonRoot, or OpenShift's arbitrary uid: ftinit needs no root when its services
        /// need none. A uid without a passwd entry runs everything, Docker's HEALTHCHECK (run as
        /// that user, like an exec probe) sees it healthy, and `docker stop` exits 0. Without a
        /// writable /run, the error says where the control socket can go instead.
        @Test func anArbitraryNonRootUidRunsEverything() throws {
            let image = try ContainerRuntime.image("nonroot")
            let user = ["--user", "12345:12345"]
            let container = try image.run("ftinit-nonroot", user)
            defer { container.remove() }
            try ContainerRuntime.waitHealthy(container)
            let rows = try DockerHost.run(["exec", container.name, "/bin/ps", "-o", "user,comm"]).stdout
                .split(separator: "\n").dropFirst().map { $0.split(separator: " ") }
            #expect(rows.count >= 4 && rows.allSatisfy { $0.first == "12345" }, "\(rows)")
            try DockerHost.run(["stop", container.name])
            #expect(try DockerHost.inspect(container.name, "{{.State.ExitCode}}") == "0", "\(container.report)")

            let noRun = try image.run("ftinit-nonroot-norun", user, writable: ["/tmp"])
            defer { noRun.remove() }
            #expect(try Self.exitCode(noRun) == "71", "\(noRun.report)")
            #expect(noRun.logs.contains("unable to create directory /run: Read-only file system (the control socket /run/ftinit.sock "
                                        + "needs a writable directory"), "\(noRun.report)")
        }

        /// Without KILL, root cannot signal a process of another user: ftinit says so, for the
        /// kill of its late exec check (run as that user) as for the stop, and does not wait
        /// out the service's stop timeout (15 s) for nothing; the kernel ends the service with
        /// the container. With KILL, signals reach it and the stop is clean.
        @Test func signallingAServiceOfAnotherUserNeedsKILL() throws {
            let image = try TestImage.build("ftinit-test-kill", config: """
                [service as-nobody]
                run = /bin/sh -c 'trap "echo got HUP" HUP; trap "exit 0" TERM; while :; do sleep 0.2; done'
                user = nobody
                stop-timeout = 15s
                # Always late, killed after 300 ms; failures do not count in the start period.
                check = exec /bin/sleep 3
                check-timeout = 300ms
                check-interval = 1s
                start-period = 5m

                """, files: Self.accounts)
            let userCaps = ["--cap-add", "SETUID", "--cap-add", "SETGID"]
            let without = try image.run("ftinit-kill-nocap", userCaps)
            defer { without.remove() }
            try Self.waitStarted(without, "as-nobody")
            func refused(_ signal: String) -> Bool {
                without.events("signal-refused", subject: "as-nobody").contains { $0.level == "error" && $0.signalName() == signal }
            }
            #expect(DockerHost.eventually(.seconds(5)) { refused("KILL") }, "the late exec check's kill was not reported\(without.report)")
            let began = ContinuousClock.now
            try DockerHost.run(["stop", "-t", "30", without.name])
            let took = ContinuousClock.now - began
            #expect(took < .seconds(5), "docker stop took \(took)\(without.report)")
            #expect(try DockerHost.inspect(without.name, "{{.State.ExitCode}}") == "1", "\(without.report)")
            #expect(refused("TERM"), "\(without.report)")
            #expect(without.logs.contains("capability KILL"), "\(without.report)")

            let with = try image.run("ftinit-kill-cap", userCaps + ["--cap-add", "KILL"])
            defer { with.remove() }
            try Self.waitStarted(with, "as-nobody")
            try DockerHost.run(["kill", "-s", "HUP", with.name])
            #expect(DockerHost.eventually(.seconds(5)) { with.serviceOutput.contains("got HUP") }, "\(with.serviceOutput)\(with.report)")
            try DockerHost.run(["stop", "-t", "30", with.name])
            #expect(try DockerHost.inspect(with.name, "{{.State.ExitCode}}") == "0", "\(with.report)")
            #expect(with.logs.contains("exited service=as-nobody"), "\(with.report)")
            #expect(!with.logs.contains("signal-refused"), "\(with.report)")
        }

        /// `owner =` of the TLS key (and of templates) is a chown: CHOWN, or exit 73.
        @Test func ownerOfTheKeyNeedsCHOWN() throws {
            let image = try TestImage.build("ftinit-test-chown", config: """
                [tls]
                cert = /run/tls/cert.pem
                key = /run/tls/key.pem
                names = localhost
                owner = nobody

                [service idle]
                run = /bin/sleep 100000

                """, files: Self.accounts)
            let without = try image.run("ftinit-chown-nocap")
            defer { without.remove() }
            #expect(try Self.exitCode(without) == "73", "\(without.report)")
            #expect(without.logs.contains("boot-failed") && without.logs.contains("Operation not permitted"), "\(without.report)")

            let with = try image.run("ftinit-chown-cap", ["--cap-add", "CHOWN"])
            defer { with.remove() }
            try Self.waitStarted(with, "idle")
            let listing = try DockerHost.run(["exec", with.name, "/bin/ls", "-ln", "/run/tls/key.pem"]).stdout
            #expect(listing.hasPrefix("-rw-------") && listing.contains(" 65534 "), "\(listing)")
        }

        /// A directory root does not own (here a tmpfs of nobody's, mode 0700) is one whose
        /// owner could replace what root writes there: refused, exit 73, whatever the
        /// capabilities (DAC_OVERRIDE would let root write it, and must not).
        @Test func aDirectoryOfAnotherUserIsRefusedEvenWithDAC_OVERRIDE() throws {
            let image = try TestImage.build("ftinit-test-dac", config: """
                [template /data/service.conf]
                source = /etc/service.conf.tmpl

                [service idle]
                run = /bin/sleep 100000

                """, files: Self.accounts.merging(["service.conf.tmpl": "listen = ${PORT:-8080}\n"]) { $1 })
            let nobodysDirectory = ["--tmpfs", "/data:uid=65534,gid=65534,mode=0700"]
            for capabilities in [[], ["--cap-add", "DAC_OVERRIDE"]] {
                let container = try image.run("ftinit-dac\(capabilities.isEmpty ? "" : "-cap")", nobodysDirectory + capabilities)
                defer { container.remove() }
                #expect(try Self.exitCode(container) == "73", "\(container.report)")
                #expect(container.logs.contains("unable to write /data/service.conf: its directory /data can be changed by another user: it belongs to uid 65534"),
                        "\(container.report)")
                #expect(!container.logs.contains("started"), "\(container.report)")
            }
        }

        /// A port below 1024 is the service's need, not ftinit's. Docker lets any container
        /// bind them (it sets net.ipv4.ip_unprivileged_port_start=0); a kubelet whose runtime
        /// does not (containerd's CRI without enable_unprivileged_ports) is emulated with that
        /// sysctl at 1024: the bind
        /// fails and ftinit exits with the service's code, unless NET_BIND_SERVICE is added.
        @Test func aServiceOnPort80NeedsNET_BIND_SERVICEOnlyWherePortsArePrivileged() throws {
            let image = try TestImage.build("ftinit-test-port80", config: """
                [service web]
                run = /bin/httpd -f -p 80 -h /www
                check = tcp 127.0.0.1:80
                check-interval = 1s

                """)
            let privilegedPorts = ["--sysctl", "net.ipv4.ip_unprivileged_port_start=1024"]
            let without = try image.run("ftinit-port80-nocap", privilegedPorts)
            defer { without.remove() }
            #expect(try Self.exitCode(without) == "1", "\(without.report)")
            #expect(without.logs.contains("bind: Permission denied"), "\(without.report)")

            for (name, extra) in [("ftinit-port80-cap", privilegedPorts + ["--cap-add", "NET_BIND_SERVICE"]),
                                  ("ftinit-port80-docker", [])] {
                let container = try image.run(name, extra)
                defer { container.remove() }
                let healthy = DockerHost.eventually(.seconds(10)) { container.logs.contains("info healthy service=web") }
                #expect(healthy, "\(container.report)")
            }
        }
    }
}
