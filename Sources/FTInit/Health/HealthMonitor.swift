/// Runs one service's check on schedule and turns results into a health state.
///
/// Until the first success the service is `starting`: checks run every second (or every
/// check-interval if shorter) and failures are not counted. Not healthy by the end of the
/// start period means `unhealthy`. After the first success checks run every check-interval
/// and `check-retries` consecutive failures mean `unhealthy`. Every attempt is bounded by
/// check-timeout.
final class HealthMonitor {
    enum Health: String { case starting, healthy, unhealthy }

    let spec: HealthCheckSpec
    private let loop: EventLoop
    private let makeAttempt: (@escaping (CheckResult) -> Void) -> CheckAttempt
    /// Called when the service becomes healthy or unhealthy.
    private let onChange: (HealthMonitor) -> Void

    private(set) var health = Health.starting
    private(set) var everHealthy = false
    private(set) var consecutiveFailures = 0
    /// `ok` or the last failure's message, and how long the last attempt took.
    private(set) var lastResult: String?
    private(set) var lastLatency: TimeSpan?
    private var startedAt = Instant.now()
    private var attempt: CheckAttempt?
    private var timers: [Int] = []
    /// Between `begin` and `end`: only then is a next check scheduled. A result's `onChange`
    /// may end the monitor (a health change that starts the stop).
    private var active = false

    init(spec: HealthCheckSpec, loop: EventLoop,
         makeAttempt: @escaping (@escaping (CheckResult) -> Void) -> CheckAttempt,
         onChange: @escaping (HealthMonitor) -> Void) {
        self.spec = spec
        self.loop = loop
        self.makeAttempt = makeAttempt
        self.onChange = onChange
    }

    /// The service was just started: check it right away.
    func begin() {
        startedAt = .now()
        active = true
        schedule(after: .zero)
    }

    /// The service stopped, or ftinit is stopping: drop the schedule and any running attempt,
    /// and schedule nothing more.
    func end() {
        active = false
        dropAttempt()
    }

    private func dropAttempt() {
        for timer in timers { loop.cancel(timer) }
        timers.removeAll()
        attempt?.cancel()
        attempt = nil
    }

    private func schedule(after delay: TimeSpan) {
        guard active else { return }
        timers = [loop.schedule(at: .now() + delay) { [unowned self] in
            self.timers.removeAll()
            self.runAttempt()
        }]
    }

    private func runAttempt() {
        let began = Instant.now()
        let attempt = makeAttempt { [unowned self] result in self.record(result, latency: Instant.now().since(began)) }
        self.attempt = attempt
        timers.append(loop.schedule(at: began + spec.timeout) { [unowned self, weak attempt] in
            guard let attempt, self.attempt === attempt else { return }
            attempt.cancel()
            self.record(.failed("timed out after \(self.spec.timeout)"), latency: self.spec.timeout)
        })
        attempt.start()
    }

    private func record(_ result: CheckResult, latency: TimeSpan) {
        dropAttempt()  // the attempt and its timeout timer are done
        lastLatency = latency
        switch result {
        case .passed:
            lastResult = "ok"
            consecutiveFailures = 0
            everHealthy = true
            if health != .healthy {
                health = .healthy
                onChange(self)
            }
        case .failed(let message):
            lastResult = message
            consecutiveFailures += 1
            let startPeriodOver = Instant.now().since(startedAt) >= spec.startPeriod
            if everHealthy ? consecutiveFailures >= spec.retries : startPeriodOver {
                health = .unhealthy
                onChange(self)
                return
            }
        }
        schedule(after: everHealthy ? spec.interval : min(spec.interval, .seconds(1)))
    }

    /// Why the service is unhealthy, for the log line.
    var failureSummary: String {
        everHealthy
            ? counted(consecutiveFailures, "consecutive failure")
            : "not healthy within start-period \(spec.startPeriod)"
    }
}
