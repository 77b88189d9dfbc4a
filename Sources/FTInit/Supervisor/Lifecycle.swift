#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One program's life, s6-supervise's way: one state and one transition function, `handle`,
/// which moves it on an event and answers what must be done. Nothing else changes the state,
/// and nothing here calls out: the caller (`Child`) performs the effects, so no transition
/// can re-enter another half-way. Timers belong to a state (`ownedTimers`): when the state
/// changes the others are cancelled, and a timer that fires for a state that no longer owns
/// it changes nothing.
struct Lifecycle: Equatable {
    enum Timer: Hashable, CaseIterable {
        case taskTimeout  // a task's `timeout`
        case nextCheck    // the next health check
        case kill         // the stop's SIGKILL after `stop-timeout`
    }

    enum State: Equatable {
        case waiting                  // its `after` dependencies are not satisfied yet
        case running(Running)         // exec succeeded, not reaped yet
        case stopping(Stopping)       // sent its stop signal, not reaped yet
        case ended(Ended)             // reaped, or could not be started
    }

    struct Running: Equatable {
        let pid: pid_t
        let since: Instant
        /// ftinit is stopping: no check runs any more (other services are being stopped first).
        var checksEnded = false
        /// A task killed by its own `timeout`: it does not satisfy what comes after it.
        var timedOut = false
        /// The kernel refused to signal it: ftinit cannot stop it (it ends with the container).
        var refused = false
    }

    struct Stopping: Equatable {
        let pid: pid_t
        let since: Instant
        let signalledAt: Instant
        var killed = false
        var refused = false
    }

    struct Ended: Equatable {
        let status: ExitStatus
        var timedOut = false
    }

    enum Event: Equatable {
        case spawned(pid: pid_t, at: Instant)
        case couldNotStart(ExitStatus)
        case checked(passed: Bool, at: Instant)
        case endChecks
        case timerFired(Timer, at: Instant)
        case stop(signal: Int32, within: TimeSpan, at: Instant)
        case signalRefused
        case reaped(ExitStatus)
        case reset                    // a requested restart: it waits to start again
    }

    enum Effect: Equatable {
        case schedule(Timer, at: Instant)
        case signalGroup(Int32)       // to its process group (it leads its own session)
        case stopGroup(Int32)         // the stop signal, then SIGCONT, to its process group
        case runCheck
        case becameHealthy
        case becameUnhealthy
        case timedOut(after: TimeSpan)
        case stopping(signal: Int32, timeout: TimeSpan)
        case killed(after: TimeSpan)
        case refused                  // it can no longer be stopped: the stop goes on without it
        case ended(ExitStatus)
    }

    let kind: Program.Kind
    let check: HealthCheckSpec?
    let timeout: TimeSpan?
    private(set) var state = State.waiting
    /// A checked service's health (nil without a check): a counter the transitions read and
    /// the status shows, not a state of its own.
    private(set) var health: HealthCounter?

    init(kind: Program.Kind, check: HealthCheckSpec?, timeout: TimeSpan?) {
        self.kind = kind
        self.check = check
        self.timeout = timeout
        health = check.map { _ in HealthCounter(startedAt: .now()) }  // starting, until it runs
    }

    mutating func handle(_ event: Event) -> [Effect] {
        // A timer fires only for the state that owns it: one that outlived its state is stale.
        if case .timerFired(let timer, _) = event, !ownedTimers.contains(timer) { return [] }
        switch (state, event) {
        case (.waiting, .spawned(let pid, let at)):
            state = .running(Running(pid: pid, since: at))
            health = check.map { _ in HealthCounter(startedAt: at) }
            var effects: [Effect] = []
            if let timeout { effects.append(.schedule(.taskTimeout, at: at + timeout)) }
            if check != nil { effects.append(.schedule(.nextCheck, at: at)) }
            return effects
        case (.waiting, .couldNotStart(let status)):
            state = .ended(Ended(status: status))
            return []

        case (.running, .timerFired(.nextCheck, _)):
            return [.runCheck]
        case (.running, .checked(let passed, let at)):
            guard checking, let check, var health else { return [] }
            let before = health.verdict
            health.record(passed: passed, at: at, spec: check)
            self.health = health
            switch health.verdict {
            case .unhealthy: return [.becameUnhealthy]  // no check after that
            case .healthy where before != .healthy:
                return [.becameHealthy, .schedule(.nextCheck, at: at + health.nextDelay(check))]
            default: return [.schedule(.nextCheck, at: at + health.nextDelay(check))]
            }
        case (.running(var running), .endChecks):
            running.checksEnded = true
            state = .running(running)
            return []
        case (.running(var running), .timerFired(.taskTimeout, _)):
            running.timedOut = true
            state = .running(running)
            return [.timedOut(after: timeout ?? .zero), .signalGroup(SIGKILL)]
        case (.running(let running), .stop(let signal, let within, let at)):
            guard !running.refused else { return [.refused] }
            state = .stopping(Stopping(pid: running.pid, since: running.since, signalledAt: at))
            return [.stopGroup(signal), .stopping(signal: signal, timeout: within), .schedule(.kill, at: at + within)]
        case (.running(var running), .signalRefused):
            running.refused = true
            state = .running(running)
            return [.refused]

        case (.stopping(var stopping), .timerFired(.kill, let at)):
            stopping.killed = true
            state = .stopping(stopping)
            return [.signalGroup(SIGKILL), .killed(after: at.since(stopping.signalledAt))]
        case (.stopping(var stopping), .signalRefused):
            stopping.refused = true
            state = .stopping(stopping)
            return [.refused]

        case (.running(let running), .reaped(let status)):
            state = .ended(Ended(status: status, timedOut: running.timedOut))
            return [.ended(status)]
        case (.stopping, .reaped(let status)):
            state = .ended(Ended(status: status))
            return [.ended(status)]
        case (.ended, .reset):
            state = .waiting
            health = check.map { _ in HealthCounter(startedAt: .now()) }
            return []

        default:
            // A timer its state no longer owns, a check result after the stop began, a second
            // stop: nothing changes.
            return []
        }
    }

    /// The timers the current state owns: every other one is cancelled.
    var ownedTimers: Set<Timer> {
        switch state {
        case .running(let running):
            var owned: Set<Timer> = []
            if timeout != nil && !running.timedOut { owned.insert(.taskTimeout) }
            if !running.checksEnded && health.map({ $0.verdict != .unhealthy }) ?? false { owned.insert(.nextCheck) }
            return owned
        case .stopping(let stopping):
            return stopping.killed || stopping.refused ? [] : [.kill]
        case .waiting, .ended:
            return []
        }
    }

    /// Whether a check may be under way: only while running and not yet unhealthy.
    var checking: Bool { ownedTimers.contains(.nextCheck) }

    /// The pid while it is unreaped: the only pid ftinit may signal.
    var pid: pid_t? {
        switch state {
        case .running(let running): return running.pid
        case .stopping(let stopping): return stopping.pid
        case .waiting, .ended: return nil
        }
    }

    /// Since when it runs, while it does.
    var since: Instant? {
        switch state {
        case .running(let running): return running.since
        case .stopping(let stopping): return stopping.since
        case .waiting, .ended: return nil
        }
    }

    /// Whether ftinit can still stop it: unreaped, and the kernel did not refuse a signal.
    var stoppable: Bool {
        switch state {
        case .running(let running): return !running.refused
        case .stopping(let stopping): return !stopping.refused && !stopping.killed
        case .waiting, .ended: return false
        }
    }

    /// Whether what it comes `after` must wait for its end before being stopped: unreaped and
    /// within ftinit's reach (one that refuses signals ends with the container, holding nothing).
    var holdsDependencies: Bool {
        switch state {
        case .running(let running): return !running.refused
        case .stopping(let stopping): return !stopping.refused
        case .waiting, .ended: return false
        }
    }

    /// Whether what comes `after` this program may start: a service once it runs (and has
    /// passed its check, if it has one), a task once it exited 0 within its timeout.
    var satisfiesDependents: Bool {
        switch (kind, state) {
        case (.service, .running): return health?.everHealthy ?? true
        case (.task, .ended(let ended)): return ended.status == .exited(0) && !ended.timedOut
        default: return false
        }
    }
}

/// A checked service's health as a counter, docs/ftinit.md "Health checks": until the first
/// pass it is starting (failures not judged); not healthy by the end of the start period
/// means unhealthy; after a pass, `check-retries` consecutive failures mean unhealthy.
struct HealthCounter: Equatable {
    enum Verdict: String { case starting, healthy, unhealthy }

    let startedAt: Instant
    private(set) var everHealthy = false
    private(set) var consecutiveFailures = 0
    private(set) var verdict = Verdict.starting

    init(startedAt: Instant) {
        self.startedAt = startedAt
    }

    mutating func record(passed: Bool, at now: Instant, spec: HealthCheckSpec) {
        if passed {
            consecutiveFailures = 0
            everHealthy = true
            verdict = .healthy
            return
        }
        consecutiveFailures += 1
        let startPeriodOver = now.since(startedAt) >= spec.startPeriod
        if everHealthy ? consecutiveFailures >= spec.retries : startPeriodOver {
            verdict = .unhealthy
        }
    }

    /// Every start-interval while starting (every interval, if shorter), then every interval.
    func nextDelay(_ spec: HealthCheckSpec) -> TimeSpan {
        everHealthy ? spec.interval : min(spec.interval, spec.startInterval)
    }

    /// Why the service is unhealthy, for the log line.
    func failureSummary(_ spec: HealthCheckSpec) -> String {
        everHealthy
            ? counted(consecutiveFailures, "consecutive failure")
            : "not healthy within start-period \(spec.startPeriod)"
    }
}
