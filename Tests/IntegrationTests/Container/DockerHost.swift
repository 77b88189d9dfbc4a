import Foundation
import Testing

/// The private dockerd the container tests use (started by `scripts/dockerd-private`, which
/// `make test` and `make container-test` run): never the system's socket.
enum DockerHost {
    static let socket = (ProcessInfo.processInfo.environment["FTINIT_DOCKER_DIR"] ?? "/tmp/ftinit-docker") + "/docker.sock"

    /// Why the daemon cannot be used, or nil when `docker version` answers on its socket.
    static let whyUnavailable: String? = {
        guard Prerequisites.which("docker") != nil else { return "docker (docker.io) is not installed" }
        guard let answer = try? Tool.run(["docker", "-H", "unix://\(socket)", "version"], timeout: .seconds(20)) else {
            return "docker version did not run"
        }
        return answer.succeeded ? nil : "no dockerd answers on \(socket): run scripts/dockerd-private start (\(answer.stderr.prefix(200)))"
    }()

    /// `docker -H SOCKET ARGS...`.
    @discardableResult
    static func run(_ arguments: [String], timeout: Duration = .seconds(60),
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> ToolResult {
        try Tool.run(["docker", "-H", "unix://\(socket)"] + arguments, timeout: timeout, sourceLocation: sourceLocation)
    }

    /// `docker inspect -f FORMAT CONTAINER`, trimmed.
    static func inspect(_ container: String, _ format: String) throws -> String {
        try run(["inspect", "-f", format, container]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Polls `condition` every 100 ms (each look runs docker) for at most `limit`; whether it held.
    static func eventually(_ limit: Duration, _ condition: () throws -> Bool) rethrows -> Bool {
        try Poll.until(timeout: limit, interval: .milliseconds(100), condition)
    }
}

/// A `FROM scratch` image holding the ftinit under test (at /sbin/ftinit, as in the real
/// images), Debian's static busybox and an `ftinit.conf`: built from local files only (no
/// registry here).
struct TestImage {
    let tag: String

    /// Builds `tag` with `config` as /etc/ftinit.conf, `files` (by name) in /etc and an
    /// optional HEALTHCHECK.
    static func build(_ tag: String, config: String, healthcheck: String? = nil, files: [String: String] = [:],
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> TestImage {
        let context = try Scratch()
        defer { context.remove() }
        let bin = context.file("bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try FTInitBinary.require(sourceLocation: sourceLocation), toPath: context.file("ftinit"))
        let busybox = try #require(Prerequisites.which("busybox"), "busybox-static is not installed", sourceLocation: sourceLocation)
        try FileManager.default.copyItem(atPath: busybox, toPath: "\(bin)/busybox")
        for applet in ["sh", "httpd", "nc", "sleep", "kill", "cat", "ps", "ls", "true"] {
            try FileManager.default.createSymbolicLink(atPath: "\(bin)/\(applet)", withDestinationPath: "busybox")
        }
        try FileManager.default.createDirectory(atPath: context.file("www"), withIntermediateDirectories: true)
        _ = try context.write("www/index.html", "ftinit in a container\n")
        _ = try context.write("ftinit.conf", config)
        try FileManager.default.createDirectory(atPath: context.file("etc"), withIntermediateDirectories: true)
        for (path, text) in files { _ = try context.write("etc/\(path)", text) }
        _ = try context.write("Dockerfile", """
            FROM scratch
            COPY bin /bin
            COPY www /www
            COPY etc /etc
            COPY ftinit.conf /etc/ftinit.conf
            COPY ftinit /sbin/ftinit
            \(healthcheck.map { "HEALTHCHECK \($0)" } ?? "")
            ENTRYPOINT ["/sbin/ftinit"]

            """)
        let built = try DockerHost.run(["build", "-q", "-t", tag, context.path], timeout: .seconds(120), sourceLocation: sourceLocation)
        try #require(built.succeeded, "docker build failed\n\(built)", sourceLocation: sourceLocation)
        return TestImage(tag: tag)
    }

    /// Starts a container of this image, detached, the way the kubelet would: read-only root,
    /// tmpfs for the `writable` paths, every capability dropped; `network` none (loopback
    /// only) unless a test needs the host's.
    func run(_ name: String, _ extra: [String] = [], writable: [String] = ["/run", "/tmp"], network: String = "none",
             sourceLocation: SourceLocation = #_sourceLocation) throws -> Container {
        _ = try? DockerHost.run(["rm", "-f", name])
        let tmpfs = writable.flatMap { ["--tmpfs", $0] }
        let started = try DockerHost.run(["run", "-d", "--name", name, "--network", network, "--read-only", "--cap-drop", "ALL"]
                                         + tmpfs + extra + [tag], sourceLocation: sourceLocation)
        try #require(started.succeeded, "docker run failed\n\(started)", sourceLocation: sourceLocation)
        return Container(name: name)
    }
}

/// A running test container; `remove` it when done.
struct Container {
    let name: String

    /// ftinit's own lines (its stderr).
    var logs: String { (try? DockerHost.run(["logs", name]))?.stderr ?? "" }
    /// What the services wrote on stdout, prefixed by ftinit.
    var serviceOutput: String { (try? DockerHost.run(["logs", name]))?.stdout ?? "" }
    var report: String { "\n── docker logs \(name):\n\(logs)" }

    /// ftinit's log lines `name` (for `subject`), in order.
    /// ftinit's log lines `name` (every one without a name), in the order written.
    func events(_ name: String? = nil, subject: String? = nil) -> [LogEvent] {
        logs.split(separator: "\n").compactMap { LogEvent.parse(String($0), time: .now) }
            .filter { (name == nil || $0.event == name) && (subject == nil || $0.subject == subject) }
    }

    /// The pid (in the container) ftinit logged when it last started `service`.
    func pid(of service: String) -> String? { events("started", subject: service).last?["pid"] }

    func remove() { _ = try? DockerHost.run(["rm", "-f", "-v", name]) }  // -v: its anonymous volumes, never named ones
}
