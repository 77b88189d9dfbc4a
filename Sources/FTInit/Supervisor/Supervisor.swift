#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Multi-service mode: renders templates and the TLS pair, starts tasks and services in
/// `after` order, checks their health, serves the control socket, and on the first death
/// (or unhealthy service, or SIGTERM) stops the rest in reverse start order, then exits.
public final class Supervisor {
    let config: Config
    let children: [Child]
    private let plan: RunPlan
    private let startOrder: [Child]        // topological
    var started: [Child] = []              // in the order they actually started
    let loop: EventLoop
    private let signals: SignalReader
    private let output: OutputRouter?
    let baseEnvironment: [String]
    private let devNull: Int32
    private let socketPath: String
    private var control: ControlServer?
    var metrics: MetricsAgent?
    /// Exits of children that are not programs (exec checks), by pid.
    var auxiliary: [pid_t: (ExitStatus) -> Void] = [:]

    enum Phase { case running, stopping(deadline: Instant), finished }
    var phase = Phase.running
    private var exitCode: Int32?
    /// Why ftinit is stopping, for `ftinit probe` and `ftinit status`.
    private(set) var stopReason: String?
    private var stopping: Child?
    /// A requested stop needed SIGKILL, or a signal was refused: the exit code says so.
    private var stoppedUncleanly = false

    /// How long output still queued at exit may take to go out (a stalled reader gets no more).
    static let exitFlush = TimeSpan.seconds(1)

    /// Signals passed on to every running child rather than acted upon.
    static let forwarded: Set<Int32> = [SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH, SIGQUIT]

    init(config: Config, plan: RunPlan, environment: [String], signals: SignalReader) throws {
        self.config = config
        self.plan = plan
        children = plan.children
        let order = DependencyGraph(config.programs).order() ?? config.programs.map(\.name)
        startOrder = order.compactMap { name in plan.children.first { $0.program.name == name } }
        baseEnvironment = environment
        socketPath = environmentDictionary(environment)["FTINIT_SOCKET"].flatMap { $0.isEmpty ? nil : $0 } ?? config.socketPath
        loop = try EventLoop()
        self.signals = signals
        OutputSink.stdout.attach(to: loop)
        OutputSink.stderr.attach(to: loop)
        output = config.logPrefix ? OutputRouter(loop: loop) : nil
        devNull = try syscall("open /dev/null") { open("/dev/null", O_RDWR | O_CLOEXEC) }
        for child in children { attachMonitor(to: child) }
    }

    /// PID 1's phases, in order, like tini's `main`: signals first (so that nothing sent from
    /// now on is lost or acted upon by the kernel's defaults), then the config and the checks
    /// against this machine, then the control socket, boot (templates, TLS), the start and the
    /// loop, then the finish. Fatal exits happen only before the loop. Returns the exit code.
    public static func run(configPath: String) -> Int32 {
        // What could not be written yet goes out now, if its reader takes it within a moment.
        defer {
            OutputSink.stdout.flushAtExit(within: Self.exitFlush)
            OutputSink.stderr.flushAtExit(within: Self.exitFlush)
        }
        let signals: SignalReader
        do {
            signals = try SignalReader()
        } catch {
            Log.event(.error, "setup-failed", Log.field("error", "\(error)"))
            return ExitCode.osError
        }
        let environment = currentEnvironment()
        let config: Config
        let plan: RunPlan
        do {
            config = try loadConfig(path: configPath, environment: environmentDictionary(environment)).get()
            plan = try preflight(config).get()  // may wait on a name lookup
        } catch {
            Log.diagnostics(error.diagnostics)
            return ExitCode.config
        }
        if stoppedBeforeStart(signals) { return 0 }
        do {
            let supervisor = try Supervisor(config: config, plan: plan, environment: environment, signals: signals)
            return try supervisor.run()
        } catch let error as BootError {
            Log.event(.error, "boot-failed", Log.field("error", error.description))
            return error.exitCode
        } catch {
            Log.event(.error, "setup-failed", Log.field("error", "\(error)"))
            return ExitCode.osError
        }
    }

    /// A stop requested before anything started (`docker stop` while the config's names
    /// resolve, or while the TLS key is made): nothing is started, ftinit exits 0.
    static func stoppedBeforeStart(_ signals: SignalReader) -> Bool {
        guard let signal = signals.pendingStop() else { return false }
        Log.event(.info, "stop-requested", "signal=\(SignalName.name(of: signal))")
        Log.event(.info, "exiting", "code=0")
        return true
    }

    /// Everything that may fail fatally happens before the loop: a PID 1 that dies takes the
    /// container with it, so inside the loop problems are logged and supervision goes on.
    func run() throws -> Int32 {
        becomeSubreaperUnlessInit()
        try loop.watch(signals.fd) { [unowned self] in self.handleSignals() }
        control = try ControlServer(path: socketPath, loop: loop) { [unowned self] in self.statusReport() }
        defer { control?.shutdown() }
        Log.event(.info, "starting", Log.field("config", config.path),
                  "services=\(config.services.count)", "tasks=\(config.tasks.count)")
        try boot()
        if Self.stoppedBeforeStart(signals) { return 0 }
        startMetrics()
        startReady()
        while true {
            if case .finished = phase { return exitCode ?? 0 }
            try loop.runOnce()
        }
    }

    /// Templates, then the TLS pair: files the services read, written before any of them starts.
    private func boot() throws {
        let expander = Expander(environment: environmentDictionary(baseEnvironment))
        do {
            try TemplateRenderer.applyAll(Array(zip(config.templates, plan.templateOwners)), expander: expander)
        } catch {
            if case .config(let diagnostics) = error {
                Log.diagnostics(diagnostics)
            }
            throw error
        }
        for template in config.templates {
            Log.event(.info, "rendered", Log.field("template", template.destination), Log.field("source", template.source))
        }
        if let tls = config.tls {
            let outcome = try TLSProvisioner.ensure(tls, owner: plan.tlsOwner)
            let (verb, reason): (String, String)
            switch outcome {
            case .generated(let why): (verb, reason) = ("generated", why)
            case .kept(let why): (verb, reason) = ("kept", why)
            }
            Log.event(.info, "tls", verb, Log.field("cert", tls.cert), Log.field("key", tls.key), Log.field("reason", reason))
        }
    }

    // MARK: starting

    /// Starts every waiting program whose dependencies are satisfied. One pass in
    /// topological order suffices: a service without a check that starts satisfies its
    /// dependents at once; one with a check calls this again when it turns healthy.
    func startReady() {
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
        var request = spawnRequest(for: child, argv: program.argv)
        var pipes: (stdout: Int32, stderr: Int32)?
        do {
            pipes = try output?.attach(name: program.name)
            request.stdout = pipes?.stdout
            request.stderr = pipes?.stderr
            let pid = try spawn(request)
            child.state = .running(pid: pid)
            child.startedAt = .now()
            started.append(child)
            Log.event(.info, "started", program.logSubject, "pid=\(pid)")
            if let timeout = program.timeout {
                child.timeoutTimer = loop.schedule(at: .now() + timeout) { [unowned self] in self.taskTimedOut(child, timeout) }
            }
            child.monitor?.begin()
        } catch let error as SpawnError {
            child.state = .ended(.exited(error.exitCode))
            Log.event(.error, "exec-failed", program.logSubject, Log.field("command", program.argv[0]), Log.field("error", error.description))
            beginStop(exitCode: error.exitCode, reason: "\(program.name) could not be started: \(error)")
        } catch {
            child.state = .ended(.exited(ExitCode.osError))
            Log.event(.error, "start-failed", program.logSubject, Log.field("error", "\(error)"))
            beginStop(exitCode: ExitCode.osError, reason: "\(program.name) could not be started: \(error)")
        }
        if let pipes {
            close(pipes.stdout)
            close(pipes.stderr)
        }
    }

    /// How `argv` runs on behalf of `child`: its user, dir and environment.
    func spawnRequest(for child: Child, argv: [String]) -> SpawnRequest {
        var request = SpawnRequest(
            argv: argv,
            environment: mergedEnvironment(baseEnvironment, (child.identity?.environment ?? []) + child.program.env))
        request.directory = child.program.dir?.value
        request.identity = child.identity
        request.stdin = devNull
        return request
    }

    private func taskTimedOut(_ child: Child, _ timeout: TimeSpan) {
        guard let pid = child.pid else { return }
        child.timeoutTimer = nil
        child.timedOut = true
        Log.event(.warn, "timeout", child.program.logSubject, "pid=\(pid)", "after=\(timeout)")
        send(SIGKILL, to: -pid, of: child)
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

    /// The signals of one wake-up, deaths first: signalfd hands standard signals out by
    /// number, TERM (15) before CHLD (17), and a service that died while `docker stop` was on
    /// its way would otherwise be stopped "on request" and its death reported as exit 0.
    private func handleSignals() {
        let received = signals.drain()
        for signal in received.filter({ $0 == SIGCHLD }) + received.filter({ $0 != SIGCHLD }) {
            switch signal {
            case SIGCHLD:
                for (pid, status) in reapChildren() { childEnded(pid: pid, status: status) }
            case SIGTERM, SIGINT:
                Log.event(.info, "stop-requested", "signal=\(SignalName.name(of: signal))")
                beginStop(exitCode: 0, reason: "stop requested by SIG\(SignalName.name(of: signal))")
            case _ where Self.forwarded.contains(signal):
                for child in started {
                    guard let pid = child.pid, send(signal, to: pid, of: child) else { continue }
                    Log.event(.info, "forwarded", "signal=\(SignalName.name(of: signal))", child.program.logSubject, "pid=\(pid)")
                }
            case SIGPIPE:
                break  // a client or log reader went away mid-write; the write's error says enough
            case SIGCONT:
                break  // ftinit itself was resumed after a SIGSTOP: nothing to do, nothing to report
            default:
                Log.event(.info, "ignored", "signal=\(SignalName.name(of: signal))")
            }
        }
    }

    /// A reaped pid: one of ours, an exec check's, or an orphan that only needed reaping.
    private func childEnded(pid: pid_t, status: ExitStatus) {
        if let handler = auxiliary.removeValue(forKey: pid) { return handler(status) }
        guard let child = children.first(where: { $0.pid == pid }) else { return }
        child.state = .ended(status)
        child.monitor?.end()
        for timer in [child.timeoutTimer, child.stopTimer].compactMap({ $0 }) { loop.cancel(timer) }
        child.timeoutTimer = nil
        child.stopTimer = nil
        Log.event(.info, "exited", child.program.logSubject, "pid=\(pid)", status.description)

        switch phase {
        case .stopping:
            if child === stopping { stopNext() }
        case .running:
            if child.satisfiesDependents {
                startReady()  // a task succeeded
            } else if child.program.kind == .service, status == .exited(0), let left = leftBehind(by: pid) {
                Log.event(.error, "daemonized", child.program.logSubject, "pid=\(pid)", "left=\(left)",
                          Log.field("hint", "it forked into the background: run it in the foreground"))
                beginStop(exitCode: ExitCode.forUnexpectedExit(status),
                          reason: "\(child.program.name) exited with code 0 and left \(left) process\(left == 1 ? "" : "es") running: "
                              + "it daemonized; run it in the foreground")
            } else {
                beginStop(exitCode: ExitCode.forUnexpectedExit(status), reason: "\(child.program.name) exited with \(status.phrase)")
            }
        case .finished:
            break
        }
    }

    /// How many processes the service whose session `pid` led left running, if any: a
    /// service that daemonizes by mistake (docs/ftinit.md, "Runtime behaviour").
    private func leftBehind(by pid: pid_t) -> Int? {
        var reader = FileReader()
        let known = Set(children.compactMap(\.pid) + auxiliary.keys)
        let left = ProcessTable.read(reader: &reader).leftBehind(by: pid, adopter: getpid(), known: known)
        return left.isEmpty ? nil : left.count
    }

    // MARK: stopping

    func beginStop(exitCode code: Int32, reason: String) {
        guard case .running = phase else { return }
        exitCode = code
        stopReason = reason
        let deadline = Instant.now() + config.stopTimeout
        phase = .stopping(deadline: deadline)
        for child in children { child.monitor?.end() }
        metrics?.stop()  // no last push: shutdown must not wait for InfluxDB
        // If a process survives even SIGKILL (stuck in the kernel), ftinit exits anyway.
        loop.schedule(at: deadline + .seconds(2)) { [unowned self] in self.finish() }
        stopNext()
    }

    /// Stops the most recently started child still running; `finish` when none is left.
    private func stopNext() {
        guard case .stopping(let deadline) = phase else { return }
        guard let child = started.last(where: { $0.pid != nil && !$0.signalRefused }), let pid = child.pid else {
            stopping = nil
            finish()
            return
        }
        stopping = child
        let program = child.program
        let timeout = min(program.stopTimeout, deadline.since(.now()))
        guard send(program.stopSignal, to: -pid, of: child) else { return stopNext() }
        Log.event(.info, "stopping", program.logSubject, "pid=\(pid)", "signal=\(SignalName.name(of: program.stopSignal))", "timeout=\(timeout)")
        let sentAt = Instant.now()
        // A task's own timeout ends here: the stop's rules (its timeout, then SIGKILL, exit 1)
        // decide from now on.
        if let timer = child.timeoutTimer { loop.cancel(timer); child.timeoutTimer = nil }
        child.stopTimer = loop.schedule(at: sentAt + timeout) { [unowned self] in
            child.stopTimer = nil
            guard child.pid == pid else { return }
            self.stoppedUncleanly = true
            guard self.send(SIGKILL, to: -pid, of: child) else { return self.stopNext() }
            Log.event(.warn, "killed", program.logSubject, "pid=\(pid)", "after=\(Instant.now().since(sentAt))")
        }
    }

    /// `deliver` to the child (a negative target: its process group, as it leads its own
    /// session); a refused signal marks it: ftinit cannot stop it, and it ends with the
    /// container (the kernel kills a PID namespace whose PID 1 exits).
    @discardableResult
    private func send(_ signal: Int32, to target: pid_t, of child: Child) -> Bool {
        if deliver(signal, to: target, subject: child.program.logSubject) { return true }
        child.signalRefused = true
        stoppedUncleanly = true
        return false
    }

    private func finish() {
        if case .finished = phase { return }
        phase = .finished
        killRemainingChildren()
        output?.drainAll()
        if exitCode == 0 && stoppedUncleanly { exitCode = 1 }
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
