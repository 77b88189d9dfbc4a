import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How a process ended, as its parent saw it.
enum Termination: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    var description: String {
        switch self {
        case .exited(let code): "exited with code \(code)"
        case .signaled(let signal): "killed by signal \(signal)"
        }
    }
}

/// A child of the test process started with `posix_spawn`, with stdout and stderr collected and
/// a thread blocked in `waitpid` that stamps the exit the moment it happens.
///
/// Foundation's `Process` is not used for ftinit: it leaks a socket into the child that it uses to
/// notice the exit, so an orphan that survives ftinit would hide ftinit's exit; and its exit
/// notification takes a detour through a run loop and a new thread, which blurs timings.
final class SpawnedProcess: @unchecked Sendable {
    let pid: pid_t
    let stdout = OutputCollector(name: "stdout")
    let stderr = OutputCollector(name: "stderr")

    private let lock = NSLock()
    private var termination: Termination?
    private var exitInstant: ContinuousClock.Instant?

    /// Spawns `executable` with `arguments` (argv[0] is `executable`), exactly `environment`,
    /// in `directory`, stdin from /dev/null, an empty signal mask, default dispositions, its own
    /// process group, and no file descriptor of the test process but 0, 1 and 2.
    init(executable: String, arguments: [String], environment: [String: String], directory: String?) throws {
        var outFds: [Int32] = [-1, -1]
        var errFds: [Int32] = [-1, -1]
        guard GNU.pipe2(&outFds, O_CLOEXEC) == 0 else { throw SpawnError.system("pipe2", errno) }
        guard GNU.pipe2(&errFds, O_CLOEXEC) == 0 else {
            close(outFds[0]); close(outFds[1])
            throw SpawnError.system("pipe2", errno)
        }
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, devNull, 0)
        posix_spawn_file_actions_adddup2(&actions, outFds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errFds[1], 2)
        GNU.addCloseFrom(&actions, 3)
        if let directory { try GNU.addChdir(&actions, directory) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptySet = sigset_t()
        sigemptyset(&emptySet)
        var fullSet = sigset_t()
        sigfillset(&fullSet)
        // glibc's sigfillset leaves out its internal signals 32 and 33 (SIGCANCEL, SIGSETXID),
        // and its posix_spawn then sets them to SIG_IGN in the child, which survives exec and
        // which a glibc program (ftinit) cannot undo. A container runtime starts ftinit with
        // every disposition at default: so set those two bits by hand.
        fullSet.__val.0 |= 0x1_8000_0000
        posix_spawnattr_setsigmask(&attributes, &emptySet)
        posix_spawnattr_setsigdefault(&attributes, &fullSet)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }

        var child: pid_t = 0
        let status = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        close(outFds[1])
        close(errFds[1])
        close(devNull)
        guard status == 0 else {
            close(outFds[0]); close(errFds[0])
            throw SpawnError.system("posix_spawn \(executable)", status)
        }
        pid = child
        stdout.start(readingFrom: outFds[0])
        stderr.start(readingFrom: errFds[0])

        let waiter = Thread { [self, child] in
            var status: Int32 = 0
            while waitpid(child, &status, 0) < 0 && errno == EINTR {}
            let now = ContinuousClock.now
            let low = status & 0x7f
            let ended: Termination = low == 0 ? .exited((status >> 8) & 0xff) : .signaled(low)
            lock.lock()
            termination = ended
            exitInstant = now
            lock.unlock()
        }
        waiter.name = "waitpid-\(child)"
        waiter.start()
    }

    /// How it ended, or nil while it runs.
    var ended: Termination? {
        lock.lock()
        defer { lock.unlock() }
        return termination
    }

    /// When `waitpid` returned, or nil while it runs.
    var exitTime: ContinuousClock.Instant? {
        lock.lock()
        defer { lock.unlock() }
        return exitInstant
    }

    /// Waits up to `timeout` for the exit; nil when it still runs.
    func waitForExit(timeout: Duration) -> Termination? {
        Poll.until(timeout: timeout, interval: .milliseconds(2)) { ended != nil }
        return ended
    }
}

enum SpawnError: Error, CustomStringConvertible {
    case system(String, Int32)

    var description: String {
        switch self {
        case .system(let call, let code): "\(call) failed: \(String(cString: strerror(code)))"
        }
    }
}

/// glibc functions the Glibc module hides (they need _GNU_SOURCE), looked up with dlsym.
private enum GNU {
    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias Chdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    private static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        guard let handle = dlopen(nil, RTLD_NOW), let address = dlsym(handle, name) else { return nil }
        return unsafeBitCast(address, to: type)
    }

    /// `pipe2(fds, flags)`; falls back to pipe + FD_CLOEXEC.
    static func pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32 {
        if let pipe2 = symbol("pipe2", as: Pipe2.self) { return pipe2(fds, flags) }
        guard pipe(fds) == 0 else { return -1 }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return 0
    }

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34); falls back to one close action
    /// per descriptor open in /proc/self/fd.
    static func addCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ lowest: Int32) {
        if let closeFrom = symbol("posix_spawn_file_actions_addclosefrom_np", as: CloseFrom.self) {
            _ = closeFrom(actions, lowest)
            return
        }
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in open.compactMap({ Int32($0) }) where fd >= lowest {
            posix_spawn_file_actions_addclose(actions, fd)
        }
    }

    /// `posix_spawn_file_actions_addchdir_np` (glibc 2.29).
    static func addChdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ directory: String) throws {
        guard let chdir = symbol("posix_spawn_file_actions_addchdir_np", as: Chdir.self) else {
            throw SpawnError.system("posix_spawn_file_actions_addchdir_np (missing)", ENOSYS)
        }
        let status = chdir(actions, directory)
        if status != 0 { throw SpawnError.system("posix_spawn_file_actions_addchdir_np", status) }
    }
}

extension SpawnedProcess {
    /// `python3 -c script arguments...` (after `prefix`, such as `TestNetwork.prefix`), returned
    /// once it prints `listening`: the tests' stand-in servers. `killAndWait` it when done.
    static func pythonServer(_ script: String, _ arguments: [String], prefix: [String] = [], name: String,
                             sourceLocation: SourceLocation = #_sourceLocation) throws -> SpawnedProcess {
        let python = try #require(Prerequisites.which("python3"), sourceLocation: sourceLocation)
        let argv = prefix + [python, "-c", script] + arguments
        let process = try SpawnedProcess(executable: argv[0], arguments: Array(argv.dropFirst()),
                                         environment: ["PATH": Prerequisites.path], directory: nil)
        let ready = Poll.until(timeout: .seconds(5)) { process.stdout.lines.contains { $0.text == "listening" } || process.ended != nil }
        if !ready || process.ended != nil {
            process.killAndWait()
            try #require(Bool(false), "\(name) did not start: \(process.stderr.text)", sourceLocation: sourceLocation)
        }
        return process
    }

    /// SIGKILL, then waits (at most 5 s) until it is reaped.
    func killAndWait() {
        guard ended == nil else { return }
        kill(pid, SIGKILL)
        _ = waitForExit(timeout: .seconds(5))
    }
}
