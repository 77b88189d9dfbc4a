import Testing
@testable import FTInit

/// The health rules of docs/ftinit.md, "Health checks", as a service's lifecycle applies them:
/// a real `Child` (lifecycle, timers, check runner) on a real event loop, with a scripted
/// check whose results the test decides.
@Suite struct HealthLifecycleTests {
    /// One scripted attempt: it answers `result` after `delay` through the loop, or never
    /// (nil result). Cancelled, it stays silent, as the real attempts do.
    final class ScriptedAttempt: CheckAttempt {
        private let result: CheckResult?
        private let delay: TimeSpan
        private let loop: EventLoop
        private var completion: ((CheckResult) -> Void)?
        private var timer: Int?
        private(set) var cancelled = false

        init(result: CheckResult?, delay: TimeSpan, loop: EventLoop, completion: @escaping (CheckResult) -> Void) {
            self.result = result
            self.delay = delay
            self.loop = loop
            self.completion = completion
        }

        func start() {
            guard let result else { return }
            timer = loop.schedule(at: .now() + delay) { [weak self] in
                guard let self, let completion = self.completion else { return }
                self.completion = nil
                completion(result)
            }
        }

        func cancel() {
            cancelled = true
            completion = nil
            if let timer { loop.cancel(timer) }
        }
    }

    /// What the tests read of a checked service: its health counter and its check's last result.
    struct Observed {
        let child: Child
        var health: HealthCounter.Verdict { child.life.health!.verdict }
        var everHealthy: Bool { child.life.health!.everHealthy }
        var consecutiveFailures: Int { child.life.health!.consecutiveFailures }
        var failureSummary: String { child.life.health!.failureSummary(child.program.check!) }
        var lastResult: String? { child.checker?.lastResult }
        var lastLatency: TimeSpan? { child.checker?.lastLatency }
        /// What the stop does to every service before stopping any (defect 5 of issue 14).
        func end() { child.handle(.endChecks) }
    }

    /// A service with a scripted check; the results are used in order, the last one repeats.
    final class Bench {
        let loop: EventLoop
        var script: [CheckResult?]
        var delay = TimeSpan.zero
        private(set) var attempts: [ScriptedAttempt] = []
        private(set) var attemptTimes: [Instant] = []
        private(set) var changes: [(health: HealthCounter.Verdict, after: Int64)] = []
        private(set) var child: Child!
        private(set) var began = Instant.now()

        init(_ script: [CheckResult?], interval: Int64 = 50, timeout: Int64 = 1000, retries: Int = 3, startPeriod: Int64 = 5000,
             startInterval: Int64 = 1000) throws {
            loop = try EventLoop()
            self.script = script
            var spec = HealthCheckSpec(probe: .tcp(host: "127.0.0.1", port: 1), text: "tcp 127.0.0.1:1")
            spec.interval = TimeSpan(milliseconds: interval)
            spec.timeout = TimeSpan(milliseconds: timeout)
            spec.retries = retries
            spec.startPeriod = TimeSpan(milliseconds: startPeriod)
            spec.startInterval = TimeSpan(milliseconds: startInterval)
            var program = Program(kind: .service, name: "web", line: 1)
            program.check = spec
            child = Child(program: program, identity: nil)
            let checker = CheckRunner(spec: spec, loop: loop) { [unowned self] completion in
                let result = self.script.count > 1 ? self.script.removeFirst() : self.script.first ?? nil
                let attempt = ScriptedAttempt(result: result, delay: self.delay, loop: self.loop, completion: completion)
                self.attempts.append(attempt)
                self.attemptTimes.append(.now())
                return attempt
            }
            child.attach(loop: loop, checker: checker) { [unowned self] _, effect in
                switch effect {
                case .becameHealthy: self.changes.append((.healthy, milliseconds(since: self.began)))
                case .becameUnhealthy: self.changes.append((.unhealthy, milliseconds(since: self.began)))
                default: break
                }
            }
        }

        var monitor: Observed { Observed(child: child) }

        /// The service was just started (a pid no signal is ever sent to: nothing stops it here).
        func begin() {
            began = .now()
            child.handle(.spawned(pid: 999_999, at: began))
        }

        /// Drives the loop until `done()` or `limit` ms; whether `done()` held.
        @discardableResult
        func run(for limit: Int64, until done: () -> Bool) throws -> Bool {
            try drive(loop, for: TimeSpan(milliseconds: limit), until: done)
        }

        func run(for limit: Int64) throws { try drive(loop, for: TimeSpan(milliseconds: limit)) }

        var health: HealthCounter.Verdict { monitor.health }
        var changedTo: [HealthCounter.Verdict] { changes.map(\.health) }

        /// Milliseconds between consecutive attempts.
        var gaps: [Int64] { zip(attemptTimes.dropFirst(), attemptTimes).map { $0.milliseconds - $1.milliseconds } }

        deinit { child?.handle(.endChecks) }
    }

    static let refused = CheckResult.failed("connect to 127.0.0.1:1: Connection refused")

    // MARK: starting

    @Test func aServiceIsStartingUntilItsFirstCheck() throws {
        let bench = try Bench([.passed])
        #expect(bench.health == .starting)
        #expect(bench.monitor.health != .unhealthy)
        #expect(bench.monitor.lastResult == nil)
        bench.begin()
        #expect(bench.health == .starting, "the first check runs from the loop, not inside begin()")
    }

    @Test func theFirstPassingCheckMakesItHealthy() throws {
        let bench = try Bench([.passed])
        bench.delay = TimeSpan(milliseconds: 20)
        bench.begin()
        #expect(try bench.run(for: 2000) { bench.health == .healthy })
        #expect(bench.changedTo == [.healthy])
        #expect(bench.attempts.count == 1)
        #expect(try #require(bench.changes.first).after < 500, "checked right after the start, not a second later")
        #expect(bench.monitor.lastResult == "ok")
        #expect(bench.monitor.everHealthy)
        #expect(bench.monitor.health != .unhealthy)
        let latency = try #require(bench.monitor.lastLatency)
        #expect(latency >= TimeSpan(milliseconds: 20) && latency < TimeSpan(milliseconds: 500), "latency \(latency)")
    }

    @Test func failuresInsideTheStartPeriodDoNotCount() throws {
        let bench = try Bench([Self.refused, Self.refused, Self.refused, Self.refused, Self.refused, .passed], interval: 30, retries: 1, startPeriod: 5000)
        bench.begin()
        #expect(try bench.run(for: 3000) { bench.health == .healthy })
        #expect(bench.attempts.count == 6)
        #expect(bench.changedTo == [.healthy], "turned unhealthy inside the start period")
        #expect(bench.monitor.consecutiveFailures == 0)
    }

    @Test func failuresWhileStartingAreRecordedButKeepItStarting() throws {
        let bench = try Bench([Self.refused], interval: 30, startPeriod: 5000)
        bench.begin()
        #expect(try bench.run(for: 2000) { bench.attempts.count >= 3 })
        #expect(bench.health == .starting)
        #expect(bench.monitor.health != .unhealthy)
        #expect(bench.monitor.lastResult == "connect to 127.0.0.1:1: Connection refused")
        #expect(bench.changedTo.isEmpty)
    }

    @Test func notHealthyByTheEndOfTheStartPeriodIsUnhealthy() throws {
        let bench = try Bench([Self.refused], interval: 50, startPeriod: 300)
        bench.begin()
        #expect(try bench.run(for: 3000) { bench.health == .unhealthy })
        let change = try #require(bench.changes.first)
        #expect(bench.changedTo == [.unhealthy])
        #expect(change.after >= 300 && change.after < 700, "unhealthy after \(change.after) ms")
        #expect(bench.monitor.failureSummary == "not healthy within start-period 300ms")
        #expect(bench.monitor.lastResult == "connect to 127.0.0.1:1: Connection refused")
        #expect(bench.monitor.health == .unhealthy)
        #expect(!bench.monitor.everHealthy)
    }

    @Test func whileStartingChecksRunEverySecondAtMost() throws {
        // check-interval 10s: while starting, the next check still comes after 1 s.
        let bench = try Bench([Self.refused, .passed], interval: 10_000, startPeriod: 30_000)
        bench.begin()
        #expect(try bench.run(for: 3000) { bench.health == .healthy })
        #expect(bench.attempts.count == 2)
        let gap = try #require(bench.gaps.first)
        #expect(gap >= 1000 && gap < 1500, "second check after \(gap) ms")
    }

    /// check-start-interval sets the cadence until the first success, then check-interval.
    @Test func whileStartingTheStartIntervalSetsTheCadence() throws {
        let bench = try Bench([Self.refused, Self.refused, .passed, .passed], interval: 400, startPeriod: 30_000, startInterval: 50)
        bench.begin()
        #expect(try bench.run(for: 3000) { bench.attempts.count == 4 })
        let gaps = bench.gaps
        #expect(gaps.count == 3 && gaps[0] < 200 && gaps[1] < 200, "while starting: \(gaps)")
        #expect(gaps.count == 3 && gaps[2] >= 400, "once healthy: \(gaps)")
    }

    @Test func whileStartingAShortIntervalIsKept() throws {
        let bench = try Bench([Self.refused], interval: 40, startPeriod: 5000)
        bench.begin()
        try bench.run(for: 2000) { bench.attempts.count >= 5 }
        for gap in bench.gaps {
            #expect(gap >= 40 && gap < 400, "gap \(gap) ms")
        }
    }

    // MARK: healthy

    @Test func onceHealthyChecksRunEveryInterval() throws {
        let bench = try Bench([.passed], interval: 100)
        bench.begin()
        try bench.run(for: 3000) { bench.attempts.count >= 5 }
        #expect(bench.attempts.count >= 5)
        for gap in bench.gaps {
            #expect(gap >= 100 && gap < 500, "gap \(gap) ms")
        }
        #expect(bench.changedTo == [.healthy], "onChange is called on changes only")
    }

    @Test func retriesConsecutiveFailuresAfterHealthyMakeItUnhealthy() throws {
        let bench = try Bench([.passed, Self.refused, Self.refused, Self.refused], interval: 50, retries: 3, startPeriod: 60_000)
        bench.begin()
        #expect(try bench.run(for: 3000) { bench.health == .unhealthy })
        #expect(bench.changedTo == [.healthy, .unhealthy])
        #expect(bench.attempts.count == 4)
        #expect(bench.monitor.consecutiveFailures == 3)
        #expect(bench.monitor.failureSummary == "3 consecutive failures")
        #expect(bench.monitor.lastResult == "connect to 127.0.0.1:1: Connection refused")
        #expect(bench.monitor.health == .unhealthy)
    }

    @Test func fewerFailuresThanRetriesKeepItHealthy() throws {
        let bench = try Bench([.passed, Self.refused], interval: 50, retries: 3)
        bench.begin()
        #expect(try bench.run(for: 3000) { bench.monitor.consecutiveFailures == 2 })
        #expect(bench.health == .healthy)
        #expect(bench.monitor.consecutiveFailures == 2)
        #expect(bench.monitor.health != .unhealthy)
    }

    @Test func aPassResetsTheFailureCount() throws {
        // Two failures, a pass, two failures, a pass...: never three in a row.
        let bench = try Bench([.passed, Self.refused, Self.refused, .passed, Self.refused, Self.refused, .passed, Self.refused, Self.refused, Self.refused],
                              interval: 30, retries: 3)
        bench.begin()
        #expect(try bench.run(for: 5000) { bench.health == .unhealthy })
        #expect(bench.attempts.count == 10, "unhealthy before the third failure in a row")
        #expect(bench.changedTo == [.healthy, .unhealthy])
        #expect(bench.monitor.failureSummary == "3 consecutive failures")
    }

    @Test func oneRetryMeansTheFirstFailure() throws {
        let bench = try Bench([.passed, .passed, .failed("HTTP status 500")], interval: 30, retries: 1)
        bench.begin()
        #expect(try bench.run(for: 3000) { bench.health == .unhealthy })
        #expect(bench.attempts.count == 3)
        #expect(bench.monitor.lastResult == "HTTP status 500")
    }

    @Test func afterUnhealthyNoCheckRunsAnyMore() throws {
        let bench = try Bench([.passed, Self.refused], interval: 30, retries: 1)
        bench.begin()
        #expect(try bench.run(for: 3000) { bench.health == .unhealthy })
        let count = bench.attempts.count
        try bench.run(for: 200)
        #expect(bench.attempts.count == count)
        #expect(bench.changedTo == [.healthy, .unhealthy])
    }

    // MARK: timeouts

    @Test func anAttemptPastTheTimeoutFailsAndIsCancelled() throws {
        let bench = try Bench([nil], interval: 50, timeout: 150, startPeriod: 0)
        bench.begin()
        #expect(try bench.run(for: 3000) { bench.health == .unhealthy })
        let change = try #require(bench.changes.first)
        #expect(change.after >= 150 && change.after < 600, "timed out after \(change.after) ms")
        #expect(bench.monitor.lastResult == "timed out after 150ms")
        #expect(bench.monitor.lastLatency == TimeSpan(milliseconds: 150))
        #expect(bench.attempts.first?.cancelled == true)
        #expect(bench.monitor.failureSummary == "not healthy within start-period 0s")
    }

    @Test func timeoutsCountAsFailuresOnceHealthy() throws {
        let bench = try Bench([.passed, nil], interval: 30, timeout: 100, retries: 2, startPeriod: 60_000)
        bench.begin()
        #expect(try bench.run(for: 3000) { bench.health == .unhealthy })
        #expect(bench.attempts.count == 3)
        #expect(bench.monitor.failureSummary == "2 consecutive failures")
        #expect(bench.monitor.lastResult == "timed out after 100ms")
        #expect(bench.attempts.dropFirst().allSatisfy { $0.cancelled })
    }

    @Test func anAttemptAnsweringInTimeIsNotTimedOut() throws {
        let bench = try Bench([.passed], interval: 2000, timeout: 500)
        bench.delay = TimeSpan(milliseconds: 100)
        bench.begin()
        #expect(try bench.run(for: 2000) { bench.health == .healthy })
        try bench.run(for: 600)  // past the first attempt's timeout
        #expect(bench.health == .healthy)
        #expect(bench.monitor.lastResult == "ok")
        #expect(bench.attempts.count == 1)
    }

    // MARK: end

    @Test func endCancelsTheRunningAttemptAndTheSchedule() throws {
        let bench = try Bench([nil], interval: 30, timeout: 200)
        bench.begin()
        #expect(try bench.run(for: 2000) { bench.attempts.count == 1 })
        bench.monitor.end()
        #expect(bench.attempts.first?.cancelled == true)
        try bench.run(for: 300)
        #expect(bench.attempts.count == 1)
        #expect(bench.health == .starting)
        #expect(bench.monitor.lastResult == nil, "the cancelled attempt's timeout still fired")
    }

    @Test func endWhileHealthyStopsTheChecks() throws {
        let bench = try Bench([.passed], interval: 30)
        bench.begin()
        #expect(try bench.run(for: 2000) { bench.attempts.count == 2 })
        bench.monitor.end()
        try bench.run(for: 200)
        #expect(bench.attempts.count == 2)
        #expect(bench.health == .healthy)
    }
}
