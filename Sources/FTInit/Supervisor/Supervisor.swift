#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Multi-service mode: renders templates and the TLS pair, starts tasks and services in
/// `after` order, checks their health, serves the control socket, and on the first death
/// (or unhealthy service, or SIGTERM) stops the rest along the `after` graph, then exits.
public final class Supervisor {
    let config: Config
    let children: [Child]
    private let plan: RunPlan
    private let startOrder: [Child]        // topological
    /// For each program's name, the names of the programs that come after it, directly or not.
    let dependents: [String: Set<String>]
    var started: [Child] = []              // in the order they actually started
    let loop: EventLoop
    private let signals: SignalReader
    private let output: OutputRouter?
    let baseEnvironment: [String]
    private let devNull: Int32
    private let socketPath: String
    private var control: ControlServer?
    var metrics: MetricsAgent?
    /// Who hears of each reaped pid: programs, exec checks, helper children.
    let registry = PidRegistry()

    enum Phase { case running, stopping(deadline: Instant), finished }
    var phase = Phase.running
    private var exitCode: Int32?
    /// Why ftinit is stopping, for `ftinit probe` and `ftinit status`.
    private(set) var stopReason: String?
    /// A restart someone asked for (`ftinit restart`), while it is under way.
    var restart: Restart?
    struct Restart {
        let service: String
        /// The service and everything after it, directly or not: stopped, then started again.
        let members: Set<String>
    }
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
        let graph = DependencyGraph(config.programs)
        let order = graph.order() ?? config.programs.map(\.name)
        dependents = graph.dependents()
        startOrder = order.compactMap { name in plan.children.first { $0.program.name == name } }
        baseEnvironment = environment
        socketPath = environmentDictionary(environment)["FTINIT_SOCKET"].flatMap { $0.isEmpty ? nil : $0 } ?? config.socketPath
        loop = try EventLoop()
        self.signals = signals
        OutputSink.stdout.attach(to: loop)
        OutputSink.stderr.attach(to: loop)
        output = config.logPrefix ? OutputRouter(loop: loop) : nil
        devNull = try syscall("open /dev/null") { open("/dev/null", O_RDWR | O_CLOEXEC) }
        for child in children {
            child.attach(loop: loop, checker: makeChecker(for: child)) { [unowned self] child, effect in
                self.lifecycleReported(effect, of: child)
            }
        }
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

    /// The phases after the config: control socket, boot, start, loop, finish. Everything
    /// that may fail fatally happens before the loop: a PID 1 that dies takes the container
    /// with it, so inside the loop problems are logged and supervision goes on.
    func run() throws -> Int32 {
        becomeSubreaperUnlessInit()
        try loop.watch(signals.fd) { [unowned self] in self.handleSignals() }
        control = try ControlServer(path: socketPath, loop: loop) { [unowned self] in self.answer($0, from: $1) }
        defer { control?.shutdown() }
        Log.event(.info, "starting", Log.field("config", config.path),
                  "services=\(config.services.count)", "tasks=\(config.tasks.count)")
        try boot()
        if Self.stoppedBeforeStart(signals) { return 0 }
        startMetrics()
        startReady()
        return runLoop()
    }

    /// Until `finish`. The loop's own failure (epoll refusing a wait: a bug, not a condition)
    /// still ends in `finish`, so no child is left behind by a PID 1 that throws.
    private func runLoop() -> Int32 {
        while true {
            if case .finished = phase { return exitCode ?? 0 }
            do {
                try loop.runOnce()
            } catch {
                Log.event(.error, "loop-failed", Log.field("error", "\(error)"))
                exitCode = ExitCode.osError
                stopReason = "ftinit's loop failed: \(error)"
                finish()
            }
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
            guard child.life.state == .waiting, restart?.members.contains(child.program.name) != true else { continue }
            let ready = child.program.after.allSatisfy { dependency in
                children.first { $0.program.name == dependency.value }?.life.satisfiesDependents ?? false
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
            registry.register(pid) { [unowned child] status in child.handle(.reaped(status)) }
            started.removeAll { $0 === child }  // started again by a restart
            started.append(child)
            Log.event(.info, "started", program.logSubject, "pid=\(pid)")
            child.handle(.spawned(pid: pid, at: .now()))
        } catch let error as SpawnError {
            child.handle(.couldNotStart(.exited(error.exitCode)))
            Log.event(.error, "exec-failed", program.logSubject, Log.field("command", program.argv[0]), Log.field("error", error.description))
            beginStop(exitCode: error.exitCode, reason: "\(program.name) could not be started: \(error)")
        } catch {
            child.handle(.couldNotStart(.exited(ExitCode.osError)))
            Log.event(.error, "start-failed", program.logSubject, Log.field("error", "\(error)"))
            beginStop(exitCode: ExitCode.osError, reason: "\(program.name) could not be started: \(error)")
        }
        if let pipes {
            close(pipes.stdout)
            close(pipes.stderr)
        }
    }

    /// How `argv` runs on behalf of `child`: its user, dir and environment (ftinit's, or with
    /// `env-clear` only PATH and its `env-pass` names of it; then its identity's and its `env`).
    func spawnRequest(for child: Child, argv: [String]) -> SpawnRequest {
        let inherited = child.program.envPass.map { kept in
            baseEnvironment.filter { entry in
                let name = entry.prefix { $0 != "=" }
                return name == "PATH" || kept.contains { $0 == name }
            }
        } ?? baseEnvironment
        var request = SpawnRequest(
            argv: argv,
            environment: mergedEnvironment(inherited, (child.identity?.environment ?? []) + child.program.env))
        request.directory = child.program.dir?.value
        request.identity = child.identity
        request.stdin = devNull
        return request
    }

    /// With only tasks configured, ftinit is done once the last one succeeded.
    private func finishIfNothingLeft() {
        guard case .running = phase else { return }
        if children.allSatisfy({ $0.program.kind == .task && $0.life.satisfiesDependents }) {
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
                for (pid, status) in reapChildren() { registry.reaped(pid, status) }
            case SIGTERM, SIGINT:
                Log.event(.info, "stop-requested", "signal=\(SignalName.name(of: signal))")
                beginStop(exitCode: 0, reason: "stop requested by SIG\(SignalName.name(of: signal))")
            case _ where Self.forwarded.contains(signal):
                for child in started {
                    guard let pid = child.life.pid, child.send(signal, group: false) else { continue }
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

    /// What a child's lifecycle reports: the supervisor's part of each transition.
    private func lifecycleReported(_ effect: Lifecycle.Effect, of child: Child) {
        let subject = child.program.logSubject
        let pid = child.startedPid ?? 0
        switch effect {
        case .becameHealthy:
            Log.event(.info, "healthy", subject, Log.field("check", child.program.check?.text ?? ""),
                      "latency=\(child.checker?.lastLatency ?? .zero)")
            startReady()
        case .becameUnhealthy:
            let check = child.program.check
            let summary = check.flatMap { spec in child.life.health.map { $0.failureSummary(spec) } } ?? ""
            let last = child.checker?.lastResult
            Log.event(.error, "unhealthy", subject, Log.field("check", check?.text ?? ""),
                      Log.field("reason", summary), Log.field("error", last ?? ""))
            beginStop(exitCode: ExitCode.unhealthy, reason: "\(child.program.name) unhealthy: \(last ?? summary)")
        case .timedOut(let after):
            Log.event(.warn, "timeout", subject, "pid=\(pid)", "after=\(after)")
        case .stopping(let signal, let timeout):
            guard child.life.stoppable else { return }  // the signal was refused
            Log.event(.info, "stopping", subject, "pid=\(pid)", "signal=\(SignalName.name(of: signal))", "timeout=\(timeout)")
        case .killed(let after):
            if case .stopping = phase { stoppedUncleanly = true }  // not for a restart's stop
            guard case .stopping(let stopping) = child.life.state, !stopping.refused else { return }
            Log.event(.warn, "killed", subject, "pid=\(pid)", "after=\(after)")
        case .refused:
            stoppedUncleanly = true
            // The stop (or restart) under way goes on without it: not from inside the stop that
            // sent the refused signal, on the next turn of the loop.
            if stopUnderWay { loop.schedule(at: .now()) { [unowned self] in self.stopWhatIsFree() } }
        case .ended(let status):
            childEnded(child, pid: pid, status: status)
        case .schedule, .signalGroup, .stopGroup, .runCheck:
            break  // performed by the child itself
        }
    }

    /// A program was reaped.
    private func childEnded(_ child: Child, pid: pid_t, status: ExitStatus) {
        Log.event(.info, "exited", child.program.logSubject, "pid=\(pid)", status.description)
        switch phase {
        case .stopping:
            stopWhatIsFree()
        case .running:
            if let restart, restart.members.contains(child.program.name) {
                child.handle(.reset)  // it waits until the whole restart has stopped
                stopWhatIsFree()
            } else if child.life.satisfiesDependents {
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
        let known = registry.pids
        let left = ProcessTable.read(reader: &reader).leftBehind(by: pid, adopter: getpid(), known: known)
        return left.isEmpty ? nil : left.count
    }

    // MARK: stopping

    func beginStop(exitCode code: Int32, reason: String) {
        guard case .running = phase else { return }
        exitCode = code
        stopReason = reason
        restart = nil  // the stop takes over: what it had stopped stays waiting
        let deadline = Instant.now() + config.stopTimeout
        phase = .stopping(deadline: deadline)
        for child in children { child.handle(.endChecks) }
        metrics?.stop()  // no last push: shutdown must not wait for InfluxDB
        // If a process survives even SIGKILL (stuck in the kernel), ftinit exits anyway.
        loop.schedule(at: deadline + .seconds(2)) { [unowned self] in self.finish() }
        stopWhatIsFree()
    }

    /// Stops along the dependency graph, as s6-rc and systemd do: every running child of the
    /// stop (all of them while ftinit stops, a restart's members) whose dependents (what comes
    /// `after` it, directly or not) have all ended gets its stop signal now, each with its own
    /// stop-timeout (cut to the deadline while ftinit stops), so independent children stop
    /// together and a chain stops from its end. Once nothing holds: `finish`, or the restart
    /// starts them again. Their lifecycles take it from there: each end, or refused signal,
    /// calls this again.
    func stopWhatIsFree() {
        guard stopUnderWay else { return }
        let deadline: Instant? = if case .stopping(let end) = phase { end } else { nil }
        let scope = restart?.members
        let holding = Set(children.filter { scope?.contains($0.program.name) ?? true }
            .filter(\.life.holdsDependencies).map(\.program.name))
        guard !holding.isEmpty else { return deadline == nil ? restartStopped() : finish() }
        for child in started.reversed() where scope?.contains(child.program.name) ?? true {
            guard case .running(let running) = child.life.state, !running.refused,
                  holding.isDisjoint(with: dependents[child.program.name, default: []]) else { continue }
            let timeout = deadline.map { min(child.program.stopTimeout, $0.since(.now())) } ?? child.program.stopTimeout
            child.handle(.stop(signal: child.program.stopSignal, within: timeout, at: .now()))
        }
    }

    /// ftinit is stopping, or a restart is stopping its members.
    private var stopUnderWay: Bool {
        switch phase {
        case .stopping: return true
        case .running: return restart != nil
        case .finished: return false
        }
    }

    /// Every member of the restart has ended (or refuses signals): they start again, in order.
    private func restartStopped() {
        restart = nil
        startReady()
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
