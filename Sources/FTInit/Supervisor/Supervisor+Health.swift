#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Health checks: one monitor per checked service, wired to the loop, the reaper and the
/// start/stop logic.
extension Supervisor {
    func attachMonitor(to child: Child) {
        guard let spec = child.program.check else { return }
        child.monitor = HealthMonitor(spec: spec, loop: loop, makeAttempt: { [unowned self] completion in
            self.makeAttempt(spec, for: child, completion: completion)
        }, onChange: { [unowned self] monitor in
            self.healthChanged(child, monitor)
        })
    }

    private func makeAttempt(_ spec: HealthCheckSpec, for child: Child, completion: @escaping (CheckResult) -> Void) -> CheckAttempt {
        switch spec.probe {
        case .tcp:
            return TCPCheckAttempt(address: child.checkAddress!, loop: loop, completion: completion)
        case .http(let target):
            return HTTPCheckAttempt(address: child.checkAddress!, target: target, loop: loop, completion: completion)
        case .exec(let argv):
            return ExecCheckAttempt(request: spawnRequest(for: child, argv: argv), subject: child.program.logSubject, loop: loop,
                                    register: { [unowned self] pid, onExit in self.auxiliary[pid] = onExit },
                                    completion: completion)
        }
    }

    private func healthChanged(_ child: Child, _ monitor: HealthMonitor) {
        let subject = child.program.logSubject
        switch monitor.health {
        case .healthy:
            Log.event(.info, "healthy", subject, Log.field("check", monitor.spec.text), "latency=\(monitor.lastLatency ?? .zero)")
            startReady()
        case .unhealthy:
            Log.event(.error, "unhealthy", subject, Log.field("check", monitor.spec.text),
                      Log.field("reason", monitor.failureSummary), Log.field("error", monitor.lastResult ?? ""))
            beginStop(exitCode: ExitCode.unhealthy, reason: "\(child.program.name) unhealthy: \(monitor.lastResult ?? monitor.failureSummary)")
        case .starting:
            break
        }
    }
}
