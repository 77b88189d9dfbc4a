import CLinux
import Foundation
import Glibc
import Testing
@testable import FTInit

/// ftinit's unix socket served from an event loop on the test's thread, and `ftinit probe` /
/// `ftinit status`'s client asking it from another thread (docs/ftinit.md, "Control socket").
@Suite struct ControlSocketTests {
    /// A server on `directory/name` answering with `report`, driven by the calling thread.
    final class Bench {
        let directory: TemporaryDirectory
        let loop: EventLoop
        let server: ControlServer
        var path: String { server.path }

        init(report: StatusReport = ControlSocketTests.healthy, name: String = "ftinit.sock") throws {
            directory = try TemporaryDirectory()
            loop = try EventLoop()
            let text = report.text
            server = try ControlServer(path: directory.file(name), loop: loop) { _, _ in text }
        }

        deinit { server.shutdown() }

        /// Runs `body` on another thread while this one serves, until it returns (at most 5 s).
        func serve<Value>(while body: @escaping @Sendable () -> Value) throws -> Value? {
            let handoff = inBackground(body)
            _ = try withSIGPIPEBlocked { try drive(loop, for: .seconds(5)) { handoff.isSet } }
            return handoff.value
        }

        /// `ControlClient.fetch` from another thread; the result as text for comparisons.
        func fetch(timeout: TimeSpan = .seconds(2)) throws -> FetchResult? {
            let path = self.path
            return try serve { FetchResult(ControlClient.fetch(path, timeout: timeout)) }
        }
    }

    /// What `fetch` returned, in a form one thread can hand to another.
    enum FetchResult: Equatable, Sendable {
        case report(String)
        case failure(String)

        init(_ result: Result<StatusReport, SystemError>) {
            switch result {
            case .success(let report): self = .report(report.text)
            case .failure(let error): self = .failure(error.description)
            }
        }
    }

    static var healthy: StatusReport { StatusReport(healthy: true, summary: "2 services: 2 healthy", programs: [
        StatusReport.Program(kind: "service", name: "nginx", state: "running", pid: 12, health: "healthy",
                             uptime: .seconds(41), check: "http https://127.0.0.1/", result: "ok", latency: TimeSpan(milliseconds: 3)),
        StatusReport.Program(kind: "service", name: "php", state: "running", pid: 13, health: "none",
                             uptime: .seconds(41), check: nil, result: nil, latency: nil),
    ]) }

    /// Connects to `path`, sends `request`, and reads until the server closes (at most `limit`).
    /// Returns what came back and how long it took; nil when it could not connect.
    static func exchange(_ path: String, _ request: [UInt8], limit: TimeSpan = .seconds(3)) -> (answer: String, elapsed: Int64)? {
        let start = Instant.now()
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard var address = try? unixAddress(path) else { return nil }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { return nil }
        if !request.isEmpty { _ = write(fd, request, request.count) }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Instant.now().since(start) < limit {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) >= 0 else { break }
            if pfd.revents == 0 { continue }
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            answer += buffer[..<n]
        }
        return (String(decoding: answer, as: UTF8.self), milliseconds(since: start))
    }

    // MARK: serving

    @Test func aClientGetsTheReport() throws {
        let bench = try Bench()
        #expect(try bench.fetch() == .report(Self.healthy.text))
    }

    @Test func aFailingReportComesBackAsIs() throws {
        let failing = StatusReport(healthy: false, summary: "web exited with code 3", programs: [
            StatusReport.Program(kind: "service", name: "web", state: "exited", pid: nil, health: "none",
                                 uptime: nil, check: nil, result: nil, latency: nil),
        ])
        let bench = try Bench(report: failing)
        #expect(try bench.fetch() == .report(failing.text))
    }

    @Test func clientsAreServedOneAfterAnother() throws {
        let bench = try Bench()
        for _ in 0..<20 {
            #expect(try bench.fetch() == .report(Self.healthy.text))
        }
    }

    @Test func theReportIsTakenAtEachRequest() throws {
        let directory = try TemporaryDirectory()
        let loop = try EventLoop()
        let counter = Handoff<Int>()
        counter.set(0)
        let server = try ControlServer(path: directory.file("ftinit.sock"), loop: loop) { _, _ in
            let n = (counter.value ?? 0) + 1
            counter.set(n)
            return StatusReport(healthy: true, summary: "request \(n)", programs: []).text
        }
        defer { server.shutdown() }
        let path = server.path
        for n in 1...3 {
            let handoff = inBackground { FetchResult(ControlClient.fetch(path, timeout: .seconds(2))) }
            try drive(loop, for: .seconds(5)) { handoff.isSet }
            #expect(handoff.value == .report("ftinit verdict=ok summary=\"request \(n)\"\n"))
        }
    }

    @Test func anUnknownRequestIsAnsweredWithAnError() throws {
        let bench = try Bench()
        let path = bench.path
        let answer = try bench.serve { Self.exchange(path, Array("restart\n".utf8))?.answer }
        #expect(answer == "error unknown request\n")
    }

    /// Only an exact request line is a request (docs/bad-input.md): binary junk, NULs, invalid
    /// UTF-8, other case, blanks or a CR get the error line; bytes after the first newline are ignored.
    @Test(arguments: [
        ([0xFF, 0xFE, 0x00, 0x01, 0x0A], "error unknown request\n"),
        (Array("status\0\n".utf8), "error unknown request\n"),
        (Array("status\r\n".utf8), "error unknown request\n"),
        (Array(" status\n".utf8), "error unknown request\n"),
        (Array("STATUS\n".utf8), "error unknown request\n"),
        ([0xC3, 0x28, 0x0A], "error unknown request\n"),
        (Array("\n".utf8), "error unknown request\n"),
        (Array("status\n\u{FF}junk after the request".utf8), ControlSocketTests.healthy.text),
    ] as [([UInt8], String)])
    func junkRequestsAreAnsweredWithAnError(request: [UInt8], expected: String) throws {
        let bench = try Bench()
        let path = bench.path
        let result = try bench.serve { Self.exchange(path, request) }
        let exchanged = try #require(result ?? nil)
        #expect(exchanged.answer == expected)
        #expect(exchanged.elapsed < 500, "answered after \(exchanged.elapsed) ms, not at once")
    }

    @Test func aRequestSentInPiecesIsServed() throws {
        let bench = try Bench()
        let path = bench.path
        let answer = try bench.serve { () -> String? in
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            defer { close(fd) }
            guard var address = try? unixAddress(path) else { return nil }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard connected == 0 else { return nil }
            for piece in ["st", "at", "us\n"] {
                _ = write(fd, piece, piece.utf8.count)
                usleep(50_000)
            }
            var answer: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, 2000) > 0 else { break }
                let n = read(fd, &buffer, buffer.count)
                if n <= 0 { break }
                answer += buffer[..<n]
            }
            return String(decoding: answer, as: UTF8.self)
        }
        #expect(answer == Self.healthy.text)
    }

    @Test func anOversizedRequestIsClosedWithoutAnswer() throws {
        let bench = try Bench()
        let path = bench.path
        let result = try bench.serve { Self.exchange(path, [UInt8](repeating: UInt8(ascii: "s"), count: ControlServer.requestLimit)) }
        let exchanged = try #require(result ?? nil)
        #expect(exchanged.answer == "")
        #expect(exchanged.elapsed < 500, "closed after \(exchanged.elapsed) ms, not at once")
    }

    @Test func aSilentClientIsDroppedAfterOneSecond() throws {
        let bench = try Bench()
        let path = bench.path
        let result = try bench.serve { Self.exchange(path, [], limit: .seconds(4)) }
        let exchanged = try #require(result ?? nil)
        #expect(exchanged.answer == "")
        #expect((900...2500).contains(exchanged.elapsed), "dropped after \(exchanged.elapsed) ms")
    }

    @Test func moreThanSixteenClientsAtOnceAreClosedAtOnce() throws {
        let bench = try Bench()
        // 16 clients connect and stay silent; they hold every slot.
        var silent: [Int32] = []
        defer { for fd in silent { close(fd) } }
        for _ in 0..<16 {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = try unixAddress(bench.path)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            try #require(connected == 0)
            silent.append(fd)
        }
        try drive(bench.loop, for: TimeSpan(milliseconds: 100))
        // The 17th is closed without an answer, well before the silent ones time out.
        let start = Instant.now()
        let result = try bench.fetch(timeout: .seconds(2))
        // Closed before or after its request was read: either way a failure, and a fast one.
        guard case .failure(let message)? = result else { Issue.record("served: \(String(describing: result))"); return }
        #expect(message.hasPrefix("unable to reach ftinit at \(bench.path): "))
        #expect(!message.contains("no answer within"))
        #expect(milliseconds(since: start) < 900, "not closed at once")
        // Once they are gone, clients are served again.
        for fd in silent { close(fd) }
        silent = []
        try drive(bench.loop, for: TimeSpan(milliseconds: 100))
        #expect(try bench.fetch() == .report(Self.healthy.text))
    }

    // MARK: the socket file

    @Test func theSocketIsMode0600() throws {
        let bench = try Bench()
        var info = stat()
        try #require(lstat(bench.path, &info) == 0)
        #expect((info.st_mode & S_IFMT) == S_IFSOCK)
        #expect(permissions(of: bench.path) == 0o600)
    }

    @Test func missingDirectoriesOfTheSocketAreCreated() throws {
        let bench = try Bench(name: "run/ftinit/ctl.sock")
        #expect(try bench.fetch() == .report(Self.healthy.text))
    }

    @Test func aStaleSocketFileIsReplaced() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("ftinit.sock")
        // A previous ftinit bound the socket and died without removing it.
        let old = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = try unixAddress(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(old, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
        close(old)
        #expect(FetchResult(ControlClient.fetch(path, timeout: .seconds(1)))
                == .failure("unable to reach ftinit at \(path): nothing listens there (ftinit is gone)"))

        let loop = try EventLoop()
        let text = Self.healthy.text
        let server = try ControlServer(path: path, loop: loop) { _, _ in text }
        defer { server.shutdown() }
        let handoff = inBackground { FetchResult(ControlClient.fetch(path, timeout: .seconds(2))) }
        try drive(loop, for: .seconds(5)) { handoff.isSet }
        #expect(handoff.value == .report(text))
    }

    @Test func aRegularFileAtThePathIsRefused() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("ftinit.sock")
        try writeFile(path, "not a socket\n")
        let loop = try EventLoop()
        let error = #expect(throws: SystemError.self) {
            _ = try ControlServer(path: path, loop: loop) { _, _ in "" }
        }
        #expect(error?.description == "unable to use \(path) as the control socket: it exists and is not a socket")
        #expect(contents(of: path) == "not a socket\n")
    }

    /// The socket's directory cannot be made (here: under a regular file; in a container, a
    /// read-only root without /run): the error says where else the socket can go.
    @Test func anUnwritableSocketDirectoryIsReportedWithWhereTheSocketCanGo() throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("file"), "")
        let path = directory.file("file/run/ftinit.sock")
        let loop = try EventLoop()
        let error = #expect(throws: SystemError.self) {
            _ = try ControlServer(path: path, loop: loop) { _, _ in "" }
        }
        #expect(error?.description == "unable to create directory \(directory.file("file/run")): Not a directory (the control socket \(path) "
                    + "needs a writable directory: mount a tmpfs on /run, or set another path with [init] socket or FTINIT_SOCKET)")
    }

    @Test func aDirectoryAtThePathIsRefused() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("ftinit.sock")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        let loop = try EventLoop()
        let error = #expect(throws: SystemError.self) {
            _ = try ControlServer(path: path, loop: loop) { _, _ in "" }
        }
        #expect(error?.description == "unable to use \(path) as the control socket: it exists and is not a socket")
    }

    @Test func aPathTooLongForASocketIsRefused() throws {
        let path = "/tmp/" + String(repeating: "x", count: 120) + ".sock"
        let loop = try EventLoop()
        let error = #expect(throws: SystemError.self) {
            _ = try ControlServer(path: path, loop: loop) { _, _ in "" }
        }
        #expect(error?.description == "unable to use socket path \(path): longer than 107 bytes")
        #expect(FetchResult(ControlClient.fetch(path, timeout: .seconds(1))) == .failure("unable to reach ftinit at \(path): path too long"))
    }

    @Test func shutdownRemovesTheSocketFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("ftinit.sock")
        let loop = try EventLoop()
        let server = try ControlServer(path: path, loop: loop) { _, _ in "" }
        #expect(permissions(of: path) != nil)
        server.shutdown()
        #expect(permissions(of: path) == nil)
    }

    // MARK: the client's failures

    @Test func aMissingSocketFailsAtOnce() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("ftinit.sock")
        let start = Instant.now()
        let result = FetchResult(ControlClient.fetch(path, timeout: .seconds(1)))
        #expect(result == .failure("unable to reach ftinit at \(path): no socket there (is ftinit running?)"))
        #expect(milliseconds(since: start) < 300)
    }

    @Test(arguments: [300, 600] as [Int64])
    func aServerThatDoesNotAnswerFailsAtTheTimeout(timeout: Int64) throws {
        // Bound and listening, but its loop never runs: a PID 1 stopped with SIGSTOP.
        let bench = try Bench()
        let start = Instant.now()
        let result = FetchResult(ControlClient.fetch(bench.path, timeout: TimeSpan(milliseconds: timeout)))
        let elapsed = milliseconds(since: start)
        #expect(result == .failure("unable to reach ftinit at \(bench.path): no answer within \(TimeSpan(milliseconds: timeout))"))
        #expect(elapsed >= timeout - 5 && elapsed < timeout + 100, "returned after \(elapsed) ms")
    }

    @Test func aSocketNobodyListensOnFailsAtOnce() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("ftinit.sock")
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = try unixAddress(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)  // bound, never listening
        let start = Instant.now()
        #expect(FetchResult(ControlClient.fetch(path, timeout: .seconds(1)))
                == .failure("unable to reach ftinit at \(path): nothing listens there (ftinit is gone)"))
        #expect(milliseconds(since: start) < 300)
    }

    @Test func anAnswerThatIsNotAReportIsAFailure() throws {
        let directory = try TemporaryDirectory()
        let loop = try EventLoop()
        let server = try ControlServer(path: directory.file("ftinit.sock"), loop: loop) { _, _ in "HTTP/1.1 200 OK\r\n\r\n" }
        defer { server.shutdown() }
        let path = server.path
        let handoff = inBackground { FetchResult(ControlClient.fetch(path, timeout: .seconds(2))) }
        try drive(loop, for: .seconds(5)) { handoff.isSet }
        #expect(handoff.value == .failure("unable to reach ftinit at \(path): the answer is not a status report"))
    }
}
