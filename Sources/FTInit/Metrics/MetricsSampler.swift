#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// ftinit's own push counters, reported in `ftinit_self`.
struct PushCounters {
    var buffered = 0
    var dropped = 0
    var failures = 0
}

/// Turns /proc, the cgroup, /proc/net/dev and the disk paths into line-protocol points
/// (docs/metrics.md is the table of what is written).
struct MetricsSampler {
    private let tagSet: String
    /// The tag sets of each service's points and of each disk path's, built once.
    private let processTagSets: [String: String]
    private let disks: [(path: String, tagSet: String)]
    /// `used_bytes` of each disk path, from the last walk (done in a child by `MetricsAgent`).
    var diskUsed: [String: Int64] = [:]
    private let cgroup: CgroupFiles
    private let ticksPerSecond: Int64
    private let pageSize: Int64
    private var reader = FileReader()

    init(spec: MetricsSpec, services: [String]) {
        let tags = [(key: "service", value: spec.service), (key: "container", value: spec.container ?? hostName())]
            + spec.tags.map { (key: $0.key, value: $0.value) }
        tagSet = LineProtocol.tagSet(tags)
        var processTagSets: [String: String] = [:]
        for name in services { processTagSets[name] = LineProtocol.tagSet(tags + [(key: "process", value: name)]) }
        self.processTagSets = processTagSets
        disks = spec.disks.map { ($0, LineProtocol.tagSet(tags + [(key: "path", value: $0)])) }
        cgroup = CgroupFiles.locate(membership: reader.contents(of: "/proc/self/cgroup") ?? "")
        ticksPerSecond = max(1, Int64(sysconf(Int32(_SC_CLK_TCK))))
        pageSize = Int64(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Every point of one sample, stamped with `milliseconds` of wall-clock time.
    mutating func sample(_ services: [StatusReport.Program], counters: PushCounters, milliseconds: Int64) -> [String] {
        let table = ProcessTable.read(reader: &reader)
        let trees = table.usage(of: services.compactMap(\.pid))
        var points: [String?] = []
        for service in services {
            let tree = service.pid.flatMap { trees[$0] }
            points.append(LineProtocol.point("ftinit_process", tagSet: processTagSets[service.name] ?? tagSet, fields: [
                ("state", .text(service.condition)),
                ("healthy", .integer(service.condition == "healthy" || service.condition == "running" ? 1 : 0)),
                ("check_latency_ms", service.latency.map { .micros($0.milliseconds * 1_000_000) }),
                ("pid", service.pid.map { .integer(Int64($0)) }),
                ("uptime_seconds", service.uptime.map { .micros($0.milliseconds * 1000) }),
                ("cpu_seconds", tree.map { .micros(seconds(ticks: $0.ticks)) }),
                ("rss_bytes", tree.map { .integer($0.residentPages * pageSize) }),
                ("processes", .integer(Int64(tree?.processes ?? 0))),
            ], milliseconds: milliseconds))
        }

        let network = reader.contents(of: "/proc/net/dev").flatMap(networkBytes)
        points.append(LineProtocol.point("ftinit_container", tagSet: tagSet, fields: [
            ("memory_bytes", cgroup.memoryBytes(&reader).map { .integer($0) }),
            ("cpu_seconds", cgroup.cpuMicros(&reader).map { .micros($0) }),
            ("net_rx_bytes", network.map { .integer($0.received) }),
            ("net_tx_bytes", network.map { .integer($0.sent) }),
            ("processes", .integer(Int64(table.processes.count))),
        ], milliseconds: milliseconds))

        for disk in disks {
            let filesystem = DiskUsage.filesystem(disk.path)
            points.append(LineProtocol.point("ftinit_disk", tagSet: disk.tagSet, fields: [
                ("used_bytes", diskUsed[disk.path].map { .integer($0) }),
                ("free_bytes", filesystem.map { .integer($0.freeBytes) }),
                ("size_bytes", filesystem.map { .integer($0.sizeBytes) }),
            ], milliseconds: milliseconds))
        }

        let own = reader.contents(of: "/proc/self/stat").flatMap(ProcessStat.init(parsing:))
        points.append(LineProtocol.point("ftinit_self", tagSet: tagSet, fields: [
            ("rss_bytes", own.map { .integer($0.residentPages * pageSize) }),
            ("cpu_seconds", own.map { .micros(seconds(ticks: $0.ownTicks)) }),
            ("points_buffered", .integer(Int64(counters.buffered))),
            ("points_dropped", .integer(Int64(counters.dropped))),
            ("push_failures", .integer(Int64(counters.failures))),
        ], milliseconds: milliseconds))
        return points.compactMap { $0 }
    }

    /// Clock ticks as microseconds.
    private func seconds(ticks: Int64) -> Int64 { ticks * 1_000_000 / ticksPerSecond }
}

/// The machine's (in Kubernetes: the pod's) host name.
func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
    return string(fromNulTerminated: buffer)
}

/// Wall-clock time in milliseconds since the epoch, for point timestamps.
func wallClockMilliseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
