/// The control socket's commands for the person debugging a container (docs/ftinit.md,
/// "Commands"): each is a transition of the lifecycles, and anything that does not apply is
/// refused with one line, nothing changed.
extension Supervisor {
    func answer(_ request: ControlRequest, from peer: ControlServer.Peer?) -> String {
        let by = "uid=\(peer?.uid ?? 0)"
        switch request {
        case .status: return statusReport()
        case .signal(let name, let signal): return signalService(name, signal, by: by).text
        case .restart(let name): return restartService(name, by: by).text
        case .stop: return stopRequested(by: by).text
        }
    }

    /// What `command` answers for the service called `name`, or why it cannot act on it.
    private func withService(_ name: String, _ command: (Child) -> ControlAnswer) -> ControlAnswer {
        guard let child = children.first(where: { $0.program.name == name }) else { return .refused("no service named \(name)") }
        guard child.program.kind == .service else { return .refused("\(name) is a task: only a service can be signalled or restarted") }
        return command(child)
    }

    /// `ftinit signal NAME SIGNAL`: to the service's main process only, as supervisorctl does.
    private func signalService(_ name: String, _ signal: Int32, by: String) -> ControlAnswer {
        withService(name) { child in send(signal, to: child, by: by) }
    }

    private func send(_ signal: Int32, to child: Child, by: String) -> ControlAnswer {
        let name = child.program.name
        let signalName = SignalName.name(of: signal)
        guard let pid = child.life.pid else { return .refused("\(name) is not running (\(stateWord(child)))") }
        Log.event(.info, "signal-requested", child.program.logSubject, "pid=\(pid)", "signal=\(signalName)", by)
        guard child.send(signal, group: false) else {
            return .refused("the kernel refused SIG\(signalName) to \(name) (pid \(pid)): see the signal-refused line")
        }
        return .ok("signalled service=\(name) pid=\(pid) signal=\(signalName)")
    }

    /// `ftinit restart NAME`: the ordered stop of the service and what comes after it, then
    /// their start again, with their checks and `after`. Not a death: ftinit stays up.
    private func restartService(_ name: String, by: String) -> ControlAnswer {
        guard case .running = phase else { return .refused("ftinit is stopping (\(stopReason ?? "exiting")): nothing to restart") }
        if let restart { return .refused("a restart of \(restart.service) is under way: try again once it is done") }
        return withService(name) { child in restartMembers(of: child, by: by) }
    }

    private func restartMembers(of child: Child, by: String) -> ControlAnswer {
        let name = child.program.name
        guard case .running(let running) = child.life.state else {
            return .refused("\(name) is not running (\(stateWord(child))): nothing to restart")
        }
        guard !running.refused else { return .refused("ftinit cannot signal \(name) (signal-refused): it cannot be stopped") }
        let members = children.filter { $0 === child || dependents[name, default: []].contains($0.program.name) }
        restart = Restart(service: name, members: Set(members.map(\.program.name)))
        let others = members.filter { $0 !== child }.map(\.program.name)
        Log.event(.info, "restart-requested", child.program.logSubject,
                  Log.field("with", others.isEmpty ? "-" : others.joined(separator: ",")), by)
        for member in members {
            member.handle(.endChecks)  // its stop must not read as a failed check
            if case .ended = member.life.state { member.handle(.reset) }  // a task already done runs again
        }
        stopWhatIsFree()
        return .ok("restarting=\(members.map(\.program.name).joined(separator: ","))")
    }

    /// `ftinit stop`: the same as SIGTERM to PID 1.
    private func stopRequested(by: String) -> ControlAnswer {
        guard case .running = phase else { return .refused("ftinit is already stopping (\(stopReason ?? "exiting"))") }
        Log.event(.info, "stop-requested", "command=stop", by)
        beginStop(exitCode: 0, reason: "stop requested by ftinit stop")
        return .ok("stopping")
    }
}
