import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// What the MetricsPush tests alone use: launching the pushing ftinit, reading what arrived,
// timing probes and stops. What they share with Dashboards is in MetricsStore.swift, the
// stand-in InfluxDB and DNS server in Listener.swift.

extension Integration.MetricsPush {
    /// The port the pushing ftinit is told InfluxDB listens on in tests b: nothing, a
    /// black hole or a forwarder to the real one on 8086.
    static let port = 8087
    static let probeCount = 50

    /// `[metrics]` pushing to `host:port` every second.
    static func metricsSection(host: String = "influxdb", port: Int, extra: String = "") -> String {
        """
        [metrics]
        url = http://\(host):\(port)
        database = ftservices
        username = ${INFLUXDB_ADMIN_USER}
        password = ${INFLUXDB_ADMIN_PASSWORD}
        service = pushtest
        interval = 1s
        \(extra)

        """
    }

    /// An ftinit in `network` supervising what images do: a web server with an http check
    /// every second (any check stalled past 500 ms makes the image fail), and a service
    /// that takes 0.5 s to stop.
    static func launchServices(scratch: Scratch, network: TestNetwork, metrics: String?) throws -> FTInit {
        let config = try scratch.config("""
            \(metrics ?? "")
            [service web]
            run = python3 -m http.server --bind 127.0.0.1 --directory \(scratch.path) 8080
            check = http http://127.0.0.1:8080/
            check-interval = 1s
            check-timeout = 500ms
            check-retries = 1

            [service slow-stop]
            run = /bin/sh -c 'trap "sleep 0.5; exit 0" TERM; while :; do sleep 0.1; done'
            stop-timeout = 5s

            """)
        return try FTInit.launch(["run", "--config", config], environment: MetricsStore.secrets,
                                 directory: scratch.path, network: network)
    }

    /// `launchServices` pushing to `port` with a 50-point buffer, a 1 s timeout and 12 disk
    /// paths: 16 points a sample (2 services, container, self, 12 disks), so the buffer
    /// overflows at the 4th sample while nothing takes the points.
    static func launchOverflowingServices(scratch: Scratch, network: TestNetwork) throws -> FTInit {
        let disks = try (1...12).map { index in
            let path = scratch.file("disk\(index)")
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            return path
        }
        let metrics = metricsSection(port: port, extra: "buffer = 50\ntimeout = 1s\ndisk = \(disks.joined(separator: " "))")
        return try launchServices(scratch: scratch, network: network, metrics: metrics)
    }

    /// Every point of the pushing ftinit, by measurement (and process).
    struct MeasurementData: CustomStringConvertible {
        var processes: [String: MetricsStore.Series] = [:]
        var disks: [MetricsStore.Series] = []
        var container: MetricsStore.Series?
        var own: MetricsStore.Series?

        init() {}

        init(network: TestNetwork) throws {
            for series in try MetricsStore.query(network, "SELECT * FROM /^ftinit_/ WHERE service = 'pushtest' GROUP BY *") {
                switch series.name {
                case "ftinit_process": processes[series.tags["process"] ?? "?"] = series
                case "ftinit_disk": disks.append(series)
                case "ftinit_container": container = series
                case "ftinit_self": own = series
                default: break
                }
            }
        }

        var all: [MetricsStore.Series] { Array(processes.values) + disks + [container, own].compactMap { $0 } }

        /// Three samples of busy, the tree complete, the check passed, every measurement there.
        var isSettled: Bool {
            (processes["busy"]?.rows.count ?? 0) >= 3 && processes["tree"]?.integers("processes").last == 4
                && processes["idle"]?.strings("state").last == "healthy" && !disks.isEmpty && container != nil && own != nil
        }

        var description: String { all.isEmpty ? "no point" : all.map(\.description).joined(separator: "\n") }
    }

    /// Latencies of `ftinit probe`, run `count` times `gap` apart.
    struct ProbeLatencies: CustomStringConvertible {
        var latencies: [Duration] = []
        var failures: [ToolResult] = []
        var p50: Duration { latencies.sorted()[latencies.count / 2] }
        var max: Duration { latencies.max() ?? .zero }
        var description: String {
            String(format: "p50 %.1f ms, max %.1f ms", p50.seconds * 1000, max.seconds * 1000)
        }
    }

    static func probeLatencies(_ ftinit: FTInit, count: Int = probeCount, gap: Duration = .milliseconds(20)) throws -> ProbeLatencies {
        var result = ProbeLatencies()
        for _ in 0..<count {
            let probe = try Tool.probe(ftinit.socketPath, ["--timeout", "2s"])
            result.latencies.append(probe.elapsed)
            if !probe.succeeded { result.failures.append(probe) }
            Poll.sleep(gap)
        }
        return result
    }

    /// SIGTERM, then the exit code and the time from the signal to the exit.
    static func timedStop(_ ftinit: FTInit, sourceLocation: SourceLocation = #_sourceLocation) throws -> (code: Int32, elapsed: Duration) {
        let sent = ContinuousClock.now
        try ftinit.send(SIGTERM, sourceLocation: sourceLocation)
        let code = try ftinit.exitCode(timeout: .seconds(15), sourceLocation: sourceLocation)
        return (code, try #require(ftinit.exitTime, sourceLocation: sourceLocation) - sent)
    }

    /// Watches ftinit's namespace for `duration`: no zombie may outlive 500 ms (ftinit reaps
    /// at once; /proc may catch one between exit and reaping), and ftinit never runs more
    /// than one lookup child at a time. Returns the lookup children seen (forks of ftinit).
    @discardableResult
    static func expectNoLingeringZombie(_ ftinit: FTInit, for duration: Duration,
                                        sourceLocation: SourceLocation = #_sourceLocation) throws -> Set<pid_t> {
        let root = try ftinit.pid(sourceLocation: sourceLocation)
        var firstSeen: [pid_t: ContinuousClock.Instant] = [:]
        var lingering: [ProcStat] = []
        var resolvers: Set<pid_t> = []
        var concurrent = 0
        let end = ContinuousClock.now + duration
        while ContinuousClock.now < end {
            let now = ContinuousClock.now
            let processes = ftinit.processes()
            for zombie in processes where zombie.isZombie {
                let seen = firstSeen[zombie.pid, default: now]
                firstSeen[zombie.pid] = seen
                if now - seen > .milliseconds(500) && !lingering.contains(where: { $0.pid == zombie.pid }) { lingering.append(zombie) }
            }
            let lookups = processes.filter { $0.ppid == root && $0.comm == "ftinit" && !$0.isZombie }
            resolvers.formUnion(lookups.map(\.pid))
            concurrent = Swift.max(concurrent, lookups.count)
            Poll.sleep(.milliseconds(50))
        }
        #expect(lingering.isEmpty, "zombies left unreaped: \(lingering)\(ftinit.report)", sourceLocation: sourceLocation)
        #expect(concurrent <= 1, "\(concurrent) lookup children at once\(ftinit.report)", sourceLocation: sourceLocation)
        return resolvers
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func wallClockMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}

extension FTInit {
    /// Waits until `ftinit probe` says every service is healthy (not merely starting).
    func waitUntilHealthy(timeout: Duration, sourceLocation: SourceLocation = #_sourceLocation) throws {
        var last: ToolResult?
        let healthy = try Poll.until(timeout: timeout, interval: .milliseconds(200)) {
            if process.ended != nil { return true }
            let probe = try Tool.probe(socketPath, sourceLocation: sourceLocation)
            last = probe
            return probe.succeeded && !probe.stdout.contains("starting") && !probe.stdout.contains("waiting")
        }
        try #require(healthy && process.ended == nil, "not healthy within \(timeout): \(last.map(\.description) ?? "no probe ran")\(report)",
                     sourceLocation: sourceLocation)
    }
}
