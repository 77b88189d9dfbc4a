#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One configured program at run time: where it is in its life and what ftinit holds for it.
final class Child {
    enum State: Equatable {
        case waiting                    // its `after` dependencies are not satisfied yet
        case running(pid: pid_t)        // exec succeeded, not reaped yet
        case ended(ExitStatus)          // reaped (or could not be started)
    }

    let program: Program
    let identity: Identity?
    var state: State = .waiting
    /// A task's `timeout` timer, while it runs and is not being stopped.
    var timeoutTimer: Int?
    /// The stop's timer (SIGKILL after `stop-timeout`), while it is being stopped.
    var stopTimer: Int?
    var timedOut = false
    /// Where its tcp/http check connects, resolved before the loop starts.
    var checkAddress: SocketAddress?
    var monitor: HealthMonitor?
    var startedAt: Instant?
    /// The kernel refused to signal it (see `Supervisor.send`): stopping skips it.
    var signalRefused = false

    init(program: Program, identity: Identity?) {
        self.program = program
        self.identity = identity
    }

    var pid: pid_t? {
        if case .running(let pid) = state { return pid }
        return nil
    }

    /// Whether what comes `after` this program may start: a service once it runs (and has
    /// passed its check, if it has one), a task once it exited 0.
    var satisfiesDependents: Bool {
        switch (program.kind, state) {
        case (.service, .running): return monitor?.everHealthy ?? true
        case (.task, .ended(.exited(0))): return !timedOut
        default: return false
        }
    }
}
