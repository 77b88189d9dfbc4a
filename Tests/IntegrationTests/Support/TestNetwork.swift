import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A network namespace of the test's own, with nothing but its loopback: the daemons of a test
/// listen there on their real ports without meeting the host's. It lives as long as a holder
/// process (`unshare --net`, which ends with the test process), so nothing is registered on the
/// host (no `ip netns add`, no /run/netns or /etc/netns entry). Commands join it with
/// `nsenter` (`prefix`); ftinit (`FTInit.launch(network:)`) also gets `mounts`, its own
/// /etc/hosts naming every service 127.0.0.1 as the cluster's DNS would, and an
/// /etc/resolv.conf whose only server is the namespace's own 127.0.0.1:53.
final class TestNetwork: Sendable {
    static let serviceNames = ["mysql", "influxdb", "phpmyadmin", "wordpress", "nginx", "ftps", "grafana"]

    private let holder: SpawnedProcess
    private let files: Scratch

    /// Holds the namespace: brings its loopback up, then waits for its parent (the test) to go.
    private static let holderScript = """
        import os, subprocess, time
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        parent = os.getppid()
        print("listening", flush=True)
        while os.getppid() == parent:
            time.sleep(1)
        """

    init(sourceLocation: SourceLocation = #_sourceLocation) throws {
        try Prerequisites.require([.root, .tools(["ip", "unshare", "nsenter", "mount", "python3"])], sourceLocation: sourceLocation)
        files = try Scratch()
        try "127.0.0.1 localhost \(Self.serviceNames.joined(separator: " "))\n::1 localhost\n"
            .write(toFile: files.file("hosts"), atomically: true, encoding: .utf8)
        try "nameserver 127.0.0.1\noptions timeout:5 attempts:1\n".write(toFile: files.file("resolv.conf"), atomically: true, encoding: .utf8)
        let unshare = try #require(Prerequisites.which("unshare"), sourceLocation: sourceLocation)
        holder = try SpawnedProcess.pythonServer(Self.holderScript, [], prefix: [unshare, "--net"], name: "network namespace holder",
                                                 sourceLocation: sourceLocation)
    }

    /// Runs what follows it inside the namespace (`unshare` execs python: the holder's pid is the namespace's).
    var prefix: [String] { [Prerequisites.which("nsenter") ?? "nsenter", "--net=/proc/\(holder.pid)/ns/net"] }

    /// Files laid over the host's inside ftinit's own mount namespace.
    var mounts: [String: String] { [files.file("hosts"): "/etc/hosts", files.file("resolv.conf"): "/etc/resolv.conf"] }

    /// Runs a client (curl ...) inside the namespace.
    func run(_ argv: [String], environment: [String: String] = [:], timeout: Duration = .seconds(30),
             sourceLocation: SourceLocation = #_sourceLocation) throws -> ToolResult {
        try Tool.run(prefix + argv, environment: environment, timeout: timeout, sourceLocation: sourceLocation)
    }

    /// A veth pair between the host and the namespace, 10.254.N.1/30 on the host's end and
    /// 10.254.N.2/30 in the namespace: an interface other than lo (the metrics tests need one,
    /// as `net_*_bytes` leave lo out). The namespace's end goes with it, and the host's with that.
    @discardableResult
    func addLink(sourceLocation: SourceLocation = #_sourceLocation) throws -> (hostAddress: String, namespaceAddress: String) {
        let link = "ftm\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        let subnet = "10.254.\(Int.random(in: 0...255))"
        for step in [["ip", "link", "add", "\(link)a", "type", "veth", "peer", "name", "\(link)b", "netns", "\(holder.pid)"],
                     ["ip", "addr", "add", "\(subnet).1/30", "dev", "\(link)a"], ["ip", "link", "set", "\(link)a", "up"],
                     prefix + ["ip", "addr", "add", "\(subnet).2/30", "dev", "\(link)b"], prefix + ["ip", "link", "set", "\(link)b", "up"]] {
            let result = try Tool.run(step, sourceLocation: sourceLocation)
            try #require(result.succeeded, "\(result)", sourceLocation: sourceLocation)
        }
        return ("\(subnet).1", "\(subnet).2")
    }

    func remove() {
        holder.killAndWait()
        files.remove()
    }
}
