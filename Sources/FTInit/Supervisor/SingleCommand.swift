#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `ftinit -- CMD ARGS...`: the tini / dumb-init job. Runs one command, passes every signal
/// on to it, reaps every process that ends up parented to ftinit, and exits with the
/// command's status (its code, or 128 + the signal that killed it).
public enum SingleCommand {
    public static func run(_ argv: [String]) -> Int32 {
        do {
            let signals = try SignalReader()
            becomeSubreaperUnlessInit()
            var request = SpawnRequest(argv: argv, environment: currentEnvironment())
            request.session = .foregroundGroup
            let child: pid_t
            do {
                child = try spawn(request)
            } catch let error as SpawnError {
                Log.event(.error, "exec-failed", Log.field("command", argv[0]), Log.field("error", error.description))
                return error.exitCode
            }
            let loop = try EventLoop()
            var status: ExitStatus?
            try loop.watch(signals.fd) {
                for signal in signals.drain() where signal != SIGCHLD {
                    kill(child, signal)
                }
                // Drained on every wake-up: SIGCHLD may have been coalesced with others.
                for (pid, ended) in reapChildren() where pid == child { status = ended }
            }
            while status == nil { try loop.runOnce() }
            killRemainingChildren()
            return status!.shellCode
        } catch {
            Log.event(.error, "setup-failed", Log.field("error", "\(error)"))
            return ExitCode.osError
        }
    }
}
