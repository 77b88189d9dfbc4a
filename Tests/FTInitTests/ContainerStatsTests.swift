import Foundation
import Glibc
import Testing
@testable import FTInit

/// Where the container's cgroup figures are read, /proc/net/dev, and disk usage.
@Suite struct ContainerStatsTests {
    static func locate(_ membership: String, existing: Set<String>) -> CgroupFiles {
        CgroupFiles.locate(membership: membership, exists: { existing.contains($0) })
    }

    @Test func cgroupV2InItsOwnNamespaceReadsTheMountItself() {
        let files = Self.locate("0::/\n", existing: ["/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/cpu.stat"])
        #expect(files == CgroupFiles(memory: "/sys/fs/cgroup/memory.current", cpu: "/sys/fs/cgroup/cpu.stat", cpuIsV2: true))
    }

    @Test func cgroupV2SeenFromTheHostNamespaceFollowsThePath() {
        let files = Self.locate("0::/kubepods/pod1/abc\n", existing: [
            "/sys/fs/cgroup/kubepods/pod1/abc/memory.current", "/sys/fs/cgroup/kubepods/pod1/abc/cpu.stat",
            "/sys/fs/cgroup/cpu.stat",
        ])
        #expect(files.memory == "/sys/fs/cgroup/kubepods/pod1/abc/memory.current")
        #expect(files.cpu == "/sys/fs/cgroup/kubepods/pod1/abc/cpu.stat")
    }

    @Test func cgroupV1WithTheHostsNamespaceFallsBackToTheContainersMount() {
        // Docker on cgroup v1: the path names the host's hierarchy, the mount is the container's.
        let files = Self.locate("12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/docker/abc\n", existing: [
            "/sys/fs/cgroup/memory/memory.usage_in_bytes", "/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage",
        ])
        #expect(files == CgroupFiles(memory: "/sys/fs/cgroup/memory/memory.usage_in_bytes",
                                     cpu: "/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage", cpuIsV2: false))
    }

    @Test func aHybridHostPrefersItsV1Controllers() {
        let files = Self.locate("4:memory:/job\n2:cpuacct:/\n0::/\n", existing: [
            "/sys/fs/cgroup/memory/job/memory.usage_in_bytes", "/sys/fs/cgroup/cpuacct/cpuacct.usage", "/sys/fs/cgroup/cpu.stat",
        ])
        #expect(files == CgroupFiles(memory: "/sys/fs/cgroup/memory/job/memory.usage_in_bytes",
                                     cpu: "/sys/fs/cgroup/cpuacct/cpuacct.usage", cpuIsV2: false))
    }

    @Test func nothingReadableMeansNoFiles() {
        #expect(Self.locate("0::/\n", existing: []) == CgroupFiles())
        #expect(Self.locate("", existing: ["/sys/fs/cgroup/memory.current"]) == CgroupFiles())
    }

    @Test func readsV1AndV2CPUInMicroseconds() throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("cpuacct.usage"), "2500000000\n")
        try writeFile(directory.file("cpu.stat"), "usage_usec 7000001\nuser_usec 5000000\nsystem_usec 2000001\n")
        try writeFile(directory.file("memory.current"), "123456\n")
        var reader = FileReader()
        #expect(CgroupFiles(memory: nil, cpu: directory.file("cpuacct.usage")).cpuMicros(&reader) == 2_500_000)
        #expect(CgroupFiles(memory: directory.file("memory.current"), cpu: directory.file("cpu.stat"), cpuIsV2: true)
            .cpuMicros(&reader) == 7_000_001)
        #expect(CgroupFiles(memory: directory.file("memory.current"), cpu: nil).memoryBytes(&reader) == 123_456)
    }

    @Test func thisMachinesCgroupGivesPlausibleFigures() throws {
        var reader = FileReader()
        let files = CgroupFiles.locate(membership: reader.contents(of: "/proc/self/cgroup") ?? "")
        let memory = try #require(files.memoryBytes(&reader), "no memory figure from \(files)")
        let cpu = try #require(files.cpuMicros(&reader), "no CPU figure from \(files)")
        #expect(memory > 1_000_000)
        #expect(cpu > 0)
    }

    @Test func networkBytesLeaveLoopbackOut() {
        let text = """
            Inter-|   Receive                                                |  Transmit
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                lo: 6248746   42982    0    0    0     0          0         0  6248746   42982    0    0    0     0       0          0
              eth0:  1000      10    0    0    0     0          0         0     200       2    0    0    0     0       0          0
              eth1:1500      10    0    0    0     0          0         0     300       2    0    0    0     0       0          0
            """
        let bytes = networkBytes(text)
        #expect(bytes?.received == 2500 && bytes?.sent == 500)
        #expect(networkBytes("Inter-|\n face |\n    lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n") == nil)
    }

    @Test func diskUsageCountsBlocksOnceAndDoesNotFollowLinks() throws {
        let directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("sub/deeper"), withIntermediateDirectories: true)
        try Data(repeating: 7, count: 1_000_000).write(to: URL(fileURLWithPath: directory.file("sub/deeper/big")))
        #expect(link(directory.file("sub/deeper/big"), directory.file("hardlink")) == 0)
        #expect(symlink("/usr", directory.file("to-usr")) == 0)
        let used = try #require(DiskUsage.usedBytes(directory.path))
        #expect(used >= 1_000_000 && used < 1_200_000, "\(used)")
        let filesystem = try #require(DiskUsage.filesystem(directory.path))
        #expect(filesystem.sizeBytes > filesystem.freeBytes && filesystem.freeBytes > 0)
        #expect(DiskUsage.usedBytes(directory.file("missing")) == nil)
        #expect(DiskUsage.filesystem(directory.file("missing")) == nil)
    }
}
