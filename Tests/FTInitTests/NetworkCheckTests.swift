import Foundation
import Glibc
import Testing
@testable import FTInit

/// `check = tcp HOST:PORT` and `check = http URL` against listeners on 127.0.0.1, each attempt
/// driven by a real event loop (docs/ftinit.md, "Health checks").
@Suite struct NetworkCheckTests {
    /// A TCP socket bound to a free port of 127.0.0.1, listening or not.
    final class LocalPort {
        let fd: Int32
        let port: UInt16

        init(listening: Bool) throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
            address.sin_port = 0
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0, !listening || listen(fd, 16) == 0 else {
                let error = SystemError("bind and listen on 127.0.0.1:0")
                close(fd)
                throw error
            }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            self.fd = fd
            port = UInt16(bigEndian: address.sin_port)
        }

        deinit { close(fd) }

        var address: SocketAddress { try! SocketAddress.resolve(host: "127.0.0.1", port: port).get() }
    }

    /// Serves one connection of `listener` from another thread: reads the request up to its
    /// blank line and its Content-Length of body (unless `readRequest` is false), writes
    /// `response`, closes. The request arrives in the handoff.
    static func serveOnce(_ listener: LocalPort, _ response: String, readRequest: Bool = true) -> Handoff<String> {
        let fd = listener.fd
        return inBackground {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 5000) > 0 else { return "no connection" }
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return "accept failed" }
            defer { close(client) }
            var request: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while readRequest && !isComplete(String(decoding: request, as: UTF8.self)) {
                var pfd = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, 3000) > 0 else { break }
                let n = read(client, &buffer, buffer.count)
                if n <= 0 { break }
                request += buffer[..<n]
            }
            let bytes = Array(response.utf8)
            _ = write(client, bytes, bytes.count)
            return String(decoding: request, as: UTF8.self)
        }
    }

    /// Whether `request` holds its headers and as much body as its Content-Length says.
    static func isComplete(_ request: String) -> Bool {
        guard let end = request.range(of: "\r\n\r\n") else { return false }
        let length = request[..<end.lowerBound].split(separator: "\r\n")
            .first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        return request.utf8.count - request[..<end.upperBound].utf8.count >= length
    }

    /// Runs one attempt on a fresh event loop until it reports (at most `limit`).
    static func attempt(limit: TimeSpan = .seconds(5),
                        _ make: (EventLoop, @escaping (CheckResult) -> Void) -> CheckAttempt) throws -> CheckResult? {
        let loop = try EventLoop()
        var result: CheckResult?
        let attempt = make(loop) { result = $0 }
        // ftinit blocks SIGPIPE; a TLS alert sent to a peer that reset the connection must
        // fail the attempt, not kill the process.
        try withSIGPIPEBlocked {
            attempt.start()
            try drive(loop, for: limit) { result != nil }
        }
        attempt.cancel()
        return result
    }

    static func tcp(_ address: SocketAddress) throws -> CheckResult? {
        try attempt { TCPCheckAttempt(address: address, loop: $0, completion: $1) }
    }

    static func http(_ address: SocketAddress, _ url: String) throws -> CheckResult? {
        let target = try #require(HTTPTarget(url: url))
        return try attempt { HTTPCheckAttempt(address: address, target: target, loop: $0, completion: $1) }
    }

    static func failure(_ result: CheckResult?) -> String? {
        if case .failed(let message)? = result { return message }
        return nil
    }

    // MARK: tcp

    @Test func tcpPassesWhenAConnectionIsAccepted() throws {
        let listener = try LocalPort(listening: true)
        #expect(try Self.tcp(listener.address) == .passed)
    }

    @Test func tcpFailsWithConnectionRefusedOnAClosedPort() throws {
        let closed = try LocalPort(listening: false)  // bound, so no one else takes the port
        let message = try #require(Self.failure(try Self.tcp(closed.address)))
        #expect(message.hasSuffix("connect to 127.0.0.1:\(closed.port): Connection refused"), "\(message)")
    }

    @Test func tcpNamesTheAddressItTried() throws {
        let closed = try LocalPort(listening: false)
        #expect(closed.address.description == "127.0.0.1:\(closed.port)")
    }

    static func tcp(_ address: SocketAddress, expect: String, limit: TimeSpan = .seconds(5)) throws -> CheckResult? {
        try attempt(limit: limit) { TCPCheckAttempt(address: address, expect: expect, loop: $0, completion: $1) }
    }

    @Test func tcpExpectPassesOnTheGreetingsStart() throws {
        let listener = try LocalPort(listening: true)
        let served = Self.serveOnce(listener, "220 (vsFTPd 3.0.5)\r\n", readRequest: false)
        #expect(try Self.tcp(listener.address, expect: "220") == .passed)
        wait(for: .seconds(5)) { served.isSet }
    }

    @Test func tcpExpectFailsWithWhatWasReceivedWhenTheGreetingDiffers() throws {
        let listener = try LocalPort(listening: true)
        let served = Self.serveOnce(listener, "500 \u{1}nope\r\n", readRequest: false)
        let message = try #require(Self.failure(try Self.tcp(listener.address, expect: "SSH-2.0-")))
        // As much as arrived of the expected length, at least the first byte that differs.
        #expect(message.hasPrefix("127.0.0.1:\(listener.port) sent \"5") && message.hasSuffix("\", expected \"SSH-2.0-\""), "\(message)")
        wait(for: .seconds(5)) { served.isSet }
    }

    @Test func tcpExpectFailsWhenTheServerClosesBeforeItsGreeting() throws {
        let listener = try LocalPort(listening: true)
        let served = Self.serveOnce(listener, "SSH-2", readRequest: false)
        let message = try #require(Self.failure(try Self.tcp(listener.address, expect: "SSH-2.0-")))
        #expect(message == "127.0.0.1:\(listener.port) sent \"SSH-2\" and closed, expected \"SSH-2.0-\"", "\(message)")
        wait(for: .seconds(5)) { served.isSet }
    }

    /// A listener that never accepts: the kernel completes the handshake into its backlog, as
    /// for a frozen daemon. A plain tcp check passes; with `expect`, the attempt is still
    /// waiting when the limit comes (the check's timeout then fails it).
    @Test func tcpExpectWaitsForAGreetingThatAFrozenServerNeverSends() throws {
        let listener = try LocalPort(listening: true)
        #expect(try Self.tcp(listener.address) == .passed)
        #expect(try Self.tcp(listener.address, expect: "220", limit: TimeSpan(milliseconds: 500)) == nil)
    }

    @Test func receivedBytesAreShownQuotedAndShort() {
        #expect(TCPCheckAttempt.shown(Array("a\"\\\r\n\u{7}".utf8)) == #""a\"\\\r\n\x07""#)
        #expect(TCPCheckAttempt.shown(Array(repeating: UInt8(ascii: "x"), count: 70)) == "\"" + String(repeating: "x", count: 64) + "...\"")
    }

    // MARK: http

    @Test(arguments: [
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        "HTTP/1.1 301 Moved Permanently\r\nLocation: https://127.0.0.1/\r\n\r\n",
        "HTTP/1.1 302 Found\r\n\r\n",
        "HTTP/1.0 204 No Content\r\n\r\n",
        "HTTP/1.1 399 Whatever\r\n\r\n",
        "HTTP/1.1 200 OK\n\n",
        "HTTP/1.1 200",
    ])
    func httpPassesOnAStatusFrom200To399(response: String) throws {
        let listener = try LocalPort(listening: true)
        let served = Self.serveOnce(listener, response)
        #expect(try Self.http(listener.address, "http://127.0.0.1:\(listener.port)/") == .passed)
        wait(for: .seconds(5)) { served.isSet }
    }

    @Test(arguments: [
        ("HTTP/1.1 500 Internal Server Error\r\n\r\n", "HTTP status 500"),
        ("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n\r\n", "HTTP status 503"),
        ("HTTP/1.1 404 Not Found\r\n\r\n", "HTTP status 404"),
        ("HTTP/1.1 400 Bad Request\r\n\r\n", "HTTP status 400"),
        ("HTTP/1.1 199 Too Early\r\n\r\n", "HTTP status 199"),
        ("HTTP/1.1 100 Continue\r\n\r\n", "HTTP status 100"),
        ("SSH-2.0-OpenSSH_9.6\r\n", "not an HTTP response: SSH-2.0-OpenSSH_9.6"),
        ("220 (vsFTPd 3.0.5)\r\n", "not an HTTP response: 220 (vsFTPd 3.0.5)"),
        ("HTTP/1.1 OK 200\r\n\r\n", "not an HTTP response: HTTP/1.1 OK 200"),
        ("", "connection closed without a response"),
    ])
    func httpFailsOnAnythingElse(response: String, message: String) throws {
        let listener = try LocalPort(listening: true)
        let served = Self.serveOnce(listener, response)
        #expect(try Self.http(listener.address, "http://127.0.0.1:\(listener.port)/") == .failed(message))
        wait(for: .seconds(5)) { served.isSet }
    }

    @Test func httpSendsAGetForThePathWithTheHost() throws {
        let listener = try LocalPort(listening: true)
        let served = Self.serveOnce(listener, "HTTP/1.1 200 OK\r\n\r\n")
        #expect(try Self.http(listener.address, "http://127.0.0.1:\(listener.port)/healthz?full=1") == .passed)
        wait(for: .seconds(5)) { served.isSet }
        let request = try #require(served.value)
        let lines = request.components(separatedBy: "\r\n")
        #expect(lines.first == "GET /healthz?full=1 HTTP/1.1")
        #expect(lines.contains("Host: 127.0.0.1:\(listener.port)"))
        #expect(lines.contains("Connection: close"))
        #expect(request.hasSuffix("\r\n\r\n"))
    }

    @Test func httpAsksForSlashWhenTheURLHasNoPath() throws {
        let listener = try LocalPort(listening: true)
        let served = Self.serveOnce(listener, "HTTP/1.1 200 OK\r\n\r\n")
        #expect(try Self.http(listener.address, "http://127.0.0.1:\(listener.port)") == .passed)
        wait(for: .seconds(5)) { served.isSet }
        #expect(served.value?.hasPrefix("GET / HTTP/1.1\r\n") == true)
    }

    @Test func httpFailsWithConnectionRefusedOnAClosedPort() throws {
        let closed = try LocalPort(listening: false)
        let message = try #require(Self.failure(try Self.http(closed.address, "http://127.0.0.1:\(closed.port)/")))
        #expect(message.hasSuffix("connect to 127.0.0.1:\(closed.port): Connection refused"), "\(message)")
    }

    @Test func aSilentServerLeavesTheAttemptPendingUntilCancelled() throws {
        let listener = try LocalPort(listening: true)  // accepts in the kernel, never answers
        let target = try #require(HTTPTarget(url: "http://127.0.0.1:\(listener.port)/"))
        let result = try Self.attempt(limit: TimeSpan(milliseconds: 300)) {
            HTTPCheckAttempt(address: listener.address, target: target, loop: $0, completion: $1)
        }
        #expect(result == nil, "the monitor's timeout decides, not the attempt")
    }

    @Test func httpsAgainstAPlainHttpServerFailsTheHandshake() throws {
        let listener = try LocalPort(listening: true)
        let served = Self.serveOnce(listener, "HTTP/1.1 400 Bad Request\r\n\r\n", readRequest: false)
        let message = try #require(Self.failure(try Self.http(listener.address, "https://127.0.0.1:\(listener.port)/")))
        #expect(message.hasPrefix("TLS handshake with 127.0.0.1:\(listener.port) failed"), "\(message)")
        wait(for: .seconds(5)) { served.isSet }
    }

    // MARK: https against a real TLS server

    /// `openssl s_server -www` with a pair made by `TLSProvisioner`: self-signed, so this also
    /// shows the certificate is not verified.
    @Test(.enabled(if: opensslTool != nil, "needs the openssl command"))
    func httpsPassesAgainstASelfSignedServer() throws {
        let directory = try TemporaryDirectory()
        let spec = TLSSpec(cert: directory.file("cert.pem"), key: directory.file("key.pem"), names: ["localhost"], ips: ["127.0.0.1"], line: 0)
        _ = try TLSProvisioner.ensure(spec, owner: nil)
        let port = try LocalPort(listening: false).port  // free now; s_server takes it
        let server = Process()
        server.executableURL = URL(fileURLWithPath: try #require(opensslTool))
        server.arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", spec.cert, "-key", spec.key, "-www", "-quiet"]
        server.standardInput = FileHandle.nullDevice
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        // SIGKILL: a child of a test thread inherits its blocked signals, SIGTERM included.
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        let address = try SocketAddress.resolve(host: "127.0.0.1", port: port).get()
        // Wait for it to listen.
        let start = Instant.now()
        var up = false
        while !up && milliseconds(since: start) < 5000 {
            up = try Self.tcp(address) == .passed
            if !up { usleep(50_000) }
        }
        try #require(up, "openssl s_server did not start")
        #expect(try Self.http(address, "https://127.0.0.1:\(port)/") == .passed)
        #expect(try Self.http(address, "https://localhost:\(port)/") == .passed, "SNI with a name")
    }
}
