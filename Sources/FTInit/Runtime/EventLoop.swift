#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux

/// The single-threaded heart of ftinit: epoll for descriptors, a short list of timers.
/// Nothing here blocks except `epoll_wait` itself, whose timeout is the next timer.
public final class EventLoop {
    private let epollFD: Int32
    /// Handlers by fd, with a generation so events for a replaced fd are dropped.
    private var handlers: [Int32: (generation: UInt32, action: () -> Void)] = [:]
    private var nextGeneration: UInt32 = 0
    private var timers: [(id: Int, deadline: Instant, action: () -> Void)] = []
    private var nextTimerID = 0
    private var events = [epoll_event](repeating: epoll_event(), count: 64)

    public init() throws {
        epollFD = try syscall("create epoll instance") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
    }

    /// What a descriptor is watched for.
    public enum Interest {
        case readable, writable

        var events: UInt32 {
            let hangup = EPOLLHUP.rawValue | EPOLLRDHUP.rawValue | EPOLLERR.rawValue
            return (self == .readable ? EPOLLIN.rawValue : EPOLLOUT.rawValue) | hangup
        }
    }

    /// Calls `action` whenever `fd` is ready for `interest` (or hung up, or in error).
    public func watch(_ fd: Int32, for interest: Interest = .readable, _ action: @escaping () -> Void) throws {
        nextGeneration &+= 1
        var event = epoll_event()
        event.events = interest.events
        event.data.u64 = UInt64(nextGeneration) << 32 | UInt64(UInt32(bitPattern: fd))
        try syscall("watch fd \(fd)") { epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) }
        handlers[fd] = (nextGeneration, action)
    }

    /// Switches a watched `fd` to another interest (a TLS handshake wants to write, then read).
    public func change(_ fd: Int32, to interest: Interest) {
        guard let handler = handlers[fd] else { return }
        var event = epoll_event()
        event.events = interest.events
        event.data.u64 = UInt64(handler.generation) << 32 | UInt64(UInt32(bitPattern: fd))
        _ = epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event)
    }

    /// Stops watching `fd`; call before closing it.
    public func unwatch(_ fd: Int32) {
        guard handlers.removeValue(forKey: fd) != nil else { return }
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
    }

    /// Runs `action` once, at `deadline`. Returns an id for `cancel`.
    @discardableResult
    public func schedule(at deadline: Instant, _ action: @escaping () -> Void) -> Int {
        nextTimerID += 1
        timers.append((nextTimerID, deadline, action))
        return nextTimerID
    }

    public func cancel(_ id: Int) {
        timers.removeAll { $0.id == id }
    }

    /// Waits for the next event or timer and runs what is due.
    public func runOnce() throws {
        let timeout: Int32
        if let next = timers.min(by: { $0.deadline < $1.deadline })?.deadline {
            timeout = Int32(clamping: next.since(.now()).milliseconds)
        } else {
            timeout = -1
        }
        let count = epoll_wait(epollFD, &events, Int32(events.count), timeout)
        if count < 0 {
            if errno == EINTR { return }
            throw SystemError("wait for events")
        }
        for event in events.prefix(Int(count)) {
            let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: event.data.u64))
            let generation = UInt32(truncatingIfNeeded: event.data.u64 >> 32)
            if let handler = handlers[fd], handler.generation == generation { handler.action() }
        }
        runDueTimers()
    }

    /// Runs the due timers one at a time, earliest first, each taken off the list just before
    /// it runs: a timer that an earlier one cancelled is gone and does not run (after a pause of
    /// ftinit, many are due at once). Timers scheduled meanwhile wait for the next wake-up.
    private func runDueTimers() {
        let now = Instant.now()
        let newest = nextTimerID
        func nextDue() -> Int? {
            timers.indices.filter { timers[$0].deadline <= now && timers[$0].id <= newest }
                .min { timers[$0].deadline < timers[$1].deadline }
        }
        while let index = nextDue() {
            timers.remove(at: index).action()
        }
    }
}

extension EventLoop {
    /// A close-on-exec pipe for a child's answer: the read end non-blocking and watched
    /// (`action` runs when it is readable or closed), the write end for the child. The caller
    /// closes the write end once the child has it, and the read end with `closeWatched`.
    func watchedPipe(_ action: @escaping () -> Void) throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        try syscall("create a pipe") { ftinit_pipe_cloexec(&ends) }
        do {
            try setNonBlocking(ends[0])
            try watch(ends[0], action)
        } catch {
            close(ends[0])
            close(ends[1])
            throw error
        }
        return (ends[0], ends[1])
    }
}
