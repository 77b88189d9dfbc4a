/// `[metrics]`: the agent that samples the services and pushes to InfluxDB, fed with the
/// same view of the services as `ftinit status`.
extension Supervisor {
    func startMetrics() {
        guard let spec = config.metrics else { return }
        guard let target = spec.target else {
            return Log.event(.info, "metrics", "off", Log.field("reason", "url is empty"))
        }
        let agent = MetricsAgent(spec: spec, target: target, services: config.services.map(\.name), loop: loop,
                                 register: { [unowned self] pid, onExit in self.registry.register(pid, onExit) },
                                 snapshot: { [unowned self] in self.snapshot().programs.filter { $0.kind == "service" } })
        metrics = agent
        agent.start()
    }
}
