#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux

/// Copies one child stream (the read end of its stdout or stderr pipe) to ftinit's own,
/// prefixing every line with `NAME | `. Lines are emitted whole; a line longer than
/// `maxLine` is cut into prefixed pieces; a final partial line is flushed at end of stream.
public final class OutputRelay {
    public let fd: Int32
    private let prefix: [UInt8]
    let destination: OutputSink
    private var pending: [UInt8] = []
    static let maxLine = 4096
    private static let chunk = 65536
    /// One read buffer for every relay: ftinit is single-threaded, and a buffer per relay (or
    /// per wake-up) would cost 64 KiB each.
    nonisolated(unsafe) private static var scratch = [UInt8](repeating: 0, count: chunk)

    public init(fd: Int32, prefix: String, destination: OutputSink) {
        self.fd = fd
        self.prefix = Array(prefix.utf8)
        self.destination = destination
    }

    /// What one read gave.
    public enum ReadOutcome { case data, wouldBlock, ended }

    /// Reads once, at most 64 KiB. The loop is level-triggered and wakes again while more is
    /// waiting, so a child that writes without pause gets one read per wake-up and signals,
    /// reaping and probes get their turn in between. `.ended`: the fd can be closed.
    public func readOnce() -> ReadOutcome {
        switch Self.scratch.withUnsafeMutableBytes({ FTInit.readOnce(fd, into: $0) }) {
        case .bytes(let n):
            pending += Self.scratch[..<n]
            emitCompleteLines()
            return .data
        case .wouldBlock:
            return .wouldBlock
        case .endOfStream, .failed:
            flush()  // an error ends the stream just the same
            return .ended
        }
    }

    private func emitCompleteLines() {
        let newline = UInt8(ascii: "\n")
        var start = 0
        while start < pending.count {
            if let end = pending[start...].firstIndex(of: newline), end - start <= Self.maxLine {
                emit(pending[start...end], addNewline: false)
                start = end + 1
            } else if pending.count - start > Self.maxLine {  // its newline may still come
                emit(pending[start..<start + Self.maxLine], addNewline: true)
                start += Self.maxLine
            } else {
                break
            }
        }
        pending.removeFirst(start)
    }

    public func flush() {
        if !pending.isEmpty { emit(pending[...], addNewline: true) }
        pending.removeAll()
    }

    private func emit(_ line: ArraySlice<UInt8>, addNewline: Bool) {
        var out = prefix
        out += line
        if addNewline { out.append(UInt8(ascii: "\n")) }
        out.withUnsafeBytes { destination.write($0) }
    }
}

/// The relays of every child whose output ftinit prefixes, wired into the event loop. While
/// ftinit's own stream is congested (its reader stalled), the relays into it stop reading: the
/// children block on their full pipes, PID 1 does not.
public final class OutputRouter {
    private let loop: EventLoop
    private var relays: [Int32: OutputRelay] = [:]
    /// Relays not watched while their destination is congested, by fd.
    private var paused: Set<Int32> = []

    public init(loop: EventLoop) {
        self.loop = loop
        for sink in [OutputSink.stdout, OutputSink.stderr] {
            sink.onRelief = { [weak self] in self?.resume(into: sink) }
        }
    }

    /// Creates the stdout and stderr pipes for a child named `name`; returns their write ends,
    /// which the caller hands to the child and then closes. If the second pipe cannot be made,
    /// the first one's relay is taken down again.
    public func attach(name: String) throws -> (stdout: Int32, stderr: Int32) {
        let (relay, out) = try relayPipe(prefix: "\(name) | ", destination: .stdout)
        do {
            return (out, try relayPipe(prefix: "\(name) | ", destination: .stderr).write)
        } catch {
            close(out)
            detach(relay)
            throw error
        }
    }

    /// A pipe whose read end is relayed into `destination`; its write end is for the child.
    private func relayPipe(prefix: String, destination: OutputSink) throws -> (relay: OutputRelay, write: Int32) {
        var ends: [Int32] = [-1, -1]
        try syscall("create output pipe") { ftinit_pipe_cloexec(&ends) }
        let relay = OutputRelay(fd: ends[0], prefix: prefix, destination: destination)
        do {
            try setNonBlocking(ends[0])
            try watch(relay)
        } catch {
            close(ends[0])
            close(ends[1])
            throw error
        }
        relays[ends[0]] = relay
        return (relay, ends[1])
    }

    private func watch(_ relay: OutputRelay) throws {
        try loop.watch(relay.fd) { [unowned self] in
            switch relay.readOnce() {
            case .ended: self.detach(relay)
            case .data where relay.destination.isCongested: self.pause(relay)
            default: break
            }
        }
    }

    private func pause(_ relay: OutputRelay) {
        loop.unwatch(relay.fd)
        paused.insert(relay.fd)
    }

    private func resume(into sink: OutputSink) {
        for fd in paused {
            guard let relay = relays[fd], relay.destination === sink else { continue }
            paused.remove(fd)
            try? watch(relay)
        }
    }

    private func detach(_ relay: OutputRelay) {
        loop.unwatch(relay.fd)
        paused.remove(relay.fd)
        close(relay.fd)
        relays[relay.fd] = nil
    }

    /// Copies out whatever the children left in their pipes (at most `exitBudget` reads
    /// each: a leftover that still writes cannot hold the exit), then flushes partial lines:
    /// called last, once every child is gone, so no output is lost at exit.
    public func drainAll() {
        for relay in relays.values {
            var reads = 0
            while reads < Self.exitBudget, relay.readOnce() == .data { reads += 1 }
            relay.flush()
            detach(relay)
        }
    }

    static let exitBudget = 64
}
