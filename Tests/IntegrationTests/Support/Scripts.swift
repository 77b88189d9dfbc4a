#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Shell snippets the tests' services run (with `sh -c '...'`). They contain no single quote
/// (the config wraps them in single quotes) and no `${` (ftinit would expand it).
enum Scripts {
    /// The signals ftinit forwards (docs/ftinit.md, "Runtime behaviour" 5), in the order the
    /// tests send them.
    static let forwardedSignals: [(name: String, number: Int32)] = [
        ("HUP", SIGHUP), ("USR1", SIGUSR1), ("USR2", SIGUSR2), ("WINCH", SIGWINCH), ("QUIT", SIGQUIT),
    ]

    /// Traps every forwarded signal and appends its name to `log`, writes `ready` once the traps
    /// are set, then idles.
    static func signalRecorder(log: String, ready: String) -> String {
        let names = forwardedSignals.map(\.name).joined(separator: " ")
        return "for s in \(names); do trap \"echo $s >> \(log)\" $s; done; echo ok > \(ready); while :; do sleep 0.05; done"
    }

    /// Makes `count` orphans: each iteration's subshell starts a background subshell and exits
    /// at once, so the background one is re-parented to the nearest subreaper (ftinit). Each
    /// orphan sleeps `sleep` seconds, appends one line to `tally`, and exits (then it is a
    /// zombie until ftinit reaps it). Writes `ready` after the loop.
    static func orphanFactory(count: Int, sleep: String = "0.1", tally: String, ready: String) -> String {
        "i=0; while [ $i -lt \(count) ]; do ( ( sleep \(sleep); echo x >> \(tally) ) & ); i=$((i+1)); done; echo ok > \(ready)"
    }

    /// Prints `count` numbered lines (`line 1` ...) to stdout, or stderr when `toStderr`.
    static func numberedLines(_ count: Int, toStderr: Bool = false) -> String {
        "i=1; while [ $i -le \(count) ]; do echo \"line $i\"\(toStderr ? " >&2" : ""); i=$((i+1)); done"
    }
}
