#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What /proc/PID/stat says about one process, the part metrics need.
struct ProcessStat: Equatable {
    var pid: pid_t
    var parent: pid_t
    var session: pid_t
    /// utime + stime: CPU used by the process itself, in clock ticks.
    var ownTicks: Int64
    /// cutime + cstime: CPU of children it has reaped, in clock ticks.
    var reapedChildrenTicks: Int64
    var residentPages: Int64
}

extension ProcessStat {
    /// Parses a /proc/PID/stat line. The command name sits in parentheses and may itself hold
    /// blanks and parentheses, so the fields are counted from the last `)`.
    init?(parsing text: String) {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"),
              let pid = pid_t(text[..<open].filter { $0 != " " }) else { return nil }
        // After ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
        // utime stime cutime cstime priority nice threads itrealvalue starttime vsize rss
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 21, let parent = pid_t(fields[1]), let session = pid_t(fields[3]),
              let utime = Int64(fields[11]), let stime = Int64(fields[12]),
              let cutime = Int64(fields[13]), let cstime = Int64(fields[14]),
              let rss = Int64(fields[21]) else { return nil }
        self.pid = pid
        self.parent = parent
        self.session = session
        ownTicks = utime + stime
        reapedChildrenTicks = cutime + cstime
        residentPages = rss
    }
}

/// The figures of one service's process tree.
struct TreeUsage: Equatable {
    var ticks: Int64 = 0
    var residentPages: Int64 = 0
    var processes = 0
}

/// Every process of the PID namespace, read from /proc in one pass.
struct ProcessTable {
    var processes: [ProcessStat] = []

    /// Reads /proc; processes that exit while it is read are skipped.
    static func read(reader: inout FileReader, proc: String = "/proc") -> ProcessTable {
        var table = ProcessTable()
        guard let directory = opendir(proc) else { return table }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard let first = name.utf8.first, first >= UInt8(ascii: "1"), first <= UInt8(ascii: "9") else { continue }
            if let text = reader.contents(of: "\(proc)/\(name)/stat"), let stat = ProcessStat(parsing: text) {
                table.processes.append(stat)
            }
        }
        return table
    }

    /// Sums each root's tree: a process belongs to the root it descends from (through parent
    /// pids) or, failing that, whose session it is in. Services run in their own session
    /// (`setsid`), so a daemon that forked and lost its parent still counts as theirs.
    func usage(of roots: [pid_t]) -> [pid_t: TreeUsage] {
        let rootSet = Set(roots)
        var parentOf: [pid_t: pid_t] = [:]
        for process in processes { parentOf[process.pid] = process.parent }
        var owner: [pid_t: pid_t] = [:]  // memo: pid -> root, or 0 for none

        func ownerOf(_ pid: pid_t) -> pid_t {
            var chain: [pid_t] = []
            var current = pid
            var found: pid_t = 0
            while chain.count < 4096 {  // parent links form a tree; the bound guards a racy read
                if rootSet.contains(current) { found = current; break }
                if let known = owner[current] { found = known; break }
                guard let parent = parentOf[current], parent > 1 else { break }
                chain.append(current)
                current = parent
            }
            for link in chain { owner[link] = found }
            return found
        }

        var usage: [pid_t: TreeUsage] = [:]
        for process in processes {
            var root = ownerOf(process.pid)
            if root == 0 && rootSet.contains(process.session) { root = process.session }
            guard root != 0 else { continue }
            usage[root, default: TreeUsage()].ticks += process.ownTicks + process.reapedChildrenTicks
            usage[root, default: TreeUsage()].residentPages += process.residentPages
            usage[root, default: TreeUsage()].processes += 1
        }
        return usage
    }
}

/// Reads small files (/proc, /sys) into one buffer reused for every read.
struct FileReader {
    private var buffer = [UInt8](repeating: 0, count: 16384)

    /// The file's text, or nil when it cannot be read. Longer files are read whole, growing the buffer.
    mutating func contents(of path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var length = 0
        while true {
            if length == buffer.count { buffer += [UInt8](repeating: 0, count: buffer.count) }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + length, $0.count - length) }
            if n > 0 { length += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return nil }
            return String(decoding: buffer[..<length], as: UTF8.self)
        }
    }
}
