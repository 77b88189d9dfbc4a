import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How a program the test ran itself (openssl, curl, `ftinit probe`, ...) ended.
struct ToolResult: Sendable, CustomStringConvertible {
    let argv: [String]
    /// nil when it was killed (by the test's timeout or otherwise).
    let code: Int32?
    let termination: Termination?
    let stdout: String
    let stderr: String
    /// From just before the spawn to the moment `waitpid` returned.
    let elapsed: Duration
    let timedOut: Bool

    var succeeded: Bool { code == 0 }

    var description: String {
        """
        $ \(argv.joined(separator: " "))
        ── \(timedOut ? "timed out, killed" : termination.map(\.description) ?? "?") after \(elapsed)
        ── stdout:
        \(stdout)
        ── stderr:
        \(stderr)
        """
    }
}

/// Runs programs from the test process (not inside ftinit's namespace): the `openssl` and
/// `curl` CLIs that check what ftinit made, and ftinit's own client commands.
enum Tool {
    /// Runs `argv` (argv[0] looked up in `Prerequisites.path` unless it holds a `/`) with
    /// `PATH` plus `environment`, stdin from /dev/null; kills it (its process group) after
    /// `timeout`. Fails the test when the program is not found.
    static func run(
        _ argv: [String], environment: [String: String] = [:], directory: String? = nil,
        timeout: Duration = .seconds(20), sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> ToolResult {
        let executable = try #require(Prerequisites.which(argv[0]), "\(argv[0]) not found in \(Prerequisites.path)",
                                      sourceLocation: sourceLocation)
        var env = ["PATH": Prerequisites.path]
        env.merge(environment) { _, new in new }
        return try spawnAndWait(executable: executable, argv: argv, environment: env, directory: directory, timeout: timeout)
    }

    /// Runs the ftinit binary under test with `arguments` (`probe ...`, `status ...`,
    /// `cert ...`), with exactly `PATH` plus `environment`: no FTINIT_SOCKET unless given.
    static func ftinit(
        _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(10),
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> ToolResult {
        let binary = try FTInitBinary.require(sourceLocation: sourceLocation)
        var env = ["PATH": Prerequisites.path]
        env.merge(environment) { _, new in new }
        return try spawnAndWait(executable: binary, argv: ["ftinit"] + arguments, environment: env, directory: nil, timeout: timeout)
    }

    /// `ftinit probe --socket SOCKET ARGS...`.
    static func probe(_ socket: String, _ arguments: [String] = [], timeout: Duration = .seconds(10),
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> ToolResult {
        try ftinit(["probe", "--socket", socket] + arguments, timeout: timeout, sourceLocation: sourceLocation)
    }

    private static func spawnAndWait(
        executable: String, argv: [String], environment: [String: String], directory: String?, timeout: Duration
    ) throws -> ToolResult {
        let start = ContinuousClock.now
        let process = try SpawnedProcess(executable: executable, arguments: Array(argv.dropFirst()),
                                         environment: environment, directory: directory)
        var ended = process.waitForExit(timeout: timeout)
        let timedOut = ended == nil
        if timedOut {
            kill(-process.pid, SIGKILL)
            kill(process.pid, SIGKILL)
            ended = process.waitForExit(timeout: .seconds(5))
        }
        process.stdout.waitForEOF(timeout: .seconds(2))
        process.stderr.waitForEOF(timeout: .seconds(2))
        let code: Int32? = if case .exited(let c) = ended, !timedOut { c } else { nil }
        return ToolResult(argv: argv, code: code, termination: ended, stdout: process.stdout.text,
                          stderr: process.stderr.text, elapsed: (process.exitTime ?? .now) - start, timedOut: timedOut)
    }
}

/// TCP ports and unix sockets, from the test's side.
enum Network {
    /// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed).
    static func freePort(sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0, "socket: errno \(errno)", sourceLocation: sourceLocation)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0, "bind 127.0.0.1:0: errno \(errno)", sourceLocation: sourceLocation)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        try #require(named == 0, "getsockname: errno \(errno)", sourceLocation: sourceLocation)
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port` right now.
    static func isListening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// A connected unix stream socket to `path` (blocking, close-on-exec), or nil with errno set.
    static func connectUnix(_ path: String) -> Int32? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { close(fd); return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if connected != 0 {
            let saved = errno
            close(fd)
            errno = saved
            return nil
        }
        return fd
    }

    /// Leaves a socket file at `path` that nothing listens on (what a SIGKILLed ftinit leaves).
    static func makeStaleUnixSocket(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0, sourceLocation: sourceLocation)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0, "bind \(path): errno \(errno)", sourceLocation: sourceLocation)
    }

    /// Sends `request` on a new connection to `path` and reads until the server closes it (or
    /// `timeout` passed). nil when the connection failed.
    static func exchange(_ path: String, _ request: [UInt8], timeout: Duration = .seconds(3)) -> (response: String, closed: Bool)? {
        guard let fd = connectUnix(path) else { return nil }
        defer { close(fd) }
        if !request.isEmpty {
            _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }
        return readUntilClosed(fd, timeout: timeout)
    }

    /// Reads `fd` until EOF (closed: true) or until `timeout` passed (closed: false).
    static func readUntilClosed(_ fd: Int32, timeout: Duration) -> (response: String, closed: Bool) {
        let deadline = ContinuousClock.now + timeout
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let left = deadline - ContinuousClock.now
            if left <= .zero { return (String(decoding: bytes, as: UTF8.self), false) }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(max(1, left.seconds * 1000)))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { continue }
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return (String(decoding: bytes, as: UTF8.self), true) }
            bytes += buffer[..<n]
        }
    }
}

extension ProcFS {
    /// How many file descriptors `pid` has open (entries of /proc/PID/fd), or nil.
    static func fdCount(_ pid: pid_t) -> Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count
    }

    /// Where each of `pid`'s descriptors points (`socket:[123]`, `/dev/null`, ...), for reports.
    static func fdTargets(_ pid: pid_t) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        return names.sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }.map { "\($0) -> \(readLink("/proc/\(pid)/fd/\($0)") ?? "?")" }
    }
}

/// File facts the TLS and template tests compare.
struct FileFacts: Equatable, CustomStringConvertible {
    let mode: mode_t
    let uid: uid_t
    let gid: gid_t
    let inode: UInt64
    let bytes: [UInt8]

    static func of(_ path: String) -> FileFacts? {
        var info = stat()
        guard stat(path, &info) == 0, let data = FileManager.default.contents(atPath: path) else { return nil }
        return FileFacts(mode: info.st_mode & 0o7777, uid: info.st_uid, gid: info.st_gid, inode: UInt64(info.st_ino), bytes: Array(data))
    }

    var description: String { "mode \(String(mode, radix: 8)) uid \(uid) gid \(gid) inode \(inode) \(bytes.count) bytes" }
}

extension Scratch {
    /// Every entry of directory `name` (relative to the scratch dir), sorted: to see temporary
    /// files left behind.
    func entries(_ name: String = "") -> [String] {
        let directory = name.isEmpty ? path : file(name)
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }
}
