import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One line of /proc/PID/stat, the fields the tests need.
struct ProcStat: Sendable, CustomStringConvertible {
    let pid: pid_t
    let comm: String
    /// `R`, `S`, `D`, `Z` (zombie), `T`, ...
    let state: Character
    let ppid: pid_t
    let pgrp: pid_t
    let session: pid_t

    var isZombie: Bool { state == "Z" }

    var description: String { "\(pid) (\(comm)) \(state) ppid=\(ppid)" }
}

/// Reading the host's /proc. The host sees every process of the tests' PID namespaces, under
/// host pids; `NSpid` in /proc/PID/status maps them to the pids ftinit logs.
enum ProcFS {
    /// The whole content of a /proc file (their size reads as 0, so read until EOF), or nil.
    static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n >= 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Every pid in /proc right now.
    static func pids() -> [pid_t] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return names.compactMap { pid_t($0) }
    }

    static func exists(_ pid: pid_t) -> Bool {
        access("/proc/\(pid)", F_OK) == 0
    }

    static func stat(_ pid: pid_t) -> ProcStat? {
        guard let text = readFile("/proc/\(pid)/stat"),
              let open = text.firstIndex(of: "("),
              let close = text.lastIndex(of: ")") else { return nil }
        let comm = String(text[text.index(after: open)..<close])
        let rest = text[text.index(after: close)...].split(separator: " ")
        // rest: state ppid pgrp session ...
        guard rest.count >= 4, let state = rest[0].first,
              let ppid = pid_t(rest[1]), let pgrp = pid_t(rest[2]), let session = pid_t(rest[3]) else { return nil }
        return ProcStat(pid: pid, comm: comm, state: state, ppid: ppid, pgrp: pgrp, session: session)
    }

    /// The CPU time `pid` has used (utime + stime of /proc/PID/stat), in seconds, or nil.
    static func cpuSeconds(_ pid: pid_t) -> Double? {
        guard let text = readFile("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// A snapshot of every process's stat.
    static func all() -> [ProcStat] {
        pids().compactMap(stat)
    }

    /// /proc/PID/status as key → value (value trimmed).
    static func status(_ pid: pid_t) -> [String: String]? {
        guard let text = readFile("/proc/\(pid)/status") else { return nil }
        var result: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            result[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return result
    }

    /// The numbers of a status field such as `Uid`, `Gid`, `Groups`, `NSpid`.
    static func statusNumbers(_ pid: pid_t, _ key: String) -> [Int]? {
        guard let value = status(pid)?[key] else { return nil }
        return value.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int($0) }
    }

    /// A hex mask field of status (`SigBlk`, `SigIgn`, ...).
    static func statusMask(_ pid: pid_t, _ key: String) -> UInt64? {
        guard let value = status(pid)?[key] else { return nil }
        return UInt64(value, radix: 16)
    }

    static func cmdline(_ pid: pid_t) -> [String] {
        guard let text = readFile("/proc/\(pid)/cmdline") else { return [] }
        var parts = text.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
        if parts.last == "" { parts.removeLast() }
        return parts
    }

    static func exe(_ pid: pid_t) -> String? {
        readLink("/proc/\(pid)/exe")
    }

    /// The pid namespace identity (`pid:[4026532...]`).
    static func pidNamespace(_ pid: pid_t) -> String? {
        readLink("/proc/\(pid)/ns/pid")
    }

    /// The pid of `pid` as seen inside its innermost pid namespace (last field of NSpid).
    static func innermostPid(_ pid: pid_t) -> pid_t? {
        statusNumbers(pid, "NSpid")?.last.map { pid_t($0) }
    }

    static func children(of parent: pid_t) -> [ProcStat] {
        all().filter { $0.ppid == parent }
    }

    /// Every process below `root` (not `root` itself), from one snapshot.
    static func descendants(of root: pid_t) -> [ProcStat] {
        let snapshot = all()
        var byParent: [pid_t: [ProcStat]] = [:]
        for process in snapshot { byParent[process.ppid, default: []].append(process) }
        var result: [ProcStat] = []
        var queue: [pid_t] = [root]
        while let next = queue.popLast() {
            for child in byParent[next] ?? [] {
                result.append(child)
                queue.append(child.pid)
            }
        }
        return result
    }

    /// Every process that lives in the same pid namespace as `member` (including it): exactly
    /// what /proc inside that namespace would list.
    static func namespaceMembers(of member: pid_t) -> [ProcStat] {
        guard let namespace = pidNamespace(member) else { return [] }
        return all().filter { pidNamespace($0.pid) == namespace }
    }
}
