import Glibc
import Testing
@testable import FTInit

/// A program's lifecycle as a pure transition function: the events of issue 14's defects, and
/// what each state may still do. Timers belong to a state: a stale one changes nothing.
@Suite struct LifecycleTests {
    static let t0 = Instant(milliseconds: 1_000_000)
    static func at(_ ms: Int64) -> Instant { Instant(milliseconds: t0.milliseconds + ms) }

    static func task(timeout: TimeSpan?) -> Lifecycle {
        Lifecycle(kind: .task, check: nil, timeout: timeout)
    }

    static func checkedService(retries: Int = 2) -> Lifecycle {
        var spec = HealthCheckSpec(probe: .tcp(host: "127.0.0.1", port: 1), text: "tcp 127.0.0.1:1")
        spec.retries = retries
        spec.interval = .seconds(5)
        return Lifecycle(kind: .service, check: spec, timeout: nil)
    }

    @Test func aStartedTaskOwnsItsTimeoutAndTheStopTakesItAway() {
        var life = Self.task(timeout: .seconds(3))
        #expect(life.handle(.spawned(pid: 42, at: Self.t0)) == [.schedule(.taskTimeout, at: Self.at(3000))])
        #expect(life.ownedTimers == [.taskTimeout])
        #expect(life.handle(.stop(signal: SIGTERM, within: .seconds(10), at: Self.at(1000)))
                == [.stopGroup(SIGTERM), .stopping(signal: SIGTERM, timeout: .seconds(10)), .schedule(.kill, at: Self.at(11000))])
        #expect(life.ownedTimers == [.kill], "the task's own timeout survived the stop")
        #expect(life.handle(.timerFired(.taskTimeout, at: Self.at(3000))) == [], "a stale timeout still acted")
        #expect(life.handle(.timerFired(.kill, at: Self.at(11000))) == [.signalGroup(SIGKILL), .killed(after: .seconds(10))])
        #expect(life.ownedTimers == [])
        #expect(life.handle(.reaped(.signaled(SIGKILL))) == [.ended(.signaled(SIGKILL))])
        #expect(life.pid == nil && !life.satisfiesDependents)
    }

    /// A requested restart (`ftinit restart`): only an ended program goes back to waiting, as
    /// new, its health starting again; a running one must be stopped and reaped first.
    @Test func onlyAnEndedProgramIsResetToWaitForItsNextStart() {
        var life = Self.checkedService()
        #expect(life.handle(.reset) == [] && life.state == .waiting)
        _ = life.handle(.spawned(pid: 42, at: Self.t0))
        _ = life.handle(.checked(passed: true, at: Self.at(10)))
        #expect(life.holdsDependencies && life.satisfiesDependents)
        #expect(life.handle(.reset) == [] && life.pid == 42, "a running program was reset")
        _ = life.handle(.stop(signal: SIGTERM, within: .seconds(10), at: Self.at(100)))
        #expect(life.holdsDependencies, "a stopping program no longer held what it comes after")
        #expect(life.handle(.reset) == [] && life.pid == 42, "a stopping program was reset")
        _ = life.handle(.reaped(.exited(0)))
        #expect(!life.holdsDependencies)
        #expect(life.handle(.reset) == [])
        #expect(life.state == .waiting && life.health?.verdict == .starting && life.health?.everHealthy == false)
        #expect(life.handle(.spawned(pid: 43, at: Self.at(200))) == [.schedule(.nextCheck, at: Self.at(200))])
    }

    @Test func aTaskKilledByItsTimeoutDoesNotSatisfyWhatComesAfterIt() {
        var life = Self.task(timeout: .seconds(1))
        _ = life.handle(.spawned(pid: 42, at: Self.t0))
        #expect(life.handle(.timerFired(.taskTimeout, at: Self.at(1000))) == [.timedOut(after: .seconds(1)), .signalGroup(SIGKILL)])
        #expect(life.handle(.reaped(.exited(0))) == [.ended(.exited(0))])
        #expect(!life.satisfiesDependents)
    }

    @Test func aRefusedStopSignalLeavesItUnstoppableWithNoKillTimer() {
        var life = Self.task(timeout: nil)
        _ = life.handle(.spawned(pid: 42, at: Self.t0))
        _ = life.handle(.stop(signal: SIGTERM, within: .seconds(5), at: Self.at(10)))
        #expect(life.handle(.signalRefused) == [.refused])
        #expect(life.ownedTimers == [] && !life.stoppable && life.pid == 42)
        #expect(life.handle(.timerFired(.kill, at: Self.at(5010))) == [])
    }

    @Test func checksRunWhileRunningAndStopWhenTheStopBegins() {
        var life = Self.checkedService()
        #expect(life.handle(.spawned(pid: 7, at: Self.t0)) == [.schedule(.nextCheck, at: Self.t0)])
        #expect(life.handle(.timerFired(.nextCheck, at: Self.t0)) == [.runCheck])
        #expect(life.handle(.checked(passed: true, at: Self.at(5))) == [.becameHealthy, .schedule(.nextCheck, at: Self.at(5005))])
        #expect(life.satisfiesDependents)
        #expect(life.handle(.endChecks) == [])
        #expect(!life.checking && life.ownedTimers == [])
        #expect(life.handle(.timerFired(.nextCheck, at: Self.at(5005))) == [], "a check ran during the stop")
        #expect(life.handle(.checked(passed: false, at: Self.at(6000))) == [], "a result after the stop began was counted")
        #expect(life.health?.verdict == .healthy)
    }

    @Test func unhealthyEndsTheChecks() {
        var life = Self.checkedService(retries: 2)
        _ = life.handle(.spawned(pid: 7, at: Self.t0))
        _ = life.handle(.checked(passed: true, at: Self.at(1)))
        #expect(life.handle(.checked(passed: false, at: Self.at(2))) == [.schedule(.nextCheck, at: Self.at(5002))])
        #expect(life.handle(.checked(passed: false, at: Self.at(3))) == [.becameUnhealthy])
        #expect(life.health?.verdict == .unhealthy && !life.checking && life.ownedTimers == [])
    }

    @Test func nothingButAStartMovesAWaitingProgram() {
        var life = Self.checkedService()
        for event: Lifecycle.Event in [.timerFired(.kill, at: Self.t0), .checked(passed: true, at: Self.t0), .signalRefused,
                                       .stop(signal: SIGTERM, within: .seconds(1), at: Self.t0), .reaped(.exited(0))] {
            #expect(life.handle(event) == [], "\(event)")
            #expect(life.state == .waiting)
        }
    }
}
