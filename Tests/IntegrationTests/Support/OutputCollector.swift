import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One line read from ftinit's stdout or stderr, stamped when the reader saw it.
struct OutputLine: Sendable {
    let text: String
    let time: ContinuousClock.Instant
    /// False for a last fragment that ended at EOF without a newline.
    let terminated: Bool
}

/// Drains one pipe on its own thread (so ftinit never blocks on a full pipe) and keeps every
/// byte, split into timestamped lines.
final class OutputCollector: @unchecked Sendable {
    let name: String
    private let lock = NSLock()
    private var raw: [UInt8] = []
    private var partial: [UInt8] = []
    private var collected: [OutputLine] = []
    private var reachedEOF = false

    init(name: String) {
        self.name = name
    }

    /// Starts the reader thread on `fd`, which the collector then owns and closes at EOF.
    func start(readingFrom fd: Int32) {
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                append(buffer[0..<n], at: ContinuousClock.now)
            }
            close(fd)
            finish(at: ContinuousClock.now)
        }
        thread.name = "ftinit-\(name)-reader"
        thread.start()
    }

    private func append(_ bytes: ArraySlice<UInt8>, at time: ContinuousClock.Instant) {
        lock.lock()
        defer { lock.unlock() }
        raw.append(contentsOf: bytes)
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                collected.append(OutputLine(text: String(decoding: partial, as: UTF8.self), time: time, terminated: true))
                partial.removeAll(keepingCapacity: true)
            } else {
                partial.append(byte)
            }
        }
    }

    private func finish(at time: ContinuousClock.Instant) {
        lock.lock()
        defer { lock.unlock() }
        if !partial.isEmpty {
            collected.append(OutputLine(text: String(decoding: partial, as: UTF8.self), time: time, terminated: false))
            partial.removeAll()
        }
        reachedEOF = true
    }

    /// Every complete line so far (plus the unterminated last one once EOF was reached).
    var lines: [OutputLine] {
        lock.lock()
        defer { lock.unlock() }
        return collected
    }

    /// Every byte so far, decoded as UTF-8.
    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: raw, as: UTF8.self)
    }

    var isAtEOF: Bool {
        lock.lock()
        defer { lock.unlock() }
        return reachedEOF
    }

    /// Waits until the writer side is closed by every process holding it.
    @discardableResult
    func waitForEOF(timeout: Duration) -> Bool {
        Poll.until(timeout: timeout) { isAtEOF }
    }

    /// The last `count` lines, for failure reports.
    func tail(_ count: Int) -> String {
        let all = lines
        let shown = all.suffix(count).map(\.text).joined(separator: "\n")
        let hidden = all.count - min(count, all.count)
        return hidden > 0 ? "[... \(hidden) earlier lines not shown ...]\n\(shown)" : shown
    }
}

/// Polling with a deadline: every wait in the tests is bounded.
enum Poll {
    /// Calls `condition` every `interval` until it is true (returns true) or `timeout` passed
    /// (returns false after one last try).
    @discardableResult
    static func until(timeout: Duration, interval: Duration = .milliseconds(5), _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            if try condition() { return true }
            if ContinuousClock.now >= deadline { return try condition() }
            sleep(interval)
        }
    }

    static func sleep(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}

extension Duration {
    /// The duration in seconds, as a Double (for tolerances and messages).
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
