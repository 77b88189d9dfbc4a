#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Health checks: the attempt each kind of check makes, run for a child when its lifecycle
/// asks; an exec check's process is registered like any child ftinit waits for.
extension Supervisor {
    func makeChecker(for child: Child) -> CheckRunner? {
        guard let spec = child.program.check else { return nil }
        return CheckRunner(spec: spec, loop: loop) { [unowned self, unowned child] completion in
            self.makeAttempt(spec, for: child, completion: completion)
        }
    }

    private func makeAttempt(_ spec: HealthCheckSpec, for child: Child, completion: @escaping (CheckResult) -> Void) -> CheckAttempt {
        switch spec.probe {
        case .tcp(_, _, let expect):
            return TCPCheckAttempt(address: child.checkAddress!, expect: expect, loop: loop, completion: completion)
        case .http(let target):
            return HTTPCheckAttempt(address: child.checkAddress!, target: target, loop: loop, completion: completion)
        case .exec(let argv):
            return ExecCheckAttempt(request: spawnRequest(for: child, argv: argv), subject: child.program.logSubject, loop: loop,
                                    register: { [unowned self] pid, onExit in self.registry.register(pid, onExit) },
                                    completion: completion)
        }
    }
}
