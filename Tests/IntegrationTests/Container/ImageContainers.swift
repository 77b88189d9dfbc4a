import Foundation
import Synchronization
import Testing

/// The images of images/ as setup.sh builds them (issue 15): `docker build` of the image's own
/// folder with the static ftinit copied in, here FROM the alpine:3.22 stand-in in the private
/// dockerd; each built once per test run.
enum ImageBuild {
    private static let built = Mutex<Set<String>>([])

    /// The tag of `image` (`ft-services-test/NAME`), building the stand-in and the image first
    /// if this run has not yet.
    static func require(_ image: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try require(image, arguments: [], sourceLocation: sourceLocation)
    }

    private static let baseBuilt = Mutex(false)

    /// The alpine:3.22 stand-in, built once per run.
    static func requireBase(sourceLocation: SourceLocation = #_sourceLocation) throws {
        try baseBuilt.withLock { done in
            if !done { try Integration.StandInBase.build(sourceLocation: sourceLocation) }
            done = true
        }
    }

    /// The tag of `image` if this run has built it.
    static func builtTag(_ image: String) -> String? {
        built.withLock { $0.contains(image) } ? "ft-services-test/\(image)" : nil
    }

    /// `arguments`: more `docker build` options (build arguments, its network), the same for an
    /// image throughout a run (LocalDownloads): the first build of an image is the one kept.
    static func require(_ image: String, arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let tag = "ft-services-test/\(image)"
        if built.withLock({ $0.contains(image) }) { return tag }
        try requireBase(sourceLocation: sourceLocation)
        let context = try Scratch()
        defer { context.remove() }
        let copied = try Tool.run(["cp", "-a", "\(ImageFolder.path(image))/.", context.path])
        try #require(copied.succeeded, "\(copied)", sourceLocation: sourceLocation)
        // setup.sh: install -m 0755 the stripped static binary as images/NAME/ftinit.
        let ftinit = try Tool.run(["install", "-m", "0755", try FTInitBinary.require(sourceLocation: sourceLocation), context.file("ftinit")])
        try #require(ftinit.succeeded, "\(ftinit)", sourceLocation: sourceLocation)
        let result = try DockerHost.run(["build", "-q", "-t", tag] + arguments + [context.path], timeout: .seconds(300),
                                        sourceLocation: sourceLocation)
        try #require(result.succeeded, "docker build of images/\(image) failed\n\(result)", sourceLocation: sourceLocation)
        built.withLock { _ = $0.insert(image) }
        return tag
    }
}

extension Container {
    /// Starts `tag` detached as `name` (replacing a leftover), with `environment` as the
    /// Deployment's env and Secrets give it, and `extra` docker run options.
    static func start(_ name: String, tag: String, environment: [String: String], extra: [String] = [],
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> Container {
        _ = try? DockerHost.run(["rm", "-f", name])
        let variables = environment.sorted { $0.key < $1.key }.flatMap { ["-e", "\($0.key)=\($0.value)"] }
        let started = try DockerHost.run(["run", "-d", "--name", name] + extra + variables + [tag], sourceLocation: sourceLocation)
        try #require(started.succeeded, "\(started)", sourceLocation: sourceLocation)
        return Container(name: name)
    }

    /// `argv` run on this machine inside the container's network namespace (its loopback and
    /// ports), as a client next to it would: the host's curl, ssh, openssl.
    func inNetwork(_ argv: [String], timeout: Duration = .seconds(30)) throws -> ToolResult {
        let pid = try DockerHost.inspect(name, "{{.State.Pid}}")
        return try Tool.run(["nsenter", "-t", pid, "-n", "--"] + argv, timeout: timeout)
    }

    /// `docker exec NAME ARGS...`.
    func exec(_ arguments: [String], timeout: Duration = .seconds(60)) throws -> ToolResult {
        try DockerHost.run(["exec", name] + arguments, timeout: timeout)
    }

    /// Waits until ftinit's readiness probe passes, as the Deployments' readinessProbe asks:
    /// every task done, every service running and healthy (liveness alone also passes while
    /// services wait or start).
    func waitHealthy(within limit: Duration, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let healthy = try DockerHost.eventually(limit) {
            try exec(["/sbin/ftinit", "probe", "--ready"]).succeeded
        }
        try #require(healthy, "not healthy within \(limit)\(report)", sourceLocation: sourceLocation)
    }

    /// The services ftinit started, by name, in start order.
    var serviceNames: [String] {
        var names: [String] = []
        for event in events("started") where event.fields["service"] != nil {
            if let name = event.subject, !names.contains(name) { names.append(name) }
        }
        return names
    }

    /// Each service in turn, in a container started again each time (`docker start`, as
    /// Kubernetes restarts a pod's container): healthy, then its daemon killed with SIGKILL;
    /// the container must end, non-zero, within 2 s. Leaves the container stopped.
    func expectEachKilledServiceEndsIt(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let names = serviceNames
        try #require(!names.isEmpty, "no service started\(report)", sourceLocation: sourceLocation)
        for name in names {
            if try DockerHost.inspect(self.name, "{{.State.Running}}") != "true" {
                try #require(try DockerHost.run(["start", self.name]).succeeded, sourceLocation: sourceLocation)
            }
            try waitHealthy(within: .seconds(60), sourceLocation: sourceLocation)
            let victim = try #require(self.pid(of: name), "no pid of \(name)\(report)", sourceLocation: sourceLocation)
            let killedAt = ContinuousClock.now
            _ = try exec(["kill", "-9", victim])
            let ended = try DockerHost.eventually(.seconds(5)) { try DockerHost.inspect(self.name, "{{.State.Running}}") == "false" }
            let elapsed = ContinuousClock.now - killedAt
            let code = try DockerHost.inspect(self.name, "{{.State.ExitCode}}")
            print("ContainerFaults: container=\(self.name) service=\(name) code=\(code) ended-within=\(elapsed) (polled)")
            #expect(ended && elapsed < .seconds(2), "killing \(name) left the container running for \(elapsed)\(report)",
                    sourceLocation: sourceLocation)
            #expect(code != "0", "killing \(name) ended the container with 0\(report)", sourceLocation: sourceLocation)
        }
    }
}
