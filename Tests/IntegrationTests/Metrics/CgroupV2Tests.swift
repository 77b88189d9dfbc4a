import Foundation
import Testing

/// `[metrics]` on a cgroup v2 machine. This host (and the container tests' dockerd) is cgroup
/// v1, with every controller bound to v1; its unified hierarchy still has the core `cpu.stat`.
/// So ftinit runs as PID 1 with only that hierarchy mounted at /sys/fs/cgroup, in a child
/// cgroup of its own: the v2 CPU figure is read for real; `memory.current` needs the memory
/// controller in v2, which only a v2 host has (its path is unit-tested).
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(["unshare", "mount", "busybox"]), what: "cgroup v2 metrics test"))
    struct CgroupV2 {
        @Test func cpuOfTheContainerIsReadFromTheUnifiedHierarchy() throws {
            try #require(CgroupLayout.unifiedAvailable, "this kernel has no cgroup2 filesystem")
            let busybox = try #require(Prerequisites.which("busybox"))
            let scratch = try Scratch()
            defer { scratch.remove() }
            let port = 18086  // a stand-in InfluxDB (busybox nc) keeps the first push
            let config = try scratch.write("ftinit.conf", """
                [metrics]
                url = http://127.0.0.1:\(port)
                database = ft
                service = v2
                interval = 1s

                [service influx]
                run = \(busybox) sh -c '\(busybox) nc -l -p \(port) > \(scratch.file("push.txt")); exec \(busybox) sleep 100000'

                [service busy]
                run = /bin/sh -c 'while :; do :; done'

                """)
            let layout = CgroupLayout.unifiedOnly(group: "ftinit-test-v2-\(getpid())")
            let ftinit = try FTInit.launch(["run", "--config", config], cgroups: layout)
            defer {
                ftinit.stop()
                layout.removeGroup()
            }
            var push = ""
            let pushed = Poll.until(timeout: .seconds(10)) {
                push = (try? String(contentsOfFile: scratch.file("push.txt"), encoding: .utf8)) ?? ""
                return push.contains("ftinit_container,")
            }
            try #require(pushed, "no push arrived: \(push)\(ftinit.report)")
            let line = try #require(push.split(separator: "\n").first { $0.hasPrefix("ftinit_container,") })
            let fields = lineProtocolFields(line)
            // The busy loop's CPU, about a second of it: the cgroup's, not the host's (which
            // has run for far longer), read from cpu.stat's usage_usec.
            let cpu = try #require(Double(fields["cpu_seconds"] ?? ""), "no cpu_seconds in \(line)")
            #expect(cpu > 0.1 && cpu < 30, "cpu_seconds \(cpu): \(line)")
            // memory_bytes only where v2 has the memory controller (a v2 host), else left out.
            if let memory = fields["memory_bytes"] {
                let bytes = Int64(memory.dropLast()) ?? 0
                #expect(bytes > 100_000 && bytes < 200_000_000, "memory_bytes \(memory): \(line)")
            }
            print("CgroupV2: ftinit_container from the unified hierarchy: cpu_seconds=\(cpu) memory_bytes=\(fields["memory_bytes"] ?? "(no memory controller in v2 here)")")
        }
    }
}
