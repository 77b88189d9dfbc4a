import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A private network namespace for one image test: its own loopback, where every daemon
/// listens on its real port, and an /etc/hosts (`ip netns exec` mounts /etc/netns/NAME/hosts)
/// naming every service 127.0.0.1, as the cluster's DNS would.
final class ImageNetwork: Sendable {
    let name: String
    static let serviceNames = ["mysql", "influxdb", "phpmyadmin", "wordpress", "nginx", "ftps", "grafana"]

    init(sourceLocation: SourceLocation = #_sourceLocation) throws {
        try Prerequisites.require([.root, .pidNamespaces, .tools(["ip", "unshare"])], sourceLocation: sourceLocation)
        name = "ft-it-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let hostsDirectory = "/etc/netns/\(name)"
        try FileManager.default.createDirectory(atPath: hostsDirectory, withIntermediateDirectories: true)
        try "127.0.0.1 localhost \(Self.serviceNames.joined(separator: " "))\n::1 localhost\n"
            .write(toFile: "\(hostsDirectory)/hosts", atomically: true, encoding: .utf8)
        for step in [["ip", "netns", "add", name], ["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"]] {
            let result = try Tool.run(step, sourceLocation: sourceLocation)
            try #require(result.succeeded, "\(result)", sourceLocation: sourceLocation)
        }
    }

    /// Runs a client (curl, mariadb, sshpass ...) inside the namespace.
    func run(_ argv: [String], environment: [String: String] = [:], timeout: Duration = .seconds(30),
             sourceLocation: SourceLocation = #_sourceLocation) throws -> ToolResult {
        try Tool.run(["ip", "netns", "exec", name] + argv, environment: environment, timeout: timeout, sourceLocation: sourceLocation)
    }

    /// A veth pair between the host and the namespace, 10.254.N.1/30 on the host's end and
    /// 10.254.N.2/30 in the namespace: an interface other than lo (the metrics tests need one,
    /// as `net_*_bytes` leave lo out). Deleting the namespace deletes both ends.
    @discardableResult
    func addLink(sourceLocation: SourceLocation = #_sourceLocation) throws -> (hostAddress: String, namespaceAddress: String) {
        let link = "ftm\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        let subnet = "10.254.\(Int.random(in: 0...255))"
        let inside = ["ip", "netns", "exec", name]
        for step in [["ip", "link", "add", "\(link)a", "type", "veth", "peer", "name", "\(link)b", "netns", name],
                     ["ip", "addr", "add", "\(subnet).1/30", "dev", "\(link)a"], ["ip", "link", "set", "\(link)a", "up"],
                     inside + ["ip", "addr", "add", "\(subnet).2/30", "dev", "\(link)b"], inside + ["ip", "link", "set", "\(link)b", "up"]] {
            let result = try Tool.run(step, sourceLocation: sourceLocation)
            try #require(result.succeeded, "\(result)", sourceLocation: sourceLocation)
        }
        return ("\(subnet).1", "\(subnet).2")
    }

    func remove() {
        _ = try? Tool.run(["ip", "netns", "delete", name])
        try? FileManager.default.removeItem(atPath: "/etc/netns/\(name)")
    }
}

/// One image's own ftinit.conf, templates and scripts, run by the real ftinit with Debian's
/// daemons: the Alpine defaults are replaced only by the values in `images/NAME/debian.env`,
/// plus `FT_ROOT` (a scratch directory), `FT_FILES` (the image folder) and the test's secrets.
enum ImageUnderTest {
    static func folder(_ image: String) -> String {
        FTInitBinary.packageRoot.appendingPathComponent("images/\(image)").path
    }

    /// `KEY=VALUE` lines of `images/NAME/debian.env` (blank lines and `#` comments skipped).
    static func debianEnvironment(_ image: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: String] {
        let text = try String(contentsOfFile: "\(folder(image))/debian.env", encoding: .utf8)
        var environment: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            environment[String(line[..<eq]).trimmingCharacters(in: .whitespaces)] = String(line[line.index(after: eq)...])
        }
        return environment
    }

    /// The InfluxDB writer account every image's `[metrics]` needs (the influxdb image creates it).
    static let metricsAccount = ["INFLUXDB_METRICS_USER": "metrics", "INFLUXDB_METRICS_PASSWORD": "w'r\"ite$r\\"]

    /// Starts `image` as PID 1 of its own PID namespace inside `network`. `bindMounts`
    /// (`[source: target]`) lays files or directories over this machine's inside that
    /// namespace only (see `FTInit.launch`), e.g. an image's own /etc/pam.d service.
    static func launch(
        _ image: String, network: ImageNetwork, root: Scratch, environment: [String: String],
        bindMounts: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> FTInit {
        var env = try debianEnvironment(image, sourceLocation: sourceLocation)
        // The image's files where the image has them (FT_ROOT/etc/ftinit): a task running as a
        // service user reads its script there, whatever the modes of the checkout's parents
        // (a clone in a 0700 directory, as `mktemp -d` makes).
        let files = root.file("etc/ftinit")
        if !FileManager.default.fileExists(atPath: files) {
            try FileManager.default.createDirectory(atPath: root.file("etc"), withIntermediateDirectories: true)
            let copied = try Tool.run(["cp", "-a", folder(image), files])
            try #require(copied.succeeded, "\(copied)", sourceLocation: sourceLocation)
        }
        env["FT_ROOT"] = root.path
        env["FT_FILES"] = files
        env.merge(metricsAccount) { _, new in new }
        env.merge(environment) { _, new in new }
        return try FTInit.launch(["run", "--config", "\(files)/ftinit.conf"], environment: env,
                                 directory: root.path, bindMounts: bindMounts, network: network.name,
                                 sourceLocation: sourceLocation)
    }

    /// `launch`, then waits until every service is healthy; stops it when they are not.
    static func boot(
        _ image: String, network: ImageNetwork, root: Scratch, environment: [String: String],
        bindMounts: [String: String] = [:], healthyWithin limit: Duration = .seconds(60),
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> FTInit {
        let ftinit = try launch(image, network: network, root: root, environment: environment, bindMounts: bindMounts,
                                sourceLocation: sourceLocation)
        do {
            try ftinit.waitUntilHealthy(timeout: limit, sourceLocation: sourceLocation)
        } catch {
            ftinit.stop()
            throw error
        }
        return ftinit
    }
}

extension FTInit {
    /// Waits until `ftinit probe` says every service is healthy (not merely starting).
    func waitUntilHealthy(timeout: Duration, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let deadline = ContinuousClock.now + timeout
        var last: ToolResult?
        while ContinuousClock.now < deadline {
            if process.ended != nil { break }
            let probe = try Tool.probe(socketPath, sourceLocation: sourceLocation)
            last = probe
            if probe.succeeded, !probe.stdout.contains("starting"), !probe.stdout.contains("waiting") { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
        Issue.record("not healthy within \(timeout): \(last.map(\.description) ?? "no probe ran")\(report)", sourceLocation: sourceLocation)
        throw ImageTestFailure.notHealthy
    }

    /// The services (not tasks) this ftinit started, by name, with their host pids.
    func startedServices() -> [(name: String, pid: pid_t)] {
        events("started").compactMap { event in
            guard let name = event.fields["service"], let logged = event.pid, let pid = hostPid(ofLoggedPid: logged) else { return nil }
            return (name, pid)
        }
    }
}

enum ImageTestFailure: Error { case notHealthy }

enum ImageFaults {
    /// "Containers restart when a component dies": for each service of the image, a fresh
    /// boot, SIGKILL to that service's main process once healthy, and ftinit must exit
    /// non-zero within 2 s.
    static func expectEachKilledServiceEndsTheImage(
        _ image: String, network: ImageNetwork, environment: [String: String],
        prepare: (Scratch) throws -> Void = { _ in }, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let root = try Scratch()
        defer { root.remove() }
        try prepare(root)
        var names: [String] = []
        var round = 0
        repeat {
            let ftinit = try ImageUnderTest.launch(image, network: network, root: root, environment: environment, sourceLocation: sourceLocation)
            defer { ftinit.stop() }
            try ftinit.waitUntilHealthy(timeout: .seconds(90), sourceLocation: sourceLocation)
            let services = ftinit.startedServices()
            if names.isEmpty { names = services.map(\.name) }
            let victim = try #require(services.first { $0.name == names[round] }, "\(names[round]) did not start\(ftinit.report)",
                                      sourceLocation: sourceLocation)
            let killedAt = ContinuousClock.now
            kill(victim.pid, SIGKILL)
            let code = try ftinit.exitCode(timeout: .seconds(25), sourceLocation: sourceLocation)
            let elapsed = try #require(ftinit.exitTime, sourceLocation: sourceLocation) - killedAt
            // One line per daemon, for the kill -9 table of docs/faults.md.
            print("ImageFaults: image=\(image) service=\(victim.name) code=\(code) exit-after=\(elapsed)")
            #expect(code != 0, "\(image): killing \(victim.name) made ftinit exit 0\(ftinit.report)", sourceLocation: sourceLocation)
            #expect(elapsed < .seconds(2), "\(image): ftinit took \(elapsed) to exit after \(victim.name) was killed\(ftinit.report)",
                    sourceLocation: sourceLocation)
            round += 1
        } while round < names.count
    }
}
