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
        _ = try withSIGPIPEBlocked { try drive(loop, for: .seconds(4)) { served.isSet } }
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
        _ = try withSIGPIPEBlocked { try drive(loop, for: .seconds(4)) { first.isSet } }
        let second = NetworkCheckTests.serveOnce(listener, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        _ = try withSIGPIPEBlocked { try drive(loop, for: .seconds(4)) { second.isSet } }

        let firstSelf = Self.body(try #require(first.value)).filter { $0.hasPrefix("ftinit_self,") }
        let secondSelf = Self.body(try #require(second.value)).filter { $0.hasPrefix("ftinit_self,") }
        #expect(firstSelf.count == 1)
        #expect(secondSelf.count == 2, "the first sample again, then the new one")
        #expect(secondSelf.first == firstSelf.first)
        #expect(secondSelf.last?.contains("push_failures=1i") == true)
    }

    /// Runs `work` as `ChildWork` on a fresh loop; its answer, once the child has been reaped.
    static func inChild(_ work: @escaping () -> [UInt8], limit: TimeSpan = .seconds(10)) throws -> Result<[UInt8], SystemError>? {
        let loop = try EventLoop()
        var answer: Result<[UInt8], SystemError>?
        var child: pid_t?
        let task = ChildWork("test", loop: loop, register: { pid, _ in child = pid }, work: work) { answer = $0 }
        task.start()
        try drive(loop, for: limit) { answer != nil }
        let pid = try #require(child)
        #expect(pid != getpid())
        #expect(waitpid(pid, nil, 0) == pid, "the child exits once it has answered")
        return answer
    }

    @Test func aNameIsResolvedInAChild() throws {
        let answer = try #require(try Self.inChild(NameLookup.work(host: "localhost", port: 8086)))
        let address = try NameLookup.decode(answer, host: "localhost", port: 8086).get()
        #expect(address.family == AF_INET || address.family == AF_INET6)
        #expect(address.description == "localhost:8086")
    }

    @Test func anUnknownNameFailsWithTheResolversReason() throws {
        let answer = try #require(try Self.inChild(NameLookup.work(host: "nowhere.invalid", port: 80)))
        guard case .failure(let error) = NameLookup.decode(answer, host: "nowhere.invalid", port: 80) else {
            Issue.record("resolved: \(answer)")
            return
        }
        #expect(error.description.hasPrefix("unable to resolve nowhere.invalid: "))
    }

    @Test func aChildThatDiesWithoutAnswerIsAFailedLookup() throws {
        let answer = try #require(try Self.inChild({ kill(getpid(), SIGKILL); return [] }))
        #expect((try? answer.get()) == [])
        guard case .failure(let error) = NameLookup.decode(answer, host: "h", port: 1) else { Issue.record("\(answer)"); return }
        #expect(error.description == "unable to resolve h: the lookup ended without an answer")
    }

    @Test func diskPathsAreWalkedInAChild() throws {
        let directory = try TemporaryDirectory()
        try Data(repeating: 1, count: 300_000).write(to: URL(fileURLWithPath: directory.file("data")))
        let paths = [directory.path, directory.file("missing")]
        let answer = try #require(try Self.inChild(DiskUsage.work(paths)))
        let used = try #require(DiskUsage.decode(try answer.get(), paths: paths))
        #expect((used[directory.path] ?? 0) >= 300_000)
        #expect(used[directory.file("missing")] == nil)
        #expect(DiskUsage.decode([1, 2, 3], paths: paths) == nil)
    }

    @Test(arguments: [
        (#"{"error":"partial write: field type conflict: input field \"pid\" is type float, already exists as type integer dropped=3"}"#, 3),
        (#"{"error":"unable to parse 'x': missing fields"}"#, nil),
    ] as [(String, Int?)])
    func aPartialWriteSaysHowManyPointsWereRefused(answer: String, count: Int?) {
        #expect(refusedCount(answer) == count)
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
