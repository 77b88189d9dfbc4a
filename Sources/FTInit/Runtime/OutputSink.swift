#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// ftinit's own stdout or stderr, which never blocks PID 1. In a pod they are the runtime's log
/// pipes: when their reader stalls, a blocking write would freeze PID 1 (no reaping, no stop, a
/// failing probe). So every write is non-blocking; what does not fit waits in a bounded queue
/// that the event loop flushes when the stream is writable again. While the queue is over
/// `highWater`, the relays of the children's output stop reading (`isCongested`), so a chatty
/// child blocks on its own pipe, not PID 1. A line that does not fit even in the queue is
/// dropped and counted, and the count is reported on the stream once it flows again.
public final class OutputSink {
    // ftinit is single-threaded (Package.swift: no concurrency): one sink per stream.
    nonisolated(unsafe) public static let stdout = OutputSink(STDOUT_FILENO, name: "stdout")
    nonisolated(unsafe) public static let stderr = OutputSink(STDERR_FILENO, name: "stderr")

    static let capacity = 256 * 1024
    static let highWater = 64 * 1024

    private let name: String
    private let original: Int32
    private var fd: Int32 = -1
    /// Whether `fd` is a non-blocking description of ftinit's own; otherwise writes are cut
    /// to what poll says fits.
    private var nonBlocking = false
    private var queue: [UInt8] = []
    private var droppedLines = 0
    private var loop: EventLoop?
    private var watched = false
    /// Called when the queue has gone back under `highWater` (the relays read again).
    var onRelief: (() -> Void)?

    init(_ fd: Int32, name: String) {
        original = fd
        self.name = name
    }

    /// Whether the children's output should wait: the queue is over its high-water mark.
    var isCongested: Bool { queue.count >= Self.highWater }

    public func write(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    /// Writes `line` (whole lines) now, or queues it; drops it when the queue is full.
    public func write(_ line: UnsafeRawBufferPointer) {
        openOnce()
        var written = 0
        if queue.isEmpty { written = writeNow(line) }
        guard written < line.count else { return }
        guard queue.count + line.count - written <= Self.capacity else {
            droppedLines += 1
            return
        }
        queue += line[written...]
        watchUntilFlushed()
    }

    /// Flushes through `loop` from now on: the stream's writability wakes it.
    func attach(to loop: EventLoop) {
        self.loop = loop
        watchUntilFlushed()
    }

    /// Before exit, once the loop and the relays are gone: waits at most `limit` for the
    /// queue to go out, then gives up on it.
    public func flushAtExit(within limit: TimeSpan) {
        if watched { loop?.unwatch(fd) }
        watched = false
        loop = nil
        onRelief = nil
        flush(within: limit)
    }

    private func flush(within limit: TimeSpan) {
        let deadline = Instant.now() + limit
        while !queue.isEmpty || droppedLines > 0 {
            flushQueue()
            if queue.isEmpty && droppedLines == 0 { break }
            let left = deadline.since(.now())
            guard left > .zero else { return }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&pfd, 1, Int32(clamping: left.milliseconds))
        }
    }

    /// A description of the stream that is ftinit's alone, made non-blocking: O_NONBLOCK on
    /// the inherited one would also hit the services that share it (log-prefix = no) and the
    /// process that started ftinit. /proc/self/fd reopens a pipe, a FIFO or a terminal as a
    /// new description; a regular file never blocks for long and keeps the inherited one.
    private func openOnce() {
        guard fd < 0 else { return }
        fd = original
        var info = stat()
        guard fstat(original, &info) == 0 else { return }
        let type = info.st_mode & S_IFMT
        guard type == S_IFIFO || type == S_IFCHR else { return }
        let reopened = open("/proc/self/fd/\(original)", O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        if reopened >= 0 {
            fd = reopened
            nonBlocking = true
        }
    }

    /// Writes what the stream takes now; returns how many bytes went out.
    private func writeNow(_ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        while offset < bytes.count {
            var count = bytes.count - offset
            if !nonBlocking {
                // A blocking description: write only what a free pipe page surely takes.
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                guard poll(&pfd, 1, 0) == 1, pfd.revents & Int16(POLLOUT) != 0 else { return offset }
                count = min(count, Int(PIPE_BUF))
            }
            let n = Glibc.write(fd, bytes.baseAddress! + offset, count)
            if n > 0 { offset += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { return offset }
            // EPIPE, a closed stream: nobody reads this output any more; it is gone.
            return bytes.count
        }
        return offset
    }

    private func flushQueue() {
        if !queue.isEmpty {
            let wasCongested = isCongested
            let written = queue.withUnsafeBytes { writeNow($0) }
            queue.removeFirst(written)
            if wasCongested && !isCongested { onRelief?() }
        }
        if queue.isEmpty && droppedLines > 0 {
            let report = Log.line(.warn, "output-dropped", ["stream=\(name)", "lines=\(droppedLines)"])
            droppedLines = 0
            write(report)
        }
    }

    private func watchUntilFlushed() {
        guard let loop, !watched, !queue.isEmpty, fd >= 0 else { return }
        // The inherited description may be the same as the other stream's (2>&1); epoll
        // watches descriptors, and ours are distinct numbers either way.
        guard (try? loop.watch(fd, for: .writable, { [unowned self] in self.writable() })) != nil else { return }
        watched = true
    }

    private func writable() {
        flushQueue()
        guard queue.isEmpty, let loop else { return }
        loop.unwatch(fd)
        watched = false
    }
}
