#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Every child process ftinit waits for, and who hears of its end: the programs, the exec
/// checks, the helper children (name lookup, disk walk). A reaped pid goes to its owner;
/// one that is nobody's was an orphan that only needed reaping.
final class PidRegistry {
    private var owners: [pid_t: (ExitStatus) -> Void] = [:]

    func register(_ pid: pid_t, _ onExit: @escaping (ExitStatus) -> Void) {
        owners[pid] = onExit
    }

    func reaped(_ pid: pid_t, _ status: ExitStatus) {
        owners.removeValue(forKey: pid)?(status)
    }

    /// The pids still waited for.
    var pids: Set<pid_t> { Set(owners.keys) }
}
