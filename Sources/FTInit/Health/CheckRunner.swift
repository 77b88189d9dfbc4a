/// Runs one service's check when its lifecycle asks (`Lifecycle.Effect.runCheck`): one
/// attempt at a time, bounded by check-timeout, its result handed back once. What the result
/// means (starting, healthy, unhealthy) is the lifecycle's; this keeps only what the status
/// shows: the last result and how long it took.
final class CheckRunner {
    let spec: HealthCheckSpec
    private let loop: EventLoop
    private let makeAttempt: (@escaping (CheckResult) -> Void) -> CheckAttempt
    /// `ok` or the last failure's message, and how long the last attempt took.
    private(set) var lastResult: String?
    private(set) var lastLatency: TimeSpan?
    private var attempt: CheckAttempt?
    private var timeoutTimer: Int?

    init(spec: HealthCheckSpec, loop: EventLoop, makeAttempt: @escaping (@escaping (CheckResult) -> Void) -> CheckAttempt) {
        self.spec = spec
        self.loop = loop
        self.makeAttempt = makeAttempt
    }

    /// Starts an attempt; `completion` gets its result, or a timeout's failure, exactly once,
    /// unless `cancel` comes first.
    func run(_ completion: @escaping (CheckResult) -> Void) {
        cancel()
        let began = Instant.now()
        let attempt = makeAttempt { [unowned self] result in
            self.finish(result, latency: Instant.now().since(began), completion)
        }
        self.attempt = attempt
        timeoutTimer = loop.schedule(at: began + spec.timeout) { [unowned self, weak attempt] in
            self.timeoutTimer = nil
            guard let attempt, self.attempt === attempt else { return }
            attempt.cancel()
            self.finish(.failed("timed out after \(self.spec.timeout)"), latency: self.spec.timeout, completion)
        }
        attempt.start()
    }

    /// Drops the attempt under way, if any, silently.
    func cancel() {
        if let timeoutTimer { loop.cancel(timeoutTimer) }
        timeoutTimer = nil
        attempt?.cancel()
        attempt = nil
    }

    private func finish(_ result: CheckResult, latency: TimeSpan, _ completion: (CheckResult) -> Void) {
        cancel()  // the attempt and its timeout timer are done
        lastLatency = latency
        switch result {
        case .passed: lastResult = "ok"
        case .failed(let message): lastResult = message
        }
        completion(result)
    }
}
