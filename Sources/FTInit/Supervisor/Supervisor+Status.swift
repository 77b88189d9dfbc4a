/// The state ftinit serves on its control socket.
extension Supervisor {
    func statusReport() -> String {
        snapshot().text
    }

    func snapshot() -> StatusReport {
        let now = Instant.now()
        let programs = children.map { child -> StatusReport.Program in
            StatusReport.Program(
                kind: child.program.kind.rawValue, name: child.program.name, state: stateWord(child), pid: child.life.pid,
                health: child.life.health?.verdict.rawValue ?? "none",
                uptime: child.life.since.map { now.since($0) },
                check: child.program.check?.text, result: child.checker?.lastResult, latency: child.checker?.lastLatency)
        }
        return verdict(programs)
    }

    /// Where a program is, in one word: waiting, running, stopping, exited, or done (a task).
    func stateWord(_ child: Child) -> String {
        switch child.life.state {
        case .waiting: return "waiting"
        case .running: return "running"
        case .stopping: return "stopping"
        case .ended(let ended): return child.program.kind == .task && ended.status == .exited(0) ? "done" : "exited"
        }
    }

    /// Healthy while ftinit runs and no service has failed: every service is waiting for its
    /// dependencies, running without a check, starting within its start period, or healthy.
    private func verdict(_ programs: [StatusReport.Program]) -> StatusReport {
        guard case .running = phase else {
            return StatusReport(healthy: false, summary: "stopping: \(stopReason ?? "ftinit is exiting")", programs: programs)
        }
        let services = programs.filter { $0.kind == "service" }
        if let bad = services.first(where: { $0.health == "unhealthy" || $0.state == "exited" }) {
            let why = bad.state == "exited" ? "exited" : "unhealthy: \(bad.result ?? "check failed")"
            return StatusReport(healthy: false, summary: "\(bad.name) \(why)", programs: programs)
        }
        var counts: [(String, Int)] = []
        for word in ["healthy", "starting", "waiting", "running", "stopping"] {
            let n = services.filter { $0.condition == word }.count
            if n > 0 { counts.append((word, n)) }
        }
        let detail = counts.map { "\($0.1) \($0.0)" }.joined(separator: ", ")
        let restarting = restart.map { "; restarting \($0.service) on request" } ?? ""
        return StatusReport(healthy: true, summary: "\(counted(services.count, "service"))\(detail.isEmpty ? "" : ": " + detail)\(restarting)",
                            programs: programs)
    }
}
