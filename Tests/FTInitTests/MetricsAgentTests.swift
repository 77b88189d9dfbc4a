import Foundation
import Glibc
import Testing
@testable import FTInit

/// The push as InfluxDB receives it: a real event loop, a listener on 127.0.0.1 standing in
/// for InfluxDB's /write, and the name lookup in a child.
@Suite struct MetricsAgentTests {
    typealias LocalPort = NetworkCheckTests.LocalPort

    static func spec(port: UInt16) -> MetricsSpec {
        var spec = MetricsSpec(line: 1)
        spec.target = HTTPTarget(url: "http://127.0.0.1:\(port)/prefix/")
        spec.database = "ft db"
        spec.username = "u"
        spec.password = "p:w"
        spec.service = "web"
        spec.container = "c1"
        spec.tags = [MetricsTag(key: "env", value: "test")]
        spec.interval = .seconds(1)
        spec.timeout = .seconds(1)
        return spec
    }

    nonisolated(unsafe) static let service = StatusReport.Program(
        kind: "service", name: "nginx", state: "running", pid: getpid(), health: "healthy",
        uptime: TimeSpan(milliseconds: 3250), check: "tcp 127.0.0.1:80", result: "ok", latency: TimeSpan(milliseconds: 4))

    /// An agent pushing to `port` on a fresh loop; `stop` it when done.
    static func agent(_ spec: MetricsSpec, _ loop: EventLoop) -> MetricsAgent {
        MetricsAgent(spec: spec, target: spec.target!, services: ["nginx"], loop: loop, register: { _, _ in },
                     snapshot: { [service] })
    }

    /// The request body, one point per line.
    static func body(_ request: String) -> [Substring] {
        guard let end = request.range(of: "\r\n\r\n") else { return [] }
        return request[end.upperBound...].split(separator: "\n")
    }

    @Test func pushesOneBatchToWriteWithAuthAndTheDocumentedPoints() throws {
        let listener = try LocalPort(listening: true)
        let served = NetworkCheckTests.serveOnce(listener, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        let loop = try EventLoop()
        let agent = Self.agent(Self.spec(port: listener.port), loop)
        agent.start()
        defer { agent.stop() }
        try withSIGPIPEBlocked { try drive(loop, for: .seconds(4)) { served.isSet } }
        let request = try #require(served.value)

        let head = request.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
        #expect(head[0] == "POST /prefix/write?db=ft%20db&precision=ms HTTP/1.1")
        #expect(head.contains("Host: 127.0.0.1:\(listener.port)"))
        #expect(head.contains("Authorization: Basic dTpwOnc="))  // base64("u:p:w")
        let body = request.components(separatedBy: "\r\n\r\n")[1]
        #expect(head.contains("Content-Length: \(body.utf8.count)"))

        let points = Self.body(request)
        let process = try #require(points.first { $0.hasPrefix("ftinit_process,") }, "\(points)")
        #expect(process.hasPrefix("ftinit_process,service=web,container=c1,env=test,process=nginx "
            + "state=\"healthy\",healthy=1i,check_latency_ms=4.0,pid=\(getpid())i,uptime_seconds=3.25,cpu_seconds="))
        #expect(points.contains { $0.hasPrefix("ftinit_container,service=web,container=c1,env=test ") })
        #expect(points.contains { $0.hasPrefix("ftinit_self,service=web,container=c1,env=test rss_bytes=") })
        // Timestamps are wall-clock milliseconds, as the precision parameter says.
        let stamp = try #require(Int64(process.split(separator: " ").last ?? ""))
        #expect(abs(stamp - Int64(Date().timeIntervalSince1970 * 1000)) < 10_000)
    }

    @Test func aFailedPushIsSentAgainWithTheNextSample() throws {
        let listener = try LocalPort(listening: true)
        let loop = try EventLoop()
        let agent = Self.agent(Self.spec(port: listener.port), loop)
        agent.start()
        defer { agent.stop() }
        let first = NetworkCheckTests.serveOnce(listener, "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n")
        try withSIGPIPEBlocked { try drive(loop, for: .seconds(4)) { first.isSet } }
        let second = NetworkCheckTests.serveOnce(listener, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        try withSIGPIPEBlocked { try drive(loop, for: .seconds(4)) { second.isSet } }

        let firstSelf = Self.body(try #require(first.value)).filter { $0.hasPrefix("ftinit_self,") }
        let secondSelf = Self.body(try #require(second.value)).filter { $0.hasPrefix("ftinit_self,") }
        #expect(firstSelf.count == 1)
        #expect(secondSelf.count == 2, "the first sample again, then the new one")
        #expect(secondSelf.first == firstSelf.first)
        #expect(secondSelf.last?.contains("push_failures=1i") == true)
    }

    @Test func aNameIsResolvedInAChildThatIsThenReaped() throws {
        let loop = try EventLoop()
        var result: Result<SocketAddress, SystemError>?
        var child: pid_t?
        let resolver = NameResolver(host: "localhost", port: 8086, loop: loop, register: { pid, _ in child = pid }) { result = $0 }
        resolver.start()
        try drive(loop, for: .seconds(5)) { result != nil }
        let pid = try #require(child)
        #expect(pid != getpid())
        var status: Int32 = 0
        #expect(waitpid(pid, &status, 0) == pid)
        let address = try #require(try? result?.get(), "\(String(describing: result))")
        #expect(address.family == AF_INET || address.family == AF_INET6)
        #expect(address.description == "localhost:8086")
    }

    @Test func anUnknownNameFailsWithTheResolversReason() throws {
        let loop = try EventLoop()
        var result: Result<SocketAddress, SystemError>?
        var child: pid_t?
        let resolver = NameResolver(host: "nowhere.invalid", port: 80, loop: loop, register: { pid, _ in child = pid }) { result = $0 }
        resolver.start()
        try drive(loop, for: .seconds(10)) { result != nil }
        if let child { waitpid(child, nil, 0) }
        guard case .failure(let error)? = result else { Issue.record("resolved: \(String(describing: result))"); return }
        #expect(error.description.hasPrefix("unable to resolve nowhere.invalid: "))
    }

    @Test(arguments: [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
                      ("admin:s3cr\u{e9}t", "YWRtaW46czNjcsOpdA==")])
    func base64AsRFC4648(text: String, encoded: String) {
        #expect(base64(Array(text.utf8)) == encoded)
    }

    @Test func queryValuesArePercentEncoded() {
        #expect(percentEncoded("ft_services-1.x~") == "ft_services-1.x~")
        #expect(percentEncoded("a b&c=d/é") == "a%20b%26c%3Dd%2F%C3%A9")
    }
}
