#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux

/// Everything a child needs, prepared before fork: after fork the child only makes system
/// calls on memory that already exists.
public struct SpawnRequest {
    /// How the child relates to the terminal and to ftinit's signals.
    public enum Session {
        /// Its own session (`setsid`): services, so their whole group can be stopped.
        case newSession
        /// Its own process group, made the terminal's foreground group when there is one:
        /// single-command mode, so an interactive shell keeps job control.
        case foregroundGroup
    }

    public var argv: [String]
    public var environment: [String]
    public var directory: String?
    public var identity: Identity?
    public var session: Session = .newSession
    /// Descriptors to install as the child's 0, 1 and 2; nil keeps ftinit's.
    public var stdin: Int32?
    public var stdout: Int32?
    public var stderr: Int32?

    public init(argv: [String], environment: [String]) {
        self.argv = argv
        self.environment = environment
    }
}

/// Why a child could not be started, and the exit code the convention gives it.
public struct SpawnError: Error, CustomStringConvertible {
    public let stage: String
    public let errno: Int32

    /// 127 when the command does not exist, 126 when it cannot be run.
    public var exitCode: Int32 { stage == "exec" && (errno == ENOENT || errno == ENOTDIR) ? 127 : 126 }
    public var description: String { "\(stage): \(errorString(errno))" }
}

/// Starts a child; returns once exec has succeeded (its pid) or failed (`SpawnError`).
/// A close-on-exec pipe carries the child's errno back, so exec failures are never silent.
/// When ftinit itself cannot make the child (no descriptor for that pipe, fork refused by
/// pids.max or memory), that is ftinit's failure, not the command's: a `SystemError`.
public func spawn(_ request: SpawnRequest) throws -> pid_t {
    let environmentPath = environmentDictionary(request.environment)["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    let executable: String
    switch resolveExecutable(request.argv[0], searchPath: environmentPath) {
    case .success(let path): executable = path
    case .failure(let error): throw error
    }

    let argv = CStringArray(request.argv)
    let envp = CStringArray(request.environment)
    defer { argv.free(); envp.free() }
    let groups = request.identity?.groups ?? []
    var report: [Int32] = [-1, -1]
    guard ftinit_pipe_cloexec(&report) == 0 else { throw SystemError("create a pipe to start \(request.argv[0])") }

    let pid = executable.withCString { path in
        (request.directory ?? "").withCString { directory in
            groups.withUnsafeBufferPointer { groupList in
                fork_and_exec(request, path, argv.pointer, envp.pointer, directory, groupList, report[1])
            }
        }
    }
    let forkError = errno
    close(report[1])
    defer { close(report[0]) }
    if pid < 0 { throw SystemError("fork to start \(request.argv[0])", errno: forkError) }

    var failure: (stage: Int32, errno: Int32) = (0, 0)
    let n = withUnsafeMutableBytes(of: &failure) { buffer in
        while true {
            let n = read(report[0], buffer.baseAddress, buffer.count)
            if n < 0 && errno == EINTR { continue }
            return n
        }
    }
    guard n == MemoryLayout<(Int32, Int32)>.size else { return pid }  // EOF: exec succeeded
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    throw SpawnError(stage: ChildStage(rawValue: failure.stage)?.name ?? "start", errno: failure.errno)
}

/// The steps of the child between fork and exec, reported back when one fails.
enum ChildStage: Int32 {
    case session = 1, descriptors, directory, groups, gid, uid, exec

    var name: String {
        switch self {
        case .session: return "setsid"
        case .descriptors: return "dup2"
        case .directory: return "chdir"
        case .groups: return "setgroups"
        case .gid: return "setgid"
        case .uid: return "setuid"
        case .exec: return "exec"
        }
    }
}

/// Linux's last signal number (SIGRTMAX); glibc's macro for it does not import into Swift.
let highestSignal: Int32 = 64

/// Forks; the child sets itself up and execs, or reports the failing stage and exits 127.
private func fork_and_exec(
    _ request: SpawnRequest, _ path: UnsafePointer<CChar>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
    _ envp: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
    _ directory: UnsafePointer<CChar>, _ groups: UnsafeBufferPointer<gid_t>, _ report: Int32
) -> pid_t {
    let pid = fork()
    guard pid == 0 else { return pid }

    func fail(_ stage: ChildStage) -> Never {
        var message: (Int32, Int32) = (stage.rawValue, errno)
        _ = withUnsafeBytes(of: &message) { write(report, $0.baseAddress, $0.count) }
        _exit(127)
    }

    switch request.session {
    case .newSession:
        if setsid() < 0 { fail(.session) }
    case .foregroundGroup:
        if setpgid(0, 0) < 0 { fail(.session) }
        // Still inside ftinit's blocked signal mask, so SIGTTOU cannot stop us here.
        if isatty(STDIN_FILENO) != 0 { _ = tcsetpgrp(STDIN_FILENO, getpid()) }
    }
    // ftinit blocks every signal and may have inherited ignored ones: children start clean.
    resetSignalDispositions()
    var empty = sigset_t()
    sigemptyset(&empty)
    sigprocmask(SIG_SETMASK, &empty, nil)

    for (source, target) in [(request.stdin, STDIN_FILENO), (request.stdout, STDOUT_FILENO), (request.stderr, STDERR_FILENO)] {
        if let source, dup2(source, target) < 0 { fail(.descriptors) }
    }
    if directory.pointee != 0 && chdir(directory) < 0 { fail(.directory) }
    if let identity = request.identity, identity.uid != getuid() || identity.gid != getgid() {
        if setgroups(groups.count, groups.baseAddress) < 0 { fail(.groups) }
        if setgid(identity.gid) < 0 { fail(.gid) }
        if setuid(identity.uid) < 0 { fail(.uid) }
    }
    execve(path, argv, envp)
    fail(.exec)
}

/// The file `execve` should run for `name`: itself when it holds a `/`, else the first
/// executable match in `searchPath`. Fails with ENOENT, or EACCES when only a
/// non-executable match exists (126 rather than 127).
func resolveExecutable(_ name: String, searchPath: String) -> Result<String, SpawnError> {
    if name.contains("/") {
        return access(name, X_OK) == 0 ? .success(name) : .failure(SpawnError(stage: "exec", errno: errno))
    }
    var sawUnexecutable = false
    for directory in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
        let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + name
        var info = stat()
        guard stat(candidate, &info) == 0, (info.st_mode & S_IFMT) != S_IFDIR else { continue }
        if access(candidate, X_OK) == 0 { return .success(candidate) }
        sawUnexecutable = true
    }
    return .failure(SpawnError(stage: "exec", errno: sawUnexecutable ? EACCES : ENOENT))
}

/// A NULL-terminated `char *[]` built from Swift strings; freed explicitly.
struct CStringArray {
    let pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    let count: Int

    init(_ strings: [String]) {
        count = strings.count
        pointer = .allocate(capacity: strings.count + 1)
        for (i, s) in strings.enumerated() { pointer[i] = strdup(s) }
        pointer[strings.count] = nil
    }

    func free() {
        for i in 0..<count { Glibc.free(pointer[i]) }
        pointer.deallocate()
    }
}
