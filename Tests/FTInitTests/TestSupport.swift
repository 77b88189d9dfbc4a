import Foundation
import Glibc
import Testing
@testable import FTInit

// Builders shared by the config and dependency tests: a `Program` spelled the way the
// config file spells it, so an expected value reads like the section it comes from.

/// `value` as found on `line` of the config file.
func at(_ value: String, _ line: Int) -> Located<String> {
    Located(value: value, line: line)
}

/// `[service NAME]` starting on `line`, with the documented defaults unless given.
func service(
    _ name: String, line: Int, run argv: [String],
    user: Located<String>? = nil, dir: Located<String>? = nil, env: [String] = [],
    after: [Located<String>] = [], stopSignal: Int32 = SIGTERM, stopTimeout: TimeSpan = .seconds(10)
) -> Program {
    var program = Program(kind: .service, name: name, line: line)
    program.argv = argv
    program.user = user
    program.dir = dir
    program.env = env
    program.after = after
    program.stopSignal = stopSignal
    program.stopTimeout = stopTimeout
    return program
}

/// `[task NAME]` starting on `line`, with the documented defaults unless given.
func task(
    _ name: String, line: Int, run argv: [String],
    user: Located<String>? = nil, dir: Located<String>? = nil, env: [String] = [],
    after: [Located<String>] = [], timeout: TimeSpan? = nil
) -> Program {
    var program = Program(kind: .task, name: name, line: line)
    program.argv = argv
    program.user = user
    program.dir = dir
    program.env = env
    program.after = after
    program.timeout = timeout
    return program
}

/// The diagnostics of loading `text` as `file`, printed the way `ftinit check` prints them;
/// empty when the config is valid.
func diagnostics(of text: String, file: String = "/etc/ftinit.conf", environment: [String: String] = [:]) -> [String] {
    switch ConfigLoader.load(text: text, file: file, environment: environment) {
    case .success: return []
    case .failure(let errors): return errors.diagnostics.map(\.description)
    }
}

/// The suites that read the passwd and group databases. getpwnam(3) and friends return
/// static storage shared by every thread: ftinit is single-threaded, the test runner is not,
/// so these suites run one test at a time.
@Suite(.serialized) enum PasswdDatabase {}

// MARK: files, processes and the event loop, for the boot, control and health tests

/// A fresh directory under /tmp (short enough for a unix socket path), removed with
/// everything in it when released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/ftinit-test-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw SystemError("create a temporary directory") }
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `path/name`.
    func file(_ name: String) -> String { path + "/" + name }

    /// The names in `path/sub` (hidden ones included), sorted: what a crash would leave behind.
    func entries(_ sub: String = "") -> [String] {
        let directory = sub.isEmpty ? path : file(sub)
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The permission bits of `path` (setuid/setgid/sticky included); nil when it does not exist.
func permissions(of path: String) -> UInt32? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return UInt32(info.st_mode) & 0o7777
}

/// The inode of `path`: a rename gives the path a new one, a rewrite in place does not.
func inode(of path: String) -> UInt64? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return UInt64(info.st_ino)
}

func contents(of path: String) -> String? {
    FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
}

func writeFile(_ path: String, _ text: String) throws {
    try text.write(toFile: path, atomically: false, encoding: .utf8)
}

/// Runs `executable` with `arguments`; its exit status and stdout + stderr.
func runTool(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Where the `openssl` command line tool is, if installed (the certificate tests check what
/// libcrypto wrote with an independent reader).
let opensslTool: String? = ["/usr/bin/openssl", "/usr/local/bin/openssl", "/bin/openssl"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

/// Runs `loop` on the calling thread until `done()` holds or `limit` has passed; whether
/// `done()` held. A 10 ms tick keeps the loop from sleeping in epoll_wait while another thread
/// makes `done()` true.
@discardableResult
func drive(_ loop: EventLoop, for limit: TimeSpan, until done: () -> Bool) throws -> Bool {
    let deadline = Instant.now() + limit
    while !done() {
        if Instant.now() >= deadline { return false }
        let tick = loop.schedule(at: min(deadline, .now() + TimeSpan(milliseconds: 10))) {}
        try loop.runOnce()
        loop.cancel(tick)
    }
    return true
}

/// Runs `loop` on the calling thread for `span`, whatever happens.
func drive(_ loop: EventLoop, for span: TimeSpan) throws {
    try drive(loop, for: span) { false }
}

/// A value handed from a background thread to the test's thread.
final class Handoff<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value?

    var value: Value? { lock.withLock { stored } }
    var isSet: Bool { value != nil }

    func set(_ value: Value) { lock.withLock { stored = value } }
}

/// Runs `body` on a new thread; its result arrives in the returned handoff. SIGPIPE is blocked
/// on that thread, so a write to a socket the other side closed fails with EPIPE instead of
/// killing the test runner.
func inBackground<Value>(_ body: @escaping @Sendable () -> Value) -> Handoff<Value> {
    let handoff = Handoff<Value>()
    Thread {
        var pipe = sigset_t()
        sigemptyset(&pipe)
        sigaddset(&pipe, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipe, nil)
        handoff.set(body())
    }.start()
    return handoff
}

/// Milliseconds since `start` on the monotonic clock.
func milliseconds(since start: Instant) -> Int64 { Instant.now().since(start).milliseconds }

/// Runs `body` with SIGPIPE blocked on the calling thread, as it is in ftinit (which reads its
/// signals from a signalfd): a write to a peer that went away fails with EPIPE instead of
/// killing the test runner. A SIGPIPE left pending is consumed before the mask is restored.
func withSIGPIPEBlocked<T>(_ body: () throws -> T) rethrows -> T {
    var pipe = sigset_t()
    sigemptyset(&pipe)
    sigaddset(&pipe, SIGPIPE)
    var previous = sigset_t()
    pthread_sigmask(SIG_BLOCK, &pipe, &previous)
    defer {
        var zero = timespec()
        while sigtimedwait(&pipe, nil, &zero) == SIGPIPE {}
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }
    return try body()
}

/// Polls `done()` every 5 ms until it holds or `limit` has passed; whether it held.
@discardableResult
func wait(for limit: TimeSpan, until done: () -> Bool) -> Bool {
    let deadline = Instant.now() + limit
    while !done() {
        if Instant.now() >= deadline { return false }
        usleep(5_000)
    }
    return true
}
