/// What the control socket answers: a header line with the verdict `ftinit probe` uses, then
/// one line per program. Every line is `KIND key=value ...` with values quoted as in ftinit's
/// log lines, so the format is both readable by people and parsed back by `ftinit status`.
public struct StatusReport: Equatable {
    public struct Program: Equatable {
        public var kind: String          // service | task
        public var name: String
        public var state: String         // waiting | running | stopping | exited | done
        public var pid: Int32?
        public var health: String        // none | starting | healthy | unhealthy
        public var uptime: TimeSpan?
        public var check: String?
        public var result: String?       // ok, or the last check's error
        public var latency: TimeSpan?

        /// One word for where a program is: its health while it runs a check (`starting`,
        /// `healthy`, `unhealthy`), else its state (`waiting`, `running`, `stopping`, `exited`, `done`).
        public var condition: String { state == "running" && health != "none" ? health : state }

        /// Ready to serve: a task has finished (`done`), a service runs and, if it has a
        /// check, has passed it and is healthy.
        public var isReady: Bool {
            kind == "task" ? state == "done" : state == "running" && (health == "none" || health == "healthy")
        }
    }

    public var healthy: Bool
    public var summary: String
    public var programs: [Program]

    /// What `ftinit probe --ready` (all of it) and `ftinit restart` (what it restarted) wait
    /// for, in the report's order.
    public func notReady(among names: Set<String>? = nil) -> [Program] {
        programs.filter { names?.contains($0.name) ?? true }.filter { !$0.isReady }
    }

    /// `setup running, web starting`: where each of `programs` is.
    public static func conditions(_ programs: [Program]) -> String {
        programs.map { "\($0.name) \($0.condition)" }.joined(separator: ", ")
    }

    public var text: String {
        var lines = ["ftinit verdict=\(healthy ? "ok" : "fail") \(Log.field("summary", summary))"]
        for p in programs {
            var fields = [p.kind, Log.field("name", p.name), "state=\(p.state)"]
            if let pid = p.pid { fields.append("pid=\(pid)") }
            fields.append("health=\(p.health)")
            if let uptime = p.uptime { fields.append("uptime=\(uptime)") }
            if let check = p.check { fields.append(Log.field("check", check)) }
            if let result = p.result { fields.append(Log.field("result", result)) }
            if let latency = p.latency { fields.append("latency=\(latency)") }
            lines.append(fields.joined(separator: " "))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public init(healthy: Bool, summary: String, programs: [Program]) {
        self.healthy = healthy
        self.summary = summary
        self.programs = programs
    }

    /// Parses `text`; nil when it is not a report.
    public init?(parsing text: String) {
        let lines = text.split(separator: "\n").map { parseFields(String($0)) }
        guard let header = lines.first, header.first?.key == "ftinit", let verdict = header.value("verdict") else { return nil }
        healthy = verdict == "ok"
        summary = header.value("summary") ?? ""
        programs = lines.dropFirst().compactMap { fields in
            guard let kind = fields.first?.key, let name = fields.value("name"), let state = fields.value("state") else { return nil }
            return Program(kind: kind, name: name, state: state, pid: fields.value("pid").flatMap { Int32($0) },
                           health: fields.value("health") ?? "none", uptime: fields.value("uptime").flatMap(TimeSpan.init(parsing:)),
                           check: fields.value("check"), result: fields.value("result"),
                           latency: fields.value("latency").flatMap(TimeSpan.init(parsing:)))
        }
    }
}

/// `word key=value key="quoted \"value\""` → [(word, ""), (key, value), ...]: the inverse of `Log.field`.
func parseFields(_ line: String) -> [(key: String, value: String)] {
    var fields: [(key: String, value: String)] = []
    var rest = Substring(line)
    while true {
        rest = rest.drop(while: { $0 == " " })
        guard !rest.isEmpty else { return fields }
        let key = rest.prefix(while: { $0 != "=" && $0 != " " })
        rest = rest.dropFirst(key.count)
        guard rest.first == "=" else { fields.append((String(key), "")); continue }
        rest = rest.dropFirst()
        var value = ""
        if rest.first == "\"" {
            rest = rest.dropFirst()
            while let c = rest.first {
                rest = rest.dropFirst()
                if c == "\"" { break }
                if c == "\\", let next = rest.first {
                    rest = rest.dropFirst()
                    value.append(next == "n" ? "\n" : next == "r" ? "\r" : next)
                } else {
                    value.append(c)
                }
            }
        } else {
            let plain = rest.prefix(while: { $0 != " " })
            value = String(plain)
            rest = rest.dropFirst(plain.count)
        }
        fields.append((String(key), value))
    }
}

extension Array where Element == (key: String, value: String) {
    func value(_ key: String) -> String? { first { $0.key == key }?.value }
}
