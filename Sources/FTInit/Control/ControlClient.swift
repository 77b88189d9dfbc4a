#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The client side of the control socket, for `ftinit probe`, `status`, `signal`, `restart` and
/// `stop`. It never forks and never waits past its deadline: a stopped or flooded PID 1 makes
/// it fail on time.
public enum ControlClient {
    /// The default socket: $FTINIT_SOCKET, else the config's default.
    public static func defaultSocket(_ environment: [String: String]) -> String {
        environment["FTINIT_SOCKET"].flatMap { $0.isEmpty ? nil : $0 } ?? Config.defaultSocketPath
    }

    /// Why a client the socket's mode (0600) keeps out cannot connect.
    static let notPermitted = "permission denied (the socket is for ftinit's own user and root)"

    /// Asks ftinit at `path` for its report, within `timeout`; the error says what went wrong.
    public static func fetch(_ path: String, timeout: TimeSpan) -> Result<StatusReport, SystemError> {
        exchange(path, .status, timeout: timeout).flatMap { text in
            guard let report = StatusReport(parsing: text) else {
                return .failure(SystemError(operation: "reach ftinit at \(path)", message: "the answer is not a status report"))
            }
            return .success(report)
        }
    }

    /// Sends `request` to ftinit at `path` and reads its whole answer, within `timeout`.
    static func exchange(_ path: String, _ request: ControlRequest, timeout: TimeSpan) -> Result<String, SystemError> {
        let deadline = Instant.now() + timeout
        func failure(_ message: String) -> Result<String, SystemError> {
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
            case EACCES: return failure(notPermitted)
            default: return failure(errorString(error.code))
            }
        }
        defer { close(fd) }
        // A few bytes into a new socket's empty buffer: this send does not block. MSG_NOSIGNAL:
        // a server that closed at once (flooded) must give "fail", not kill us with SIGPIPE.
        let line = Array(request.line.utf8)
        guard send(fd, line, line.count, Int32(MSG_NOSIGNAL)) == line.count else {
            return failure("cannot send the request: \(errorString(errno))")
        }

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
        return .success(String(decoding: response, as: UTF8.self))
    }

    /// `ftinit probe`: 0 when ftinit says every service is fine, 1 otherwise; one line either way.
    /// With `ready`, also 1 until every task is done and every service running and, if it has a
    /// check, healthy: the line names what is not yet.
    public static func probe(socket: String, timeout: TimeSpan, ready: Bool = false) -> Int32 {
        switch fetch(socket, timeout: timeout) {
        case .success(let report) where report.healthy && ready && !report.notReady().isEmpty:
            writeAll(STDERR_FILENO, "ftinit probe: not ready: \(StatusReport.conditions(report.notReady()))\n")
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

    /// `ftinit signal`, `restart`, `stop`: ftinit's one-line answer, and its exit code: 0 done,
    /// 1 refused (nothing changed), 69 ftinit unreachable, 77 not allowed, 70 an answer this
    /// client does not understand. A restart then waits up to `wait` until what it restarted
    /// is ready again (1 when it is not, or when ftinit starts stopping meanwhile).
    public static func command(_ request: ControlRequest, socket: String, wait: TimeSpan?) -> Int32 {
        let name = "ftinit " + request.line.prefix { $0 != " " && $0 != "\n" }
        let text: String
        switch exchange(socket, request, timeout: .seconds(2)) {
        case .success(let answer): text = answer
        case .failure(let error):
            writeAll(STDERR_FILENO, "\(name): \(error)\n")
            return error.message == notPermitted ? ExitCode.noPermission : ExitCode.unavailable
        }
        switch ControlAnswer(parsing: text) {
        case .ok(let detail):
            writeAll(STDOUT_FILENO, "\(name): ok: \(detail)\n")
            guard let wait, detail.hasPrefix("restarting=") else { return 0 }
            return waitUntilReady(Set(detail.dropFirst("restarting=".count).split(separator: ",").map(String.init)),
                                  socket: socket, within: wait, name: name)
        case .refused(let why):
            writeAll(STDERR_FILENO, "\(name): refused: \(why)\n")
            return 1
        case .denied(let why):
            writeAll(STDERR_FILENO, "\(name): denied: \(why)\n")
            return ExitCode.noPermission
        case nil:
            let shown = text.split(separator: "\n").first.map { String($0.prefix(200)) } ?? ""
            writeAll(STDERR_FILENO, "\(name): ftinit answered \"\(shown)\": it does not know this command (an older ftinit?)\n")
            return ExitCode.software
        }
    }

    /// Asks for the report every 100 ms until every program of `names` is ready.
    static func waitUntilReady(_ names: Set<String>, socket: String, within wait: TimeSpan, name: String) -> Int32 {
        let deadline = Instant.now() + wait
        var last = "no report yet"
        while true {
            switch fetch(socket, timeout: max(.zero, min(.seconds(2), deadline.since(.now())))) {
            case .success(let report) where !report.healthy:
                writeAll(STDERR_FILENO, "\(name): fail: \(report.summary)\n")
                return 1
            case .success(let report):
                let waiting = report.notReady(among: names)
                if waiting.isEmpty {
                    writeAll(STDOUT_FILENO, "\(name): ready: \(report.summary)\n")
                    return 0
                }
                last = StatusReport.conditions(waiting)
            case .failure(let error):
                last = "\(error)"
            }
            if deadline.since(.now()) == .zero {
                writeAll(STDERR_FILENO, "\(name): not ready within \(wait): \(last)\n")
                return 1
            }
            var pause = timespec(tv_sec: 0, tv_nsec: 100_000_000)
            nanosleep(&pause, nil)
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
