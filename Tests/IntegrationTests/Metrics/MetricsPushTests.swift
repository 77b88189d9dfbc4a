import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `[metrics]` for real (docs/metrics.md): an ftinit, PID 1 of its own PID namespace in a
/// network namespace of the test's own, pushes to Debian's InfluxDB there (found by name through the
/// namespace's hosts file, so through the resolver child): the points carry the documented
/// names, types, tags and plausible values. With InfluxDB down, silent, or unresolvable,
/// supervision, probes and shutdown are not delayed, failures are logged once a minute, the
/// bounded buffer drops the oldest points and counts them, and what it kept arrives once
/// InfluxDB answers again.
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(["ip", "unshare", "nsenter", "influxd", "curl", "python3"]), what: "metrics push tests"))
    struct MetricsPush {
        // MARK: a. names, types, tags and values

        @Test func pointsArriveWithTheDocumentedNamesTypesTagsAndValues() throws {
            try MetricsStore.withInfluxDB { network in try Self.checkPoints(in: network) }
        }

        static func checkPoints(in network: TestNetwork) throws {
            // A veth pair: an interface other than lo (which net_*_bytes leave out) in the namespace.
            let link = try network.addLink()
            let scratch = try Scratch()
            defer { scratch.remove() }
            let disk = scratch.file("disk")
            try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: false)
            let fileSize = 1 << 20
            // Random bytes: no filesystem can store them sparse or compressed.
            try Data((0..<fileSize).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: "\(disk)/data"))
            let config = try scratch.config("""
                [metrics]
                url = http://influxdb:8086
                database = ftservices
                username = ${INFLUXDB_ADMIN_USER}
                password = ${INFLUXDB_ADMIN_PASSWORD}
                service = pushtest
                tags = extra=1
                disk = \(disk)
                interval = 1s

                [service busy]
                run = /bin/sh -c 'while :; do :; done'

                [service idle]
                run = sleep 1000
                check = exec true

                [service tree]
                run = /bin/sh -c 'sleep 1000 & sleep 1000 & sleep 1000 & wait'

                """)
            let pusher = try FTInit.launch(["run", "--config", config], environment: MetricsStore.secrets,
                                           directory: scratch.path, network: network)
            defer { pusher.stop() }
            let started = try pusher.requireStarted(["busy", "idle", "tree"])
            _ = try pusher.requireEvent("healthy", subject: "idle")
            // Some traffic in through the veth, for net_rx_bytes.
            let ping = try Tool.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://\(link.namespaceAddress):8086/ping"])
            try #require(ping.stdout == "204", "\(ping)")

            // Until every measurement has points and the services have settled (three busy
            // samples, the tree's three sleeps forked, the check passed), or 20 s.
            var data = MeasurementData()
            let deadline = ContinuousClock.now + .seconds(20)
            repeat {
                Poll.sleep(.milliseconds(500))
                if pusher.process.ended != nil { break }
                data = try MeasurementData(network: network)
            } while !data.isSettled && ContinuousClock.now < deadline
            try #require(data.isSettled, "InfluxDB did not get three settled samples within 20 s: \(data)\(pusher.report)")
            // The busy loop's CPU time as /proc says it now, to compare with the last sample's.
            let busyHostPid = try pusher.hostPid(of: try #require(started.first { $0.subject == "busy" }))
            let busyNow = try #require(ProcFS.cpuSeconds(busyHostPid)), now = Self.wallClockMilliseconds()

            // Every measurement and field of docs/metrics.md, with its type.
            let contract = try MetricsStore.documentedFields()
            let fieldKeys = try MetricsStore.query(network, "SHOW FIELD KEYS")
            var stored: [String: [String: String]] = [:]
            for series in fieldKeys {
                for row in series.rows { stored[series.name, default: [:]][row[0] as? String ?? "?"] = row[1] as? String }
            }
            #expect(Set(stored.keys) == Set(contract.keys), "measurements: \(stored.keys.sorted()) vs docs/metrics.md \(contract.keys.sorted())")
            for (measurement, fields) in contract {
                #expect(stored[measurement] == fields, "\(measurement): InfluxDB has \(stored[measurement] ?? [:]), docs/metrics.md says \(fields)")
            }

            // Tags: service, container (the host name by default), the extra tag; process and path.
            let tagKeys = try MetricsStore.query(network, "SHOW TAG KEYS WHERE service = 'pushtest'")
            let common: Set<String> = ["service", "container", "extra"]
            let expectedTags = ["ftinit_process": common.union(["process"]), "ftinit_disk": common.union(["path"]),
                                "ftinit_container": common, "ftinit_self": common]
            for series in tagKeys {
                #expect(Set(series.rows.compactMap { $0.first as? String }) == expectedTags[series.name], "tag keys of \(series.name): \(series.rows)")
            }
            let host = Self.hostName()
            for series in data.all {
                #expect(series.tags["service"] == "pushtest" && series.tags["container"] == host && series.tags["extra"] == "1",
                        "\(series.name) \(series.tags): expected service=pushtest container=\(host) extra=1")
            }
            #expect(Set(data.processes.keys) == ["busy", "idle", "tree"], "process tags: \(data.processes.keys.sorted())")
            #expect(data.disks.map { $0.tags["path"] } == [disk], "path tags: \(data.disks.map(\.tags))")

            // ftinit_process: pids as logged, memory, the tree, health, CPU rates.
            for event in started {
                let name = try #require(event.subject)
                let series = try #require(data.processes[name])
                #expect(series.integers("pid").last == event.pid.map(Int64.init), "\(name): pid \(series.integers("pid")) vs \(event)")
                #expect(series.integers("rss_bytes").allSatisfy { $0 > 0 }, "\(name): rss_bytes \(series.integers("rss_bytes"))")
                #expect(series.numbers("uptime_seconds").last ?? 0 > 0, "\(name): uptime_seconds \(series.numbers("uptime_seconds"))")
            }
            let busy = try #require(data.processes["busy"]), idle = try #require(data.processes["idle"]), tree = try #require(data.processes["tree"])
            #expect(tree.integers("processes").last == 4, "tree: sh and its 3 sleeps: \(tree.integers("processes"))")
            #expect(busy.integers("processes").last == 1 && idle.integers("processes").last == 1,
                    "busy \(busy.integers("processes")), idle \(idle.integers("processes"))")
            #expect(idle.strings("state").last == "healthy" && idle.integers("healthy").last == 1,
                    "idle: state \(idle.strings("state")), healthy \(idle.integers("healthy"))")
            #expect((idle.numbers("check_latency_ms").last ?? -1) >= 0, "idle: check_latency_ms \(idle.numbers("check_latency_ms"))")
            #expect(busy.strings("state").last == "running" && busy.integers("healthy").last == 1,
                    "busy (no check): state \(busy.strings("state")), healthy \(busy.integers("healthy"))")
            let busyCPU = busy.numbers("cpu_seconds")
            #expect(zip(busyCPU, busyCPU.dropFirst()).allSatisfy { $0 < $1 }, "busy cpu_seconds must grow every sample: \(busyCPU)")
            let busyRate = try #require(busy.rate("cpu_seconds")), idleRate = try #require(idle.rate("cpu_seconds"))
            print("MetricsPush: busy service \(String(format: "%.2f", busyRate)) CPU s/s, idle \(String(format: "%.3f", idleRate)) CPU s/s")
            // One thread spinning: at most one core, and most of one unless the machine is
            // loaded (the tests share 2 cores with InfluxDB and whatever else runs).
            #expect(busyRate > 0.25 && busyRate < 1.1, "busy loop: \(busyRate) CPU seconds per second, about one core expected: \(busy)")
            // The last sample against /proc: no more than now, no less than now minus the time since.
            let lastBusy = try #require(busyCPU.last), sinceLast = Double(now - (busy.times.last ?? now)) / 1000
            #expect(lastBusy <= busyNow + 0.02 && lastBusy >= busyNow - sinceLast - 0.05,
                    "busy: last sample \(lastBusy) s \(sinceLast) s ago, /proc says \(busyNow) s now")
            #expect(idleRate < 0.05, "idle sleep: \(idleRate) CPU seconds per second, about 0 expected: \(idle)")

            // ftinit_disk: at least the file, on a filesystem of some size.
            let diskSeries = try #require(data.disks.first)
            #expect(diskSeries.integers("used_bytes").allSatisfy { $0 >= Int64(fileSize) }, "used_bytes \(diskSeries.integers("used_bytes")) < \(fileSize)")
            #expect((diskSeries.integers("size_bytes").last ?? 0) >= (diskSeries.integers("free_bytes").last ?? 1), "\(diskSeries)")

            // ftinit_container: at least ftinit and every service's processes of the same sample.
            let container = try #require(data.container)
            for (time, count) in zip(container.times, container.integers("processes")) {
                let services = data.processes.values.compactMap { $0.value("processes", at: time) as? NSNumber }.map(\.int64Value)
                #expect(services.count == 3 && count >= 1 + services.reduce(0, +), "at \(time): container processes \(count), services \(services)")
            }
            // The cgroup's memory and CPU in every sample; counters never go back.
            let memory = container.integers("memory_bytes"), cgroupCPU = container.numbers("cpu_seconds")
            let received = container.integers("net_rx_bytes"), sent = container.integers("net_tx_bytes")
            #expect(memory.count == container.rows.count && memory.allSatisfy { $0 > 1_000_000 }, "memory_bytes: \(container)")
            for counter in [cgroupCPU, received.map(Double.init), sent.map(Double.init)] {
                #expect(counter.count == container.rows.count && zip(counter, counter.dropFirst()).allSatisfy { $0 <= $1 }, "\(container)")
            }
            #expect(cgroupCPU.last ?? 0 > 0 && received.last ?? 0 > 0, "the veth's traffic, the cgroup's CPU: \(container)")

            // ftinit_self: a small resident set; nothing buffered or dropped with InfluxDB up.
            let own = try #require(data.own)
            #expect(own.integers("rss_bytes").allSatisfy { $0 > 1_000_000 && $0 < 50_000_000 }, "ftinit rss_bytes \(own.integers("rss_bytes"))")
            #expect(own.integers("points_dropped").allSatisfy { $0 == 0 } && own.integers("push_failures").allSatisfy { $0 == 0 }, "\(own)")
            #expect(pusher.events("metrics-refused").isEmpty && pusher.events("metrics-push-failed").isEmpty, "\(pusher.report)")
        }

        // MARK: b. InfluxDB down, then silent: supervision, probes and shutdown are not delayed

        @Test func downOrSilentInfluxDBDelaysNeitherProbesNorShutdown() throws {
            let network = try TestNetwork()
            defer { network.remove() }
            let scratch = try Scratch()
            defer { scratch.remove() }
            // With metrics off: the reference figures.
            let off = try Self.launchServices(scratch: scratch, network: network, metrics: nil)
            defer { off.stop() }
            try off.waitUntilHealthy(timeout: .seconds(10))
            let probesOff = try Self.probeLatencies(off)
            let stopOff = try Self.timedStop(off)

            // Nothing listens on the port: every push is refused at once.
            let on = try Self.launchOverflowingServices(scratch: scratch, network: network)
            defer { on.stop() }
            try on.waitUntilHealthy(timeout: .seconds(10))
            let firstFailure = try on.requireEvent("metrics-push-failed", timeout: .seconds(5))
            #expect(firstFailure["error"]?.contains("Connection refused") == true && firstFailure["failures"] == "1", "\(firstFailure)")
            let ftinitPid = try on.pid()
            let fdsBefore = try #require(ProcFS.fdCount(ftinitPid))
            let probesDown = try Self.probeLatencies(on)
            // The 50-point buffer overflows at the 4th sample (see launchOverflowingServices).
            let dropped = try on.requireEvent("metrics-dropped", timeout: .seconds(10))
            #expect(dropped["buffer"] == "50" && Int(dropped["points"] ?? "") ?? 0 > 0, "\(dropped)")

            // A listener that accepts and never answers: every push waits for its timeout.
            let blackHole = try Listener(.blackHole, port: Self.port, network: network)
            defer { blackHole.stop() }
            try blackHole.requireConnections(2, timeout: .seconds(8), report: on.report)
            let probesSilent = try Self.probeLatencies(on, gap: .milliseconds(40))
            try blackHole.requireConnections(3, timeout: .seconds(8), report: on.report)
            let fdsAfter = try #require(ProcFS.fdCount(ftinitPid))
            #expect(fdsAfter <= fdsBefore + 2, "ftinit's descriptors grew from \(fdsBefore) to \(fdsAfter): \(ProcFS.fdTargets(ftinitPid))")

            // The services stayed up (an http check stalled for 500 ms would have failed the image).
            #expect(on.events("exited").isEmpty && on.events("unhealthy").isEmpty, "\(on.report)")
            let report = try Tool.probe(on.socketPath)
            #expect(report.succeeded, "\(report)")
            // Logged at most once a minute (the test lasts less than one), the drops too.
            #expect(on.events("metrics-push-failed").count == 1 && on.events("metrics-dropped").count == 1, "\(on.report)")

            // SIGTERM just after a push connected: it is in flight, for a second at most.
            try blackHole.requireConnections(blackHole.count + 1, timeout: .seconds(5), report: on.report)
            let stopOn = try Self.timedStop(on)
            print("""
                MetricsPush: ftinit probe latency, \(Self.probeCount) probes each: metrics off \(probesOff); \
                InfluxDB down \(probesDown); InfluxDB silent \(probesSilent)
                MetricsPush: SIGTERM to exit (a service takes 0.5 s to stop): metrics off \(stopOff.elapsed), \
                InfluxDB silent, a push in flight \(stopOn.elapsed)
                """)
            for (what, probes) in [("metrics off", probesOff), ("InfluxDB down", probesDown), ("InfluxDB silent", probesSilent)] {
                #expect(probes.failures.isEmpty, "\(what): failed probes: \(probes.failures)")
                #expect(probes.max < .milliseconds(500), "\(what): probe latency \(probes)")
            }
            #expect(stopOff.code == 0 && stopOn.code == 0, "exit codes \(stopOff.code), \(stopOn.code)\(on.report)")
            #expect(stopOn.elapsed < stopOff.elapsed + .milliseconds(500) && stopOn.elapsed < .milliseconds(2000),
                    "with a push in flight, SIGTERM to exit took \(stopOn.elapsed) (\(stopOff.elapsed) with metrics off)\(on.report)")
        }

        // MARK: b'. the buffer: bounded, oldest dropped and counted, the rest delivered late

        @Test func bufferedPointsArriveWithTheirTimestampsOnceInfluxDBAnswers() throws {
            try MetricsStore.withInfluxDB { network in try Self.checkBuffer(in: network) }
        }

        /// InfluxDB runs on 8086 all along; the pusher's port reaches it once a forwarder listens there.
        static func checkBuffer(in network: TestNetwork) throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let pusher = try Self.launchOverflowingServices(scratch: scratch, network: network)
            defer { pusher.stop() }
            _ = try pusher.requireEvent("metrics-push-failed", timeout: .seconds(5))
            _ = try pusher.requireEvent("metrics-dropped", timeout: .seconds(10))

            let backAt = Self.wallClockMilliseconds()
            let forwarder = try Listener(.forward(to: 8086), port: Self.port, network: network)
            defer { forwarder.stop() }
            let recovered = try pusher.requireEvent("metrics-push-recovered", timeout: .seconds(5))
            #expect(Int(recovered["failures"] ?? "") ?? 0 > 0, "\(recovered)")

            // What was sampled while InfluxDB was away: at most the buffer's 50 points, and some.
            let old = try MetricsStore.query(network, "SELECT * FROM /^ftinit_/ WHERE service = 'pushtest' AND time < \(backAt)ms GROUP BY *")
            let oldPoints = old.reduce(0) { $0 + $1.rows.count }
            print("MetricsPush: \(oldPoints) points sampled while InfluxDB was away arrived after its return (buffer = 50)")
            #expect(oldPoints > 0 && oldPoints <= 50, "\(oldPoints) points older than InfluxDB's return stored: \(old)")
            #expect(Set(old.map(\.name)) == ["ftinit_process", "ftinit_container", "ftinit_disk", "ftinit_self"], "\(old.map(\.name))")
            // ftinit_self told the story: never more than 50 buffered, drops counted.
            let own = try MetricsStore.query(network, "SELECT points_buffered, points_dropped, push_failures FROM ftinit_self WHERE service = 'pushtest'")
            let buffered = own.first?.integers("points_buffered") ?? [], dropped = own.first?.integers("points_dropped") ?? []
            #expect(!buffered.isEmpty && buffered.allSatisfy { $0 <= 50 }, "points_buffered \(buffered)")
            #expect(buffered.max() ?? 0 >= 16, "some points must have been buffered: \(buffered)")
            #expect(dropped.last ?? 0 > 0, "points_dropped \(dropped)")
            #expect((own.first?.integers("push_failures").last ?? 0) > 0, "\(own)")
            #expect(pusher.events("metrics-push-failed").count == 1 && pusher.events("metrics-push-recovered").count == 1, "\(pusher.report)")
            #expect(pusher.events("exited").isEmpty && pusher.events("metrics-refused").isEmpty, "\(pusher.report)")
        }

        // MARK: c. a name that does not resolve, a DNS server that does not answer

        @Test func unresolvableNameLeavesServicesAloneAndNoZombie() throws {
            let network = try TestNetwork()
            defer { network.remove() }
            // ftinit's resolver asks the namespace's own 127.0.0.1:53 (TestNetwork.mounts): no DNS server yet.
            let scratch = try Scratch()
            defer { scratch.remove() }
            let metrics = Self.metricsSection(host: "nowhere.invalid", port: 8086)

            // Nothing answers on port 53: the lookup fails at once, with the resolver's error.
            do {
                let ftinit = try Self.launchServices(scratch: scratch, network: network, metrics: metrics)
                defer { ftinit.stop() }
                try ftinit.waitUntilHealthy(timeout: .seconds(10))
                let failed = try ftinit.requireEvent("metrics-push-failed", timeout: .seconds(5))
                let error = failed["error"] ?? ""
                print("MetricsPush: nowhere.invalid, no DNS server: \(failed.line)")
                #expect(error.hasPrefix("unable to resolve nowhere.invalid: ") && !error.contains("no answer within"), "\(failed)")
                try Self.expectNoLingeringZombie(ftinit, for: .seconds(5))
                #expect(ftinit.events("exited").isEmpty, "\(ftinit.report)")
                let probes = try Self.probeLatencies(ftinit, count: 20)
                #expect(probes.failures.isEmpty && probes.max < .milliseconds(500), "\(probes)")
                #expect(try Self.timedStop(ftinit).code == 0, "\(ftinit.report)")
            }

            // A DNS server that never answers: each lookup child is killed at the timeout and reaped.
            let dns = try Listener(.silentUDP, port: 53, network: network)
            defer { dns.stop() }
            let ftinit = try Self.launchServices(scratch: scratch, network: network, metrics: metrics)
            defer { ftinit.stop() }
            try ftinit.waitUntilHealthy(timeout: .seconds(10))
            let failed = try ftinit.requireEvent("metrics-push-failed", timeout: .seconds(5))
            #expect(failed["error"] == "unable to resolve nowhere.invalid: no answer within 1s", "\(failed)")
            let resolvers = try Self.expectNoLingeringZombie(ftinit, for: .seconds(5))
            print("MetricsPush: silent DNS server: \(resolvers.count) lookup children in 5 s")
            #expect(resolvers.count >= 2, "one lookup a second expected, saw \(resolvers.count) lookup children\(ftinit.report)")
            let probes = try Self.probeLatencies(ftinit, count: 20)
            #expect(probes.failures.isEmpty && probes.max < .milliseconds(500), "\(probes)")
            #expect(ftinit.events("exited").isEmpty && ftinit.events("metrics-push-failed").count == 1, "\(ftinit.report)")
            let stop = try Self.timedStop(ftinit)
            #expect(stop.code == 0 && stop.elapsed < .milliseconds(2000), "\(stop)\(ftinit.report)")
        }

        // MARK: e. a huge disk path is walked without stalling the loop

        /// 50,000 files take a walk of 100 to 150 ms on this machine: done in the loop, it would
        /// hold every probe answered meanwhile for that long.
        @Test func aHugeDiskPathNeverStallsProbes() throws {
            let network = try TestNetwork()
            defer { network.remove() }
            let scratch = try Scratch()
            defer { scratch.remove() }
            let huge = scratch.file("huge")
            try FileManager.default.createDirectory(atPath: huge, withIntermediateDirectories: false)
            for index in 0..<50_000 {
                let fd = open("\(huge)/\(index)", O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
                try #require(fd >= 0, "create \(huge)/\(index): \(String(cString: strerror(errno)))")
                close(fd)
            }
            let ftinit = try Self.launchServices(scratch: scratch, network: network,
                                                 metrics: Self.metricsSection(port: Self.port, extra: "disk = \(huge)"))
            defer { ftinit.stop() }
            // The first walk starts with the first sample, one second after the start: probing
            // from the moment the services started, 120 probes 20 ms apart span it.
            _ = try ftinit.requireStarted(["web", "slow-stop"])
            let probes = try Self.probeLatencies(ftinit, count: 120)
            print("MetricsPush: probe latency while walking 50,000 files: \(probes)")
            #expect(probes.failures.isEmpty && probes.max < .milliseconds(80), "\(probes)\(ftinit.report)")
            #expect(ftinit.events("metrics-disk-failed").isEmpty, "\(ftinit.report)")
        }

        // MARK: d. a bad [metrics] is refused before anything starts

        @Test func httpsURLIsAConfigError() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let config = try scratch.config("""
                [metrics]
                database = ftservices
                url = https://influxdb:8086
                service = pushtest

                [service idle]
                run = sleep 1000

                """)
            let result = try CommandResult.run(["check", "--config", config])
            #expect(result.code == 78, "\(result.report)")
            #expect(result.stderr.contains("\(config):3: url must be http://"), "\(result.report)")
        }
    }
}
