#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux

/// ftinit receives signals through a signalfd only: every catchable signal is blocked and
/// read as data in the event loop, so no handler ever runs in the middle of other code.
public final class SignalReader {
    public let fd: Int32

    /// Signals that report a fault in ftinit itself: blocking them would hide a crash.
    static let synchronous: Set<Int32> = [SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT]

    public init() throws {
        // Dispositions are inherited through exec: an ignored SIGCHLD would make the kernel
        // reap every child itself and send nothing, so no death would ever be seen. Every
        // signal starts at its default; the mask below then routes them all here.
        resetSignalDispositions()
        var set = sigset_t()
        sigfillset(&set)
        for signal in Self.synchronous { sigdelset(&set, signal) }
        try syscall("block signals") { sigprocmask(SIG_SETMASK, &set, nil) }
        fd = try syscall("create signalfd") { signalfd(-1, &set, Int32(SFD_NONBLOCK | SFD_CLOEXEC)) }
    }

    /// The stop signal (SIGTERM or SIGINT) waiting to be read, if any; it stays pending. Before
    /// the loop runs (config, preflight, boot), this is how a stop request is seen in time.
    public func pendingStop() -> Int32? {
        var pending = sigset_t()
        guard sigpending(&pending) == 0 else { return nil }
        return [SIGTERM, SIGINT].first { sigismember(&pending, $0) == 1 }
    }

    /// The signals that arrived since the last call (each standard signal at most once).
    public func drain() -> [Int32] {
        var received: [Int32] = []
        var info = signalfd_siginfo()
        while read(fd, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
            received.append(Int32(bitPattern: info.ssi_signo))
        }
        return received
    }
}

/// Every signal back to its default disposition (SIGKILL and SIGSTOP have no other): ftinit
/// at start, and each child between fork and exec (only `signal`, async-signal-safe).
func resetSignalDispositions() {
    for signal in 1...highestSignal where signal != SIGKILL && signal != SIGSTOP {
        Glibc.signal(signal, SIG_DFL)
    }
}

/// Registers ftinit as child subreaper when it is not PID 1, so orphans of its services are
/// re-parented to it and reaped (shareProcessNamespace pods, runs on a developer's host).
public func becomeSubreaperUnlessInit() {
    guard getpid() != 1 else { return }
    if ftinit_set_child_subreaper() != 0 {
        Log.event(.warn, "subreaper-failed", Log.field("error", errorString(errno)))
    }
}

/// `kill(target, signal)` (a negative target: a process group), reporting a refusal: the
/// kernel refuses when ftinit lacks the KILL capability and the process runs as another user.
/// ESRCH (nothing left to signal) is not a refusal. Whether the signal went out.
func deliver(_ signal: Int32, to target: pid_t, subject: String) -> Bool {
    guard kill(target, signal) != 0, errno != ESRCH else { return true }
    let error = errno
    Log.event(.error, "signal-refused", subject, "pid=\(abs(target))", "signal=\(SignalName.name(of: signal))",
              Log.field("error", errorString(error)),
              Log.field("hint", error == EPERM ? "it runs as another user: ftinit needs capability KILL" : "cannot signal it"))
    return false
}
