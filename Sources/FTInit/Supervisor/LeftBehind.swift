#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Finding what a service that exited left running: the classic mistake of a daemon that
/// forks into the background (`nginx` without `daemon off;`, `php-fpm` without
/// `--nodaemonize`) looks to its supervisor like a service that exited with 0.
extension ProcessTable {
    /// Processes still in the session `leader` started (services run in their own session), or
    /// adopted by ftinit (`adopter`: orphans are reparented to PID 1 or to the subreaper) and
    /// not among `known` (ftinit's own children).
    func leftBehind(by leader: pid_t, adopter: pid_t, known: Set<pid_t>) -> [ProcessStat] {
        processes.filter { process in
            process.pid != leader && process.pid != adopter
                && (process.session == leader || (process.parent == adopter && !known.contains(process.pid)))
        }
    }
}
