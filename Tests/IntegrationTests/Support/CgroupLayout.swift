import Foundation

/// The cgroup filesystems ftinit sees in the private mount namespace of `FTInit.launch`.
enum CgroupLayout: Sendable {
    /// Only the unified (v2) hierarchy at /sys/fs/cgroup, as on a cgroup v2 machine, with
    /// ftinit in its own child cgroup `group` there. The cgroup is real and shared with the
    /// host: `removeGroup` deletes it once ftinit has ended. On a host whose controllers are
    /// all bound to v1 it holds only the core files (`cpu.stat`, not `memory.current`).
    case unifiedOnly(group: String)

    /// Shell commands, each followed by `&& `, run before ftinit is exec'd (by the same shell,
    /// so ftinit starts in the cgroup it joined).
    var mountCommands: String {
        switch self {
        case .unifiedOnly(let group):
            // /sys is the host's: its cgroup mounts go first.
            return "{ umount -l /sys/fs/cgroup 2>/dev/null || true; } && mount -t cgroup2 cgroup2 /sys/fs/cgroup && "
                + "mkdir -p /sys/fs/cgroup/\(group) && echo 0 > /sys/fs/cgroup/\(group)/cgroup.procs && "
        }
    }

    /// Deletes the child cgroup of `.unifiedOnly` through the host's own cgroup2 mount (once
    /// nothing runs in it any more).
    func removeGroup() {
        guard case .unifiedOnly(let group) = self, let mount = Self.hostMountsByType()["cgroup2"]?.first else { return }
        for _ in 0..<20 where rmdir("\(mount)/\(group)") != 0 && errno == EBUSY {
            Thread.sleep(forTimeInterval: 0.1)  // its last processes are still being reaped
        }
    }

    /// Whether the kernel has cgroup v2 at all.
    static var unifiedAvailable: Bool {
        ((try? String(contentsOfFile: "/proc/filesystems", encoding: .utf8)) ?? "").contains("\tcgroup2\n")
    }

    private static func hostMountsByType() -> [String: [String]] {
        Dictionary(grouping: mountLines(), by: \.type).mapValues { $0.map(\.target) }
    }

    /// The host's mounts under /sys/fs/cgroup (/proc/self/mountinfo lines
    /// `ID PARENT DEV ROOT TARGET OPTIONS... - TYPE SOURCE SUPEROPTIONS`).
    private static func mountLines() -> [(target: String, type: String, options: String)] {
        let mountinfo = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return mountinfo.split(separator: "\n").compactMap { line in
            let halves = line.components(separatedBy: " - ").map { $0.split(separator: " ") }
            guard halves.count == 2, halves[0].count > 4, halves[1].count > 2, halves[0][4].hasPrefix("/sys/fs/cgroup") else { return nil }
            return (String(halves[0][4]), String(halves[1][0]), String(halves[1][2]))
        }
    }
}
