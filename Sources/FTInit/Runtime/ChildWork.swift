#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux

/// Work that may block for long — a DNS lookup (`getaddrinfo` has no timeout of its own), a
/// walk of a large directory tree — done in a forked child, so that the event loop never
/// waits for it. The child runs `work`, writes the bytes it returns into a pipe and exits;
/// ftinit reaps it like any other child. Cancelling (a timeout, shutdown) kills the child.
final class ChildWork: OneShot<Result<[UInt8], SystemError>> {
    private let what: String
    private let loop: EventLoop
    private let register: ChildExitRouter
    private let work: () -> [UInt8]
    private var pid: pid_t?
    private var fd: Int32 = -1
    private var answer: [UInt8] = []

    /// `what` names the work in errors ("resolve influxdb"); `register` routes the child's
    /// exit, once reaped, back here.
    init(_ what: String, loop: EventLoop, register: @escaping ChildExitRouter, work: @escaping () -> [UInt8],
         completion: @escaping (Result<[UInt8], SystemError>) -> Void) {
        self.what = what
        self.loop = loop
        self.register = register
        self.work = work
        super.init(completion: completion)
    }

    func start() {
        let pipe: (read: Int32, write: Int32)
        do {
            pipe = try loop.watchedPipe { [unowned self] in self.collect() }
        } catch {
            return finish(.failure(error as? SystemError ?? SystemError(operation: what, message: "\(error)")))
        }
        fd = pipe.read
        let pid = fork()
        if pid == 0 {
            // The child: ftinit's signals stay blocked (only SIGKILL ends it early), nothing
            // is flushed on the way out. It keeps only stdio and its answer pipe: a copy of a
            // control client's socket would hold that client's end-of-answer until this
            // child exits, and a lookup can take seconds.
            let answer = keepOnly(pipe.write)
            work().withUnsafeBytes { writeAll(answer, $0) }
            _exit(0)
        }
        close(pipe.write)
        guard pid > 0 else { return finish(.failure(SystemError("fork to \(what)"))) }
        self.pid = pid
        register(pid) { [weak self] _ in self?.pid = nil }  // reaped: never signal it again
    }

    /// In the forked child: moves `fd` to 3 and closes every descriptor above it (all of
    /// ftinit's: epoll, signalfd, sockets, other pipes). Returns where `fd` is now.
    private func keepOnly(_ fd: Int32) -> Int32 {
        let kept: Int32 = 3
        if fd != kept {
            guard dup2(fd, kept) == kept else { _exit(71) }
        }
        if ftinit_close_from(kept + 1) != 0 {
            // A kernel without close_range: one close per possible descriptor.
            for other in (kept + 1)..<Int32(clamping: sysconf(Int32(_SC_OPEN_MAX))) { close(other) }
        }
        return kept
    }

    /// Reads what the child wrote; its end of the pipe closing means it is done.
    private func collect() {
        switch drain(fd, { answer += $0 }) {
        case .wouldBlock: return
        case .endOfStream: finish(.success(answer))
        case .failed(let code): finish(.failure(SystemError("read the answer to \(what)", errno: code)))
        }
    }

    override func release() {
        if let pid { kill(pid, SIGKILL) }
        closeWatched(&fd, loop)
    }
}
