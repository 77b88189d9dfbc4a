#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One configured program at run time: its `Lifecycle` and what ftinit holds for it while it
/// lives (its timers, its check runner). `handle` is the one way its life moves on: it runs
/// the transition, cancels the timers the new state does not own (and the check under way
/// once it may no longer check), then performs the effects: timers, checks and signals here,
/// the rest (health changes, the stop's progress, its end) reported to the supervisor.
final class Child {
    let program: Program
    let identity: Identity?
    /// Where its tcp/http check connects, resolved before the loop starts.
    var checkAddress: SocketAddress?
    private(set) var life: Lifecycle
    private(set) var checker: CheckRunner?
    /// The pid it had (it leads its own session), kept for the log lines once it is reaped.
    private(set) var startedPid: pid_t?
    private var timers: [Lifecycle.Timer: Int] = [:]
    private var loop: EventLoop?
    private var report: (Child, Lifecycle.Effect) -> Void = { _, _ in }

    init(program: Program, identity: Identity?) {
        self.program = program
        self.identity = identity
        life = Lifecycle(kind: program.kind, check: program.check, timeout: program.timeout)
    }

    /// Wires it to the loop, its check (if it has one) and the supervisor.
    func attach(loop: EventLoop, checker: CheckRunner?, report: @escaping (Child, Lifecycle.Effect) -> Void) {
        self.loop = loop
        self.checker = checker
        self.report = report
    }

    func handle(_ event: Lifecycle.Event) {
        if case .spawned(let pid, _) = event { startedPid = pid }
        let effects = life.handle(event)
        let owned = life.ownedTimers
        for (timer, id) in timers where !owned.contains(timer) {
            loop?.cancel(id)
            timers[timer] = nil
        }
        if !life.checking { checker?.cancel() }
        for effect in effects { perform(effect) }
    }

    private func perform(_ effect: Lifecycle.Effect) {
        switch effect {
        case .schedule(let timer, let at):
            // An effect of a transition that a nested one (a refused signal) already overtook.
            guard life.ownedTimers.contains(timer), let loop else { return }
            if let old = timers[timer] { loop.cancel(old) }
            timers[timer] = loop.schedule(at: at) { [unowned self] in
                self.timers[timer] = nil
                self.handle(.timerFired(timer, at: .now()))
            }
        case .runCheck:
            guard life.checking else { return }
            checker?.run { [unowned self] result in self.handle(.checked(passed: result == .passed, at: .now())) }
        case .signalGroup(let signal):
            send(signal, group: true)
        case .stopGroup(let signal):
            // A stopped process (SIGSTOP, a debugger, a frozen cgroup) acts on the stop signal
            // only once continued: SIGCONT right after it, as s6-supervise and systemd send.
            if send(signal, group: true), signal != SIGCONT, signal != SIGKILL { send(SIGCONT, group: true) }
        default:
            report(self, effect)
        }
    }

    /// Sends `signal` to it (to its process group with `group`) while it is unreaped, so never
    /// to a pid the kernel may have reused. A refusal is an event of its life.
    @discardableResult
    func send(_ signal: Int32, group: Bool) -> Bool {
        guard let pid = life.pid else { return false }
        if deliver(signal, to: group ? -pid : pid, subject: program.logSubject) { return true }
        handle(.signalRefused)
        return false
    }
}
