#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Multi-service mode: starts tasks and services in `after` order, watches them, and on the
/// first death (or SIGTERM) stops the rest in reverse start order, then exits.
public final class Supervisor {
    private let config: Config
    private let children: [Child]
    private let startOrder: [Child]        // topological
    private var started: [Child] = []      // in the order they actually started
    private let loop: EventLoop
    private let signals: SignalReader
    private let output: OutputRouter?
    private let baseEnvironment: [String]
    private let devNull: Int32

    private enum Phase { case running, stopping(deadline: Instant), finished }
    private var phase = Phase.running
    private var exitCode: Int32?
    private var stopping: Child?
    private var neededKill = false

    /// Signals passed on to every running child rather than acted upon.
    static let forwarded: Set<Int32> = [SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH, SIGQUIT]

    init(config: Config, children: [Child], environment: [String]) throws {
        self.config = config
        self.children = children
        let order = DependencyGraph(config.programs).order() ?? config.programs.map(\.name)
        startOrder = order.compactMap { name in children.first { $0.program.name == name } }
        baseEnvironment = environment
        loop = try EventLoop()
        signals = try SignalReader()
        output = config.logPrefix ? OutputRouter(loop: loop) : nil
        devNull = try syscall("open /dev/null") { open("/dev/null", O_RDWR | O_CLOEXEC) }
    }

    /// Loads the config at `path`, checks it against this machine and runs it. Returns the exit code.
    public static func run(configPath: String) -> Int32 {
        let environment = currentEnvironment()
        let config: Config
        switch loadConfig(path: configPath, environment: environmentDictionary(environment)) {
        case .success(let loaded): config = loaded
        case .failure(let errors):
            for diagnostic in errors.diagnostics { writeAll(STDERR_FILENO, "\(diagnostic)\n") }
            return ExitCode.config
        }
        let children: [Child]
        switch preflight(config) {
        case .success(let checked): children = checked
        case .failure(let errors):
            for diagnostic in errors.diagnostics { writeAll(STDERR_FILENO, "\(diagnostic)\n") }
            return ExitCode.config
        }
        do {
            let supervisor = try Supervisor(config: config, children: children, environment: environment)
            return try supervisor.run()
        } catch {
            Log.event(.error, "setup-failed", Log.field("error", "\(error)"))
            return ExitCode.osError
        }
    }

    func run() throws -> Int32 {
        becomeSubreaperUnlessInit()
        try loop.watch(signals.fd) { [unowned self] in self.handleSignals() }
        Log.event(.info, "starting", Log.field("config", config.path),
                  "services=\(config.services.count)", "tasks=\(config.tasks.count)")
        startReady()
        while true {
            if case .finished = phase { return exitCode ?? 0 }
            try loop.runOnce()
        }
    }

    // MARK: starting

    /// Starts every waiting program whose dependencies are satisfied. One pass in
    /// topological order suffices: a service that starts satisfies its dependents at once.
    private func startReady() {
        for child in startOrder {
            guard case .running = phase else { return }
            guard child.state == .waiting else { continue }
            let ready = child.program.after.allSatisfy { dependency in
                children.first { $0.program.name == dependency.value }?.satisfiesDependents ?? false
            }
            if ready { start(child) }
        }
        finishIfNothingLeft()
    }

    private func start(_ child: Child) {
        let program = child.program
        var request = SpawnRequest(
            argv: program.argv,
            environment: mergedEnvironment(baseEnvironment, (child.identity?.environment ?? []) + program.env))
        request.directory = program.dir?.value
        request.identity = child.identity
        request.stdin = devNull
        var pipes: (stdout: Int32, stderr: Int32)?
        do {
            pipes = try output?.attach(name: program.name)
            request.stdout = pipes?.stdout
            request.stderr = pipes?.stderr
            let pid = try spawn(request)
            child.state = .running(pid: pid)
            started.append(child)
            Log.event(.info, "started", program.logSubject, "pid=\(pid)")
            if let timeout = program.timeout {
                child.timer = loop.schedule(at: .now() + timeout) { [unowned self] in self.taskTimedOut(child, timeout) }
            }
        } catch let error as SpawnError {
            child.state = .ended(.exited(error.exitCode))
            Log.event(.error, "exec-failed", program.logSubject, Log.field("command", program.argv[0]), Log.field("error", error.description))
            beginStop(exitCode: error.exitCode)
        } catch {
            child.state = .ended(.exited(ExitCode.osError))
            Log.event(.error, "start-failed", program.logSubject, Log.field("error", "\(error)"))
            beginStop(exitCode: ExitCode.osError)
        }
        if let pipes {
            close(pipes.stdout)
            close(pipes.stderr)
        }
    }

    private func taskTimedOut(_ child: Child, _ timeout: TimeSpan) {
        guard let pid = child.pid else { return }
        child.timer = nil
        child.timedOut = true
        Log.event(.warn, "timeout", child.program.logSubject, "pid=\(pid)", "after=\(timeout)")
        kill(-pid, SIGKILL)
    }

    /// With only tasks configured, ftinit is done once the last one succeeded.
    private func finishIfNothingLeft() {
        guard case .running = phase else { return }
        if children.allSatisfy({ $0.program.kind == .task && $0.satisfiesDependents }) {
            exitCode = 0
            finish()
        }
    }

    // MARK: events

    private func handleSignals() {
        for signal in signals.drain() {
            switch signal {
            case SIGCHLD:
                for (pid, status) in reapChildren() { childEnded(pid: pid, status: status) }
            case SIGTERM, SIGINT:
                Log.event(.info, "stop-requested", "signal=\(SignalName.name(of: signal))")
                beginStop(exitCode: 0)
            case _ where Self.forwarded.contains(signal):
                for child in started {
                    guard let pid = child.pid else { continue }
                    kill(pid, signal)
                    Log.event(.info, "forwarded", "signal=\(SignalName.name(of: signal))", child.program.logSubject, "pid=\(pid)")
                }
            default:
                Log.event(.info, "ignored", "signal=\(SignalName.name(of: signal))")
            }
        }
    }

    /// A reaped pid: one of ours, or an orphan that only needed reaping.
    private func childEnded(pid: pid_t, status: ExitStatus) {
        guard let child = children.first(where: { $0.pid == pid }) else { return }
        child.state = .ended(status)
        if let timer = child.timer { loop.cancel(timer); child.timer = nil }
        Log.event(.info, "exited", child.program.logSubject, "pid=\(pid)", status.description)

        switch phase {
        case .stopping:
            if child === stopping { stopNext() }
        case .running:
            if child.satisfiesDependents {
                startReady()  // a task succeeded
            } else {
                beginStop(exitCode: ExitCode.forUnexpectedExit(status))
            }
        case .finished:
            break
        }
    }

    // MARK: stopping

    private func beginStop(exitCode code: Int32) {
        guard case .running = phase else { return }
        exitCode = code
        let deadline = Instant.now() + config.stopTimeout
        phase = .stopping(deadline: deadline)
        // If a process survives even SIGKILL (stuck in the kernel), ftinit exits anyway.
        loop.schedule(at: deadline + .seconds(2)) { [unowned self] in self.finish() }
        stopNext()
    }

    /// Stops the most recently started child still running; `finish` when none is left.
    private func stopNext() {
        guard case .stopping(let deadline) = phase else { return }
        guard let child = started.last(where: { $0.pid != nil }), let pid = child.pid else {
            stopping = nil
            finish()
            return
        }
        stopping = child
        let program = child.program
        let timeout = min(program.stopTimeout, deadline.since(.now()))
        kill(-pid, program.stopSignal)
        Log.event(.info, "stopping", program.logSubject, "pid=\(pid)", "signal=\(SignalName.name(of: program.stopSignal))", "timeout=\(timeout)")
        let sentAt = Instant.now()
        child.timer = loop.schedule(at: sentAt + timeout) { [unowned self] in
            child.timer = nil
            guard child.pid == pid else { return }
            kill(-pid, SIGKILL)
            self.neededKill = true
            Log.event(.warn, "killed", program.logSubject, "pid=\(pid)", "after=\(Instant.now().since(sentAt))")
        }
    }

    private func finish() {
        if case .finished = phase { return }
        phase = .finished
        killRemainingChildren()
        output?.drainAll()
        if exitCode == 0 && neededKill { exitCode = 1 }
        Log.event(.info, "exiting", "code=\(exitCode ?? 0)")
    }
}

/// Reads and parses a config file; an unreadable file is a diagnostic too.
public func loadConfig(path: String, environment: [String: String]) -> Result<Config, ConfigErrors> {
    guard let text = readFile(path) else {
        return .failure(ConfigErrors([Diagnostic(file: path, line: nil, message: "cannot read: \(errorString(errno))")]))
    }
    return ConfigLoader.load(text: text, file: path, environment: environment)
}
