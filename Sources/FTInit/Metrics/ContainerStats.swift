#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The files of the container's own cgroup that hold its memory and CPU usage, on cgroup v2
/// (`memory.current`, `cpu.stat`) or v1 (`memory.usage_in_bytes`, `cpuacct.usage`).
struct CgroupFiles: Equatable {
    var memory: String?
    var cpu: String?
    /// v2's `cpu.stat` holds `usage_usec N`; v1's `cpuacct.usage` is one number of nanoseconds.
    var cpuIsV2 = false

    /// Finds the files from /proc/self/cgroup's `ID:CONTROLLERS:PATH` lines. With a private
    /// cgroup namespace PATH is `/` and the mount is the container's own cgroup; with the
    /// host's namespace PATH is the full path under the mount. Both are tried, v1 first on a
    /// hybrid host (where v2 holds no controllers).
    static func locate(membership: String, root: String = "/sys/fs/cgroup", exists: (String) -> Bool = fileExists) -> CgroupFiles {
        var files = CgroupFiles()
        func first(_ candidates: [String]) -> String? { candidates.first(where: exists) }
        func candidates(_ mount: String, _ path: Substring, _ file: String) -> [String] {
            let directory = path == "/" ? "" : String(path)
            return ["\(mount)\(directory)/\(file)", "\(mount)/\(file)"]
        }
        var unified: Substring?
        for line in membership.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let controllers = parts[1].split(separator: ",")
            if parts[1].isEmpty { unified = parts[2]; continue }
            let mount = "\(root)/\(parts[1])"
            if controllers.contains("memory") {
                files.memory = files.memory ?? first(candidates(mount, parts[2], "memory.usage_in_bytes"))
            }
            if controllers.contains("cpuacct") {
                files.cpu = files.cpu ?? first(candidates(mount, parts[2], "cpuacct.usage")
                    + candidates("\(root)/cpuacct", parts[2], "cpuacct.usage"))
            }
        }
        if let unified {
            if files.memory == nil { files.memory = first(candidates(root, unified, "memory.current")) }
            if files.cpu == nil, let cpu = first(candidates(root, unified, "cpu.stat")) {
                files.cpu = cpu
                files.cpuIsV2 = true
            }
        }
        return files
    }

    /// Memory in use, in bytes.
    func memoryBytes(_ reader: inout FileReader) -> Int64? {
        memory.flatMap { reader.contents(of: $0) }.flatMap(firstNumber)
    }

    /// CPU used by every process of the cgroup, in microseconds.
    func cpuMicros(_ reader: inout FileReader) -> Int64? {
        guard let cpu, let text = reader.contents(of: cpu) else { return nil }
        if !cpuIsV2 { return firstNumber(text).map { $0 / 1000 } }
        for line in text.split(separator: "\n") where line.hasPrefix("usage_usec ") {
            return Int64(line.dropFirst("usage_usec ".count))
        }
        return nil
    }
}

func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

/// The number a one-value file (`memory.current`, `cpuacct.usage`) holds, before its newline.
func firstNumber(_ text: String) -> Int64? {
    text.split(whereSeparator: { $0 == "\n" || $0 == " " }).first.flatMap { Int64($0) }
}

/// Bytes received and sent on every interface but loopback, from /proc/net/dev.
func networkBytes(_ text: String) -> (received: Int64, sent: Int64)? {
    var received: Int64 = 0, sent: Int64 = 0
    var interfaces = 0
    for line in text.split(separator: "\n") {
        guard let colon = line.firstIndex(of: ":") else { continue }  // the two header lines have none
        let name = IniParser.trimmed(line[..<colon])
        let counters = line[line.index(after: colon)...].split(separator: " ")
        // receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes ...
        guard name != "lo", counters.count >= 9, let rx = Int64(counters[0]), let tx = Int64(counters[8]) else { continue }
        received += rx
        sent += tx
        interfaces += 1
    }
    return interfaces == 0 ? nil : (received, sent)
}

/// What `du` and `df` say about a path.
enum DiskUsage {
    /// Entries visited at most per path, so that a huge tree cannot keep the walk going for long.
    static let maxEntries = 200_000

    /// Space available to non-root users and size of the filesystem holding `path`: one
    /// `statvfs`, cheap enough for every sample.
    static func filesystem(_ path: String) -> (freeBytes: Int64, sizeBytes: Int64)? {
        var filesystem = statvfs()
        guard statvfs(path, &filesystem) == 0 else { return nil }
        let unit = Int64(filesystem.f_frsize)
        return (Int64(filesystem.f_bavail) * unit, Int64(filesystem.f_blocks) * unit)
    }

    /// Allocated bytes under `path`, like `du`: a walk that follows no symbolic link, stays on
    /// `path`'s filesystem and counts each hard-linked file once. Nil when `path` cannot be read.
    /// A large tree takes milliseconds to seconds: ftinit runs it in a child (`ChildWork`).
    static func usedBytes(_ path: String) -> Int64? {
        var top = stat()
        guard lstat(path, &top) == 0 else { return nil }
        var walk = Walk(device: top.st_dev)
        walk.used = Int64(top.st_blocks) * 512
        if (top.st_mode & S_IFMT) == S_IFDIR {
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if fd >= 0 { walk.directory(fd) }
        }
        return walk.used
    }

    /// `usedBytes` of each path as `ChildWork`: one little-endian Int64 each, -1 for none.
    static func work(_ paths: [String]) -> () -> [UInt8] {
        {
            var bytes: [UInt8] = []
            for path in paths {
                withUnsafeBytes(of: (usedBytes(path) ?? -1).littleEndian) { bytes += $0 }
            }
            return bytes
        }
    }

    /// The figures `work` wrote, by path; nil for a malformed answer.
    static func decode(_ bytes: [UInt8], paths: [String]) -> [String: Int64]? {
        guard bytes.count == paths.count * 8 else { return nil }
        var used: [String: Int64] = [:]
        for (index, path) in paths.enumerated() {
            var value: Int64 = 0
            withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes[(index * 8)..<(index * 8 + 8)]) }
            if Int64(littleEndian: value) >= 0 { used[path] = Int64(littleEndian: value) }
        }
        return used
    }

    private struct Walk {
        let device: dev_t
        var used: Int64 = 0
        var entries = 0
        var linked: Set<ino_t> = []

        /// Adds up the entries of the open directory `fd`, then closes it.
        mutating func directory(_ fd: Int32) {
            guard let stream = fdopendir(fd) else { close(fd); return }
            defer { closedir(stream) }
            while entries < DiskUsage.maxEntries, let entry = readdir(stream) {
                let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                    name[0] == UInt8(ascii: ".") && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
                }
                if isDot { continue }
                entries += 1
                var info = stat()
                let found = withUnsafeBytes(of: entry.pointee.d_name) { name in
                    fstatat(fd, name.baseAddress!.assumingMemoryBound(to: CChar.self), &info, AT_SYMLINK_NOFOLLOW)
                }
                guard found == 0, info.st_dev == device else { continue }
                if (info.st_mode & S_IFMT) != S_IFDIR && info.st_nlink > 1 && !linked.insert(info.st_ino).inserted { continue }
                used += Int64(info.st_blocks) * 512
                if (info.st_mode & S_IFMT) == S_IFDIR {
                    let child = withUnsafeBytes(of: entry.pointee.d_name) { name in
                        openat(fd, name.baseAddress!.assumingMemoryBound(to: CChar.self), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    }
                    if child >= 0 { directory(child) }
                }
            }
        }
    }
}
