#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How a child ended, decoded from a `waitpid` status.
public enum ExitStatus: Equatable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public init(waitStatus status: Int32) {
        let signal = status & 0x7f
        self = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    /// The shell convention: the exit code, or 128 + signal number.
    public var shellCode: Int32 {
        switch self {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal
        }
    }

    /// `code 3` or `signal KILL`, for messages.
    public var phrase: String {
        switch self {
        case .exited(let code): return "code \(code)"
        case .signaled(let signal): return "signal \(SignalName.name(of: signal))"
        }
    }

    /// `code=3` or `signal=KILL`, for log lines.
    public var description: String {
        switch self {
        case .exited(let code): return "code=\(code)"
        case .signaled(let signal): return "signal=\(SignalName.name(of: signal))"
        }
    }
}

/// Collects every child that has ended: `waitpid(-1, WNOHANG)` until nothing is left,
/// because one SIGCHLD can stand for many exits.
public func reapChildren() -> [(pid: pid_t, status: ExitStatus)] {
    var reaped: [(pid: pid_t, status: ExitStatus)] = []
    while true {
        var status: Int32 = 0
        let pid = waitpid(-1, &status, WNOHANG)
        if pid > 0 {
            reaped.append((pid, ExitStatus(waitStatus: status)))
        } else if pid < 0 && errno == EINTR {
            continue
        } else {
            return reaped  // 0: children remain but none has ended; ECHILD: no children at all
        }
    }
}

/// Kills and reaps the processes still parented to ftinit (orphans that outlived their
/// service), so nothing survives it even when it is not PID 1. They are unreaped children,
/// so their pids cannot have been reused. Bounded: a process stuck in the kernel, or a fork
/// loop that keeps re-parenting new orphans, cannot hold ftinit's exit for more than a second.
public func killRemainingChildren() {
    let me = getpid()
    let deadline = Instant.now() + .seconds(1)
    while Instant.now() < deadline {
        let remaining = childPIDs(of: me)
        if remaining.isEmpty { return }
        let killed = remaining.filter { kill($0, SIGKILL) == 0 }
        if reapChildren().isEmpty {
            if killed.isEmpty { return }  // all refused (no CAP_KILL): waiting cannot help
            usleep(1000)
        }
    }
}

/// The processes whose parent is `parent`, from one read of /proc.
func childPIDs(of parent: pid_t) -> [pid_t] {
    var reader = FileReader()
    return ProcessTable.read(reader: &reader).processes.filter { $0.parent == parent }.map(\.pid)
}

/// Asks the supervisor to call a handler with the exit status of a pid it did not start as a
/// program (an exec check, a name lookup) once that pid is reaped.
typealias ChildExitRouter = (pid_t, @escaping (ExitStatus) -> Void) -> Void
