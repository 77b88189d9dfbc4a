/// `[metrics]`.
extension ConfigLoader {
    static let metricsKeys = ["url", "database", "username", "password", "service", "container", "tags", "disk",
                              "interval", "timeout", "buffer"]
    /// Tags every point already has; `tags` may not redefine them.
    static let reservedTags: Set<String> = ["service", "container", "process", "path"]

    mutating func readMetrics(_ section: IniDocument.Section) -> MetricsSpec {
        var spec = MetricsSpec(line: section.line)
        var timeoutSet = false
        for entry in section.entries {
            switch entry.key {
            case "url":
                guard let url = expanded(entry), !url.isEmpty else { break }  // empty: metrics off
                if let target = HTTPTarget(url: url), !target.secure {
                    spec.target = target
                } else {
                    fail(entry.line, "url must be http://HOST[:PORT][/PREFIX] (InfluxDB 1.x), got '\(url)'")
                }
            case "database": spec.database = nonEmpty(entry) ?? ""
            case "username": spec.username = nonEmpty(entry)
            case "password": spec.password = nonEmpty(entry)
            case "service": spec.service = nonEmpty(entry) ?? ""
            case "container": spec.container = nonEmpty(entry)
            case "tags": spec.tags = readTags(entry)
            case "disk":
                for path in words(entry) {
                    if path.hasPrefix("/") { spec.disks.append(path) } else { fail(entry.line, "disk: '\(path)' is not an absolute path") }
                }
            case "interval":
                if let span = timeSpan(entry) {
                    if span < .seconds(1) { fail(entry.line, "interval must be at least 1s, got \(entry.value)") } else { spec.interval = span }
                }
            case "timeout":
                if let span = timeSpan(entry) {
                    if span == .zero { fail(entry.line, "timeout must be more than 0") } else { spec.timeout = span; timeoutSet = true }
                }
            case "buffer":
                if let points = Int(entry.value), (1...1_000_000).contains(points) { spec.bufferPoints = points } else {
                    fail(entry.line, "buffer must be a number of points from 1 to 1000000, got '\(entry.value)'")
                }
            default:
                fail(entry.line, "unknown key '\(entry.key)' in [metrics] (expected \(Self.metricsKeys.joined(separator: ", ")))")
            }
        }
        let present = Set(section.entries.map(\.key))
        for key in ["url", "database", "service"] where !present.contains(key) {
            fail(section.line, "[metrics] has no '\(key)' key")
        }
        if present.contains("username") != present.contains("password") {
            fail(section.line, "[metrics] needs both 'username' and 'password', or neither")
        }
        if timeoutSet && spec.interval < spec.timeout {
            fail(section.line, "timeout (\(spec.timeout)) must not be longer than interval (\(spec.interval))")
        }
        spec.timeout = min(spec.timeout, spec.interval)
        return spec
    }

    /// `key=value key=value`: extra tags for every point.
    private mutating func readTags(_ entry: IniDocument.Entry) -> [MetricsTag] {
        var tags: [MetricsTag] = []
        for word in words(entry) {
            guard let eq = word.firstIndex(of: "="), eq != word.startIndex, word.index(after: eq) != word.endIndex else {
                fail(entry.line, "tags must be key=value pairs, got '\(word)'")
                continue
            }
            let key = String(word[..<eq])
            if Self.reservedTags.contains(key) {
                fail(entry.line, "tags: '\(key)' is set by ftinit itself (reserved: \(Self.reservedTags.sorted().joined(separator: ", ")))")
            } else if tags.contains(where: { $0.key == key }) {
                fail(entry.line, "tags: '\(key)' is given twice")
            } else {
                tags.append(MetricsTag(key: key, value: String(word[word.index(after: eq)...])))
            }
        }
        return tags
    }
}
