import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Issue 14, defect 2 in a real container: ftinit's stdout and stderr are pipes to the
/// container's shim (containerd-shim-runc-v2), which copies them to the runtime's log. With
/// that reader stopped (SIGSTOP on this container's shim only, so other tests keep their
/// daemon), the pipes fill; PID 1 must still answer its probe and obey SIGTERM. The previous
/// binary slept in the pipe write: no probe, no stop.
extension Integration {
    @Suite(.requires(.root, .dockerDaemon, .tools(["docker", "busybox", "nsenter"]), what: "container log stall tests"))
    struct ContainerLogStall {
        static let config = """
            [init]
            stop-timeout = 5s

            [service chatty]
            run = /bin/sh -c 'while :; do echo "a line of chatter that fills the log pipe quickly"; done'

            [service quiet]
            run = /bin/sleep 4939

            """

        @Test func aStalledLogReaderNeverFreezesPID1OfAContainer() throws {
            let image = try TestImage.build("ftinit-test-log-stall", config: Self.config)
            let container = try image.run("ftinit-log-stall")
            defer { container.remove() }
            try #require(DockerHost.eventually(.seconds(10)) { !container.events("started", subject: "quiet").isEmpty },
                         "quiet never started\(container.report)")
            let pid = try #require(pid_t(try DockerHost.inspect(container.name, "{{.State.Pid}}")), "no pid\(container.report)")
            let shim = try #require(ProcFS.stat(pid)?.ppid, "ftinit (\(pid)) has no parent")
            let shimName = ProcFS.stat(shim)?.comm ?? ""
            try #require(shimName.hasPrefix("containerd-shim"), "ftinit's parent is \(shimName), not the container's shim")

            try #require(kill(shim, SIGSTOP) == 0)
            var resumed = false
            defer { if !resumed { kill(shim, SIGCONT) } }
            Thread.sleep(forTimeInterval: 1.5)  // the pipes' 64 KiB are long full

            // What an exec probe asks (docker exec would go through the stopped shim).
            let probe = try Tool.run(["nsenter", "-t", "\(pid)", "-m", "-p", "--", "/sbin/ftinit", "probe", "--timeout", "2s"],
                                     timeout: .seconds(10))
            #expect(probe.succeeded, "PID 1 does not answer while its log reader is stalled: \(probe)")

            try #require(kill(pid, SIGTERM) == 0)
            // The shim is stopped, so ftinit, once it exits, stays its unreaped zombie.
            let exited = Poll.until(timeout: .seconds(10)) { ProcFS.stat(pid)?.isZombie ?? true }
            #expect(exited, "PID 1 ignored SIGTERM while its log reader was stalled: \(ProcFS.stat(pid).map { "\($0)" } ?? "gone")")

            kill(shim, SIGCONT)
            resumed = true
            #expect(try DockerHost.eventually(.seconds(10)) { try DockerHost.inspect(container.name, "{{.State.Running}}") == "false" })
            #expect(try DockerHost.inspect(container.name, "{{.State.ExitCode}}") == "0", "\(container.report)")
            #expect(container.logs.contains("ftinit: info exiting code=0"), "the exit's lines never came out\(container.report)")
        }
    }
}
