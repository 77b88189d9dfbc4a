import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The ftinit binary under test, running.
///
/// * `.pid1`: `unshare --pid --fork --mount-proc --kill-child ftinit ARGS`: ftinit is PID 1 of a
///   new pid namespace (the way it runs in a container). When it exits the kernel kills whatever
///   is left in the namespace, so nothing leaks.
/// * `.plain`: ftinit is an ordinary child of the test process (not PID 1), so it has to be a
///   child subreaper to reap orphans.
///
/// Always `defer { ftinit.stop() }` right after launching: it kills whatever is left.
final class FTInit: @unchecked Sendable {
    enum Mode: Sendable, CustomStringConvertible {
        case pid1, plain
        var description: String { self == .pid1 ? "PID 1 under unshare" : "plain child, not PID 1" }
    }

    let mode: Mode
    let arguments: [String]
    let process: SpawnedProcess
    /// The control socket ftinit was told to use (`FTINIT_SOCKET`): the test's own value, else
    /// `ftinit.sock` in `directory` (the test's scratch dir), else in a private temporary
    /// directory removed by `stop()`. Tests never touch /run/ftinit.sock and never share a socket.
    let socketPath: String
    private let binary: String
    private let privateDirectory: String?

    private let lock = NSLock()
    private var resolvedPid: pid_t?
    private var parsedLines = 0
    private var parsedEvents: [LogEvent] = []
    private var tracked: Set<pid_t> = []

    /// Starts ftinit with `arguments`. The environment is exactly `PATH` (see
    /// `Prerequisites.path`) plus `environment`, so nothing (FTINIT_CONFIG, ...) leaks in from the
    /// test runner. Fails (never skips) when the binary is missing, and under CI when a
    /// prerequisite of the mode is missing.
    ///
    /// `bindMounts` (`.pid1` only) maps files over others (`[source: target]`, e.g. a test
    /// `/etc/group`) inside the namespace's private mount namespace, before ftinit is exec'd
    /// (by `sh`, so ftinit is still PID 1); the host never sees them. `readOnlyMounts` (`.pid1`
    /// only) makes each directory read-only there the same way (bound onto itself, remounted ro).
    ///
    /// `stdout` and `stderr` (`.pid1` only) send ftinit's standard output or error to that file
    /// (a FIFO, /dev/null) instead of the test's collector; what is not redirected is collected.
    ///
    /// `FTINIT_SOCKET` is set to `socketPath` (see there) unless `environment` has its own.
    /// `network` (`.pid1` only) runs it inside that network namespace, with its hosts and
    /// resolver files (`TestNetwork.mounts`). `cgroups: .unifiedOnly` gives ftinit a cgroup v2
    /// machine (see `CgroupLayout`).
    static func launch(
        _ arguments: [String],
        mode: Mode = .pid1,
        environment: [String: String] = [:],
        directory: String? = nil,
        bindMounts: [String: String] = [:],
        readOnlyMounts: [String] = [],
        network: TestNetwork? = nil,
        cgroups: CgroupLayout? = nil,
        stdout stdoutPath: String? = nil,
        stderr stderrPath: String? = nil,
        withoutProc: Bool = false,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> FTInit {
        let binary = try FTInitBinary.require(sourceLocation: sourceLocation)
        var requirements: [Requirement] = [.tools(Prerequisites.baseTools)]
        if mode == .pid1 { requirements += [.root, .pidNamespaces, .tools(["unshare"])] }
        if withoutProc { requirements += [.root, .tools(["unshare", "mount"])] }
        if !bindMounts.isEmpty || !readOnlyMounts.isEmpty || cgroups != nil { requirements += [.tools(["mount"])] }
        try Prerequisites.require(requirements, sourceLocation: sourceLocation)
        precondition(!withoutProc || mode == .plain, "withoutProc is for .plain: under unshare --pid ftinit is PID 1")
        precondition(mode == .pid1 || (bindMounts.isEmpty && readOnlyMounts.isEmpty && network == nil && cgroups == nil && stdoutPath == nil && stderrPath == nil),
                     "bind mounts and stdout need the private mount namespace and the shell of .pid1")

        var privateDirectory: String?
        let socketPath: String
        if let given = environment["FTINIT_SOCKET"] {
            socketPath = given
        } else if let directory {
            socketPath = "\(directory)/ftinit.sock"
        } else {
            let own = try Scratch().path
            privateDirectory = own
            socketPath = "\(own)/ftinit.sock"
        }
        var env = ["PATH": Prerequisites.path, "FTINIT_SOCKET": socketPath]
        env.merge(environment) { _, new in new }
        let process: SpawnedProcess
        switch mode {
        case .pid1:
            let unshare = try #require(Prerequisites.which("unshare"), sourceLocation: sourceLocation)
            var command = [binary] + arguments
            let bindMounts = bindMounts.merging(network?.mounts ?? [:]) { given, _ in given }
            if !bindMounts.isEmpty || !readOnlyMounts.isEmpty || cgroups != nil || stdoutPath != nil || stderrPath != nil {
                // Paths come from the tests themselves (scratch dirs, /etc/...): no quoting needed.
                let mounts = bindMounts.sorted { $0.key < $1.key }.map { "mount --bind \($0.key) \($0.value) && " }.joined()
                let readOnly = readOnlyMounts.map { "mount --bind \($0) \($0) && mount -o remount,bind,ro \($0) && " }.joined()
                let redirect = (stdoutPath.map { " >\($0)" } ?? "") + (stderrPath.map { " 2>\($0)" } ?? "")
                command = ["/bin/sh", "-c", "\(cgroups?.mountCommands ?? "")\(mounts)\(readOnly)exec \"$0\" \"$@\"\(redirect)"] + command
            }
            let unshareArguments = ["--pid", "--fork", "--mount-proc", "--kill-child"] + command
            if let network {
                // nsenter joins the namespace and execs unshare: the pid stays the same.
                let argv = network.prefix + [unshare] + unshareArguments
                process = try SpawnedProcess(executable: argv[0], arguments: Array(argv.dropFirst()), environment: env, directory: directory)
            } else {
                process = try SpawnedProcess(executable: unshare, arguments: unshareArguments, environment: env, directory: directory)
            }
        case .plain where withoutProc:
            // A mount namespace of its own whose /proc is an empty tmpfs; unshare and sh exec,
            // so the pid is ftinit's.
            let unshare = try #require(Prerequisites.which("unshare"), sourceLocation: sourceLocation)
            process = try SpawnedProcess(executable: unshare,
                                         arguments: ["--mount", "--propagation", "private", "/bin/sh", "-c",
                                                     "mount -t tmpfs none /proc && exec \"$0\" \"$@\"", binary] + arguments,
                                         environment: env, directory: directory)
        case .plain:
            process = try SpawnedProcess(executable: binary, arguments: arguments, environment: env, directory: directory)
        }
        return FTInit(mode: mode, arguments: arguments, process: process, binary: binary,
                      socketPath: socketPath, privateDirectory: privateDirectory)
    }


    private init(mode: Mode, arguments: [String], process: SpawnedProcess, binary: String,
                 socketPath: String, privateDirectory: String?) {
        self.mode = mode
        self.arguments = arguments
        self.process = process
        self.binary = URL(fileURLWithPath: binary).resolvingSymlinksInPath().path
        self.socketPath = socketPath
        self.privateDirectory = privateDirectory
        if mode == .plain { resolvedPid = process.pid }
    }

    var stdout: OutputCollector { process.stdout }
    var stderr: OutputCollector { process.stderr }

    // MARK: - ftinit's pid on the host

    /// The host pid of ftinit itself. Under unshare it is the child of `unshare` once that child
    /// has exec'd the binary; as a plain child it is the spawned process.
    func pid(timeout: Duration = .seconds(5), sourceLocation: SourceLocation = #_sourceLocation) throws -> pid_t {
        let found = findPid(timeout: timeout)
        return try #require(found, "ftinit's pid not found within \(timeout)\n\(report)", sourceLocation: sourceLocation)
    }

    private func findPid(timeout: Duration) -> pid_t? {
        lock.lock()
        if let resolvedPid { lock.unlock(); return resolvedPid }
        lock.unlock()
        var found: pid_t?
        Poll.until(timeout: timeout, interval: .milliseconds(2)) {
            for child in ProcFS.children(of: process.pid) {
                if let exe = ProcFS.exe(child.pid), exe == binary || exe.hasPrefix(binary + " ") {
                    found = child.pid
                    return true
                }
            }
            return process.ended != nil
        }
        if let found {
            lock.lock(); resolvedPid = found; lock.unlock()
        }
        return found
    }

    /// Sends `signal` to ftinit (from the host: for PID 1 of a namespace the kernel delivers
    /// it only when ftinit handles or blocks it, which is ftinit's job).
    func send(_ signal: Int32, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let target = try pid(sourceLocation: sourceLocation)
        let result = kill(target, signal)
        try #require(result == 0, "kill(\(target), \(signal)) failed: errno \(errno)\n\(report)", sourceLocation: sourceLocation)
    }

    // MARK: - Exit

    /// Waits for ftinit to exit; nil if it still runs after `timeout`.
    func waitForExit(timeout: Duration = .seconds(10)) -> Termination? {
        let ended = process.waitForExit(timeout: timeout)
        if ended != nil {
            // Let the readers take what is still in the pipes (under unshare every writer is
            // gone once ftinit is; a plain ftinit's escaped orphans may hold them longer).
            stdout.waitForEOF(timeout: .seconds(2))
            stderr.waitForEOF(timeout: .seconds(2))
        }
        return ended
    }

    /// Waits for the exit and returns the exit code; records an issue (with the transcript)
    /// when ftinit does not exit in time or dies from a signal itself.
    func exitCode(timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation) throws -> Int32 {
        let ended = try #require(waitForExit(timeout: timeout), "ftinit did not exit within \(timeout)\n\(report)", sourceLocation: sourceLocation)
        guard case .exited(let code) = ended else {
            Issue.record("ftinit itself was \(ended) instead of exiting\n\(report)", sourceLocation: sourceLocation)
            throw HarnessError.unexpectedTermination(ended)
        }
        return code
    }

    /// When the exit was seen, or nil while ftinit runs.
    var exitTime: ContinuousClock.Instant? { process.exitTime }

    // MARK: - ftinit's own log lines (stderr)

    /// Every `ftinit: LEVEL EVENT key=value ...` line so far.
    var events: [LogEvent] {
        let lines = stderr.lines
        lock.lock()
        defer { lock.unlock() }
        while parsedLines < lines.count {
            let line = lines[parsedLines]
            if let event = LogEvent.parse(line.text, time: line.time) { parsedEvents.append(event) }
            parsedLines += 1
        }
        return parsedEvents
    }

    /// The events named `name` (`started`, `stopping`, ...), optionally for one subject.
    func events(_ name: String, subject: String? = nil) -> [LogEvent] {
        events.filter { $0.event == name && (subject == nil || $0.subject == subject) }
    }

    /// Waits for the first event `name` (for `subject`, matching `predicate`).
    func waitForEvent(
        _ name: String, subject: String? = nil, timeout: Duration = .seconds(5),
        where predicate: (LogEvent) -> Bool = { _ in true }
    ) -> LogEvent? {
        var found: LogEvent?
        Poll.until(timeout: timeout) {
            // Once ftinit is gone and its stderr drained, nothing more can come.
            let over = process.ended != nil && stderr.isAtEOF
            found = events(name, subject: subject).first(where: predicate)
            return found != nil || over
        }
        return found
    }

    /// Like `waitForEvent`, but a missing event fails the test with the transcript.
    func requireEvent(
        _ name: String, subject: String? = nil, timeout: Duration = .seconds(5),
        sourceLocation: SourceLocation = #_sourceLocation,
        where predicate: (LogEvent) -> Bool = { _ in true }
    ) throws -> LogEvent {
        let event = waitForEvent(name, subject: subject, timeout: timeout, where: predicate)
        let why = process.ended.map { "ftinit \($0) first" } ?? "within \(timeout)"
        return try #require(event, "no `\(name)` event\(subject.map { " for \($0)" } ?? ""): \(why)\n\(report)", sourceLocation: sourceLocation)
    }

    /// Waits until each subject has a `started` line; returns them in log order.
    func requireStarted(_ subjects: [String], timeout: Duration = .seconds(5), sourceLocation: SourceLocation = #_sourceLocation) throws -> [LogEvent] {
        for subject in subjects {
            _ = try requireEvent("started", subject: subject, timeout: timeout, sourceLocation: sourceLocation)
        }
        return events("started").filter { subjects.contains($0.subject ?? "") }
    }

    // MARK: - Processes

    /// Every process of ftinit's world: under unshare everything /proc lists inside the
    /// namespace (ftinit included); as a plain child, ftinit and its descendants.
    func processes() -> [ProcStat] {
        guard let root = findPid(timeout: .zero), process.ended == nil else { return [] }
        switch mode {
        case .pid1: return ProcFS.namespaceMembers(of: root)
        case .plain: return (ProcFS.stat(root).map { [$0] } ?? []) + ProcFS.descendants(of: root)
        }
    }

    /// Zombies in ftinit's world.
    func zombies() -> [ProcStat] {
        processes().filter(\.isZombie)
    }

    /// The host pid of a process ftinit logged as `pid=N` (ftinit logs pids of its namespace).
    func hostPid(ofLoggedPid logged: pid_t) -> pid_t? {
        switch mode {
        case .plain: return ProcFS.exists(logged) ? logged : nil
        case .pid1: return processes().first { ProcFS.innermostPid($0.pid) == logged }?.pid
        }
    }

    /// Like `hostPid(ofLoggedPid:)` for a `started` event, failing the test when not found.
    func hostPid(of event: LogEvent, sourceLocation: SourceLocation = #_sourceLocation) throws -> pid_t {
        let logged = try #require(event.pid, "no pid= in \(event)", sourceLocation: sourceLocation)
        return try #require(hostPid(ofLoggedPid: logged), "no process with pid \(logged) in ftinit's namespace\n\(report)", sourceLocation: sourceLocation)
    }

    /// The first process of ftinit's world whose argv is exactly `argv`.
    func findProcess(argv: [String]) -> ProcStat? {
        processes().first { ProcFS.cmdline($0.pid) == argv }
    }

    /// Remembers a host pid to SIGKILL in `stop()` (orphans that may escape a plain ftinit).
    func track(_ pid: pid_t) {
        lock.lock(); tracked.insert(pid); lock.unlock()
    }

    // MARK: - Cleanup and reporting

    /// Kills ftinit and everything it left, and waits for the exit. Safe to call twice.
    func stop() {
        if process.ended == nil {
            let root = findPid(timeout: .zero)
            let leftovers = mode == .plain ? processes().map(\.pid) : []
            if let root { kill(root, SIGKILL) }
            kill(process.pid, SIGKILL)
            for pid in leftovers { kill(pid, SIGKILL) }
            _ = process.waitForExit(timeout: .seconds(5))
        }
        lock.lock()
        let pids = tracked
        lock.unlock()
        for pid in pids where ProcFS.exists(pid) { kill(pid, SIGKILL) }
        if let privateDirectory { try? FileManager.default.removeItem(atPath: privateDirectory) }
    }

    /// The command, how it ended, and the tail of stdout and stderr: attached to every failure.
    var report: String {
        """

        ── ftinit \(arguments.joined(separator: " "))  [\(mode)]
        ── \(process.ended.map(\.description) ?? "still running")
        ── stdout:
        \(stdout.tail(60))
        ── stderr:
        \(stderr.tail(80))
        ──
        """
    }
}

enum HarnessError: Error {
    case unexpectedTermination(Termination)
}

/// Runs ftinit to completion without unshare, for the commands that start nothing
/// (`check`, `version`, `help`, usage errors).
struct CommandResult: Sendable {
    let code: Int32
    let stdout: String
    let stderr: String
    let report: String

    static func run(_ arguments: [String], environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
        let ftinit = try FTInit.launch(arguments, mode: .plain, environment: environment, sourceLocation: sourceLocation)
        defer { ftinit.stop() }
        let code = try ftinit.exitCode(timeout: .seconds(10), sourceLocation: sourceLocation)
        return CommandResult(code: code, stdout: ftinit.stdout.text, stderr: ftinit.stderr.text, report: ftinit.report)
    }

    /// Non-empty lines of stdout and stderr together.
    var outputLines: [String] {
        (stdout + "\n" + stderr).split(separator: "\n").map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    }
}
