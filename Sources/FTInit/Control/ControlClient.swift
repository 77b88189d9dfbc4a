#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The client side of the control socket, for `ftinit probe` and `ftinit status`. It never
/// forks and never waits past its deadline: a stopped or flooded PID 1 makes it fail on time.
public enum ControlClient {
    /// The default socket: $FTINIT_SOCKET, else the config's default.
    public static func defaultSocket(_ environment: [String: String]) -> String {
        environment["FTINIT_SOCKET"].flatMap { $0.isEmpty ? nil : $0 } ?? Config.defaultSocketPath
    }

    /// Asks ftinit at `path` for its report, within `timeout`; the error says what went wrong.
    public static func fetch(_ path: String, timeout: TimeSpan) -> Result<StatusReport, SystemError> {
        let deadline = Instant.now() + timeout
        func failure(_ message: String) -> Result<StatusReport, SystemError> {
            .failure(SystemError(operation: "reach ftinit at \(path)", message: message))
        }
        let fd: Int32
        switch connectUnix(path) {
        case .success(let connected): fd = connected
        case .failure(let error):
            switch error.code {
            case ENAMETOOLONG: return failure("path too long")
            case ENOENT: return failure("no socket there (is ftinit running?)")
            case ECONNREFUSED: return failure("nothing listens there (ftinit is gone)")
            case EAGAIN: return failure("its backlog is full")
            default: return failure(errorString(error.code))
            }
        }
        defer { close(fd) }
        // A few bytes into a new socket's empty buffer: this send does not block. MSG_NOSIGNAL:
        // a server that closed at once (flooded) must give "fail", not kill us with SIGPIPE.
        guard send(fd, "status\n", 7, Int32(MSG_NOSIGNAL)) == 7 else { return failure("cannot send the request: \(errorString(errno))") }

        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let left = deadline.since(.now())
            if left == .zero { return failure("no answer within \(timeout)") }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(clamping: left.milliseconds))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { return failure("no answer within \(timeout)") }
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            if n < 0 { return failure(errorString(errno)) }
            if n == 0 { break }
            response += buffer[..<n]
            if response.count > 1 << 20 { return failure("answer too large") }
        }
        guard let report = StatusReport(parsing: String(decoding: response, as: UTF8.self)) else {
            return failure("the answer is not a status report")
        }
        return .success(report)
    }

    /// `ftinit probe`: 0 when ftinit says every service is fine, 1 otherwise; one line either way.
    /// With `ready`, also 1 until every task is done and every service running and, if it has a
    /// check, healthy: the line names what is not yet.
    public static func probe(socket: String, timeout: TimeSpan, ready: Bool = false) -> Int32 {
        switch fetch(socket, timeout: timeout) {
        case .success(let report) where report.healthy && ready && !report.notReady.isEmpty:
            let waiting = report.notReady.map { "\($0.name) \($0.condition)" }.joined(separator: ", ")
            writeAll(STDERR_FILENO, "ftinit probe: not ready: \(waiting)\n")
            return 1
        case .success(let report) where report.healthy:
            writeAll(STDOUT_FILENO, "ftinit probe: \(ready ? "ready" : "ok"): \(report.summary)\n")
            return 0
        case .success(let report):
            writeAll(STDERR_FILENO, "ftinit probe: fail: \(report.summary)\n")
            return 1
        case .failure(let error):
            writeAll(STDERR_FILENO, "ftinit probe: fail: \(error)\n")
            return 1
        }
    }

    /// `ftinit status`: the report as a table.
    public static func status(socket: String, timeout: TimeSpan) -> Int32 {
        switch fetch(socket, timeout: timeout) {
        case .success(let report):
            writeAll(STDOUT_FILENO, table(report))
            return 0
        case .failure(let error):
            writeAll(STDERR_FILENO, "ftinit status: \(error)\n")
            return 1
        }
    }

    static func table(_ report: StatusReport) -> String {
        var rows = [["NAME", "KIND", "PID", "STATE", "HEALTH", "UPTIME", "LATENCY", "CHECK", "LAST RESULT"]]
        for p in report.programs {
            rows.append([p.name, p.kind, p.pid.map { "\($0)" } ?? "-", p.state, p.health,
                         p.uptime.map(roundedSeconds) ?? "-", p.latency?.description ?? "-", p.check ?? "-", p.result ?? "-"])
        }
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        let lines = rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ")
        }
        return (lines + ["\(report.healthy ? "ok" : "FAIL"): \(report.summary)"]).joined(separator: "\n") + "\n"
    }

    /// Uptime to the second: `3m12s`.
    static func roundedSeconds(_ span: TimeSpan) -> String {
        let seconds = span.milliseconds / 1000
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 { return "\(seconds / 60)m\(seconds % 60)s" }
        return "\(seconds / 3600)h\(seconds % 3600 / 60)m"
    }
}
