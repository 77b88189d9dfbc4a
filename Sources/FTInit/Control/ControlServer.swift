#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux

/// ftinit's unix socket: a client sends one line (`ControlRequest`), gets the answer, and is
/// closed. Served from the event loop without ever blocking it: a request is at most
/// `requestLimit` bytes, a client has `clientTimeout` to send it, and at most `maxClients` are
/// served at once (more are closed at once, so a flood makes probes fail fast instead of
/// hanging). A command comes only from the socket owner's uid or root: besides the socket's
/// mode 0600, the kernel's record of who connected (SO_PEERCRED) is checked.
public final class ControlServer {
    /// Who connected, as the kernel recorded it.
    public struct Peer: Equatable, Sendable {
        public let pid: Int32
        public let uid: UInt32
    }

    public let path: String
    private let fd: Int32
    private let loop: EventLoop
    private let owner = geteuid()
    private let answer: (ControlRequest, Peer?) -> String
    private var clients: [Int32: (request: [UInt8], timer: Int, peer: Peer?)] = [:]
    private var isShutDown = false
    private var exhaustionReported = false

    static let maxClients = 16
    static let requestLimit = 256
    static let clientTimeout = TimeSpan.seconds(1)
    static let backoff = TimeSpan(milliseconds: 100)

    /// Binds `path` (mode 0600, replacing a stale socket) and starts serving: `answer` gets
    /// every well-formed request a client may send (a command always with its peer).
    public init(path: String, loop: EventLoop, answer: @escaping (ControlRequest, Peer?) -> String) throws {
        self.path = path
        self.loop = loop
        self.answer = answer
        try removeStaleSocket(path)
        do {
            try makeDirectories(parentDirectory(of: path))
        } catch let error as SystemError {
            throw Self.needsWritableDirectory(error, path)
        }
        fd = try syscall("create the control socket") {
            socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        do {
            var address = try unixAddress(path)
            // The socket file takes its mode from the umask at bind time: 0600.
            let previous = umask(0o177)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            umask(previous)
            guard bound == 0 else {
                let code = errno
                let failure = SystemError("bind \(path)", errno: code)
                throw [EACCES, EROFS, ENOENT].contains(code) ? Self.needsWritableDirectory(failure, path) : failure
            }
            try syscall("listen on \(path)") { listen(fd, 64) }
            try loop.watch(fd) { [unowned self] in self.acceptClients() }
        } catch {
            close(fd)
            throw error
        }
    }

    /// `error` with where the socket can go instead: a read-only root (a container's
    /// readOnlyRootFilesystem) or a non-root ftinit cannot write the default /run.
    static func needsWritableDirectory(_ error: SystemError, _ path: String) -> SystemError {
        SystemError(operation: error.operation, message: "\(error.message) (the control socket \(path) needs a writable directory: "
                        + "mount a tmpfs on /run, or set another path with [init] socket or FTINIT_SOCKET)")
    }

    private func acceptClients() {
        while true {
            let client = ftinit_accept_nonblocking(fd)
            if client < 0 {
                // EAGAIN: all taken. Out of descriptors, the waiting connection stays in the
                // backlog and the listener stays readable: back off instead of spinning.
                if errno == EMFILE || errno == ENFILE { pauseAccepting(errno) }
                return  // other errors (a client gone already): the next wake-up retries
            }
            exhaustionReported = false
            guard clients.count < Self.maxClients else { close(client); continue }
            do {
                try loop.watch(client) { [unowned self] in self.readRequest(client) }
            } catch {
                close(client)
                continue
            }
            let timer = loop.schedule(at: .now() + Self.clientTimeout) { [unowned self] in self.drop(client) }
            var credentials = ftinit_peer()
            let known = ftinit_peer_credentials(client, &credentials) == 0
            clients[client] = ([], timer, known ? Peer(pid: credentials.pid, uid: credentials.uid) : nil)
        }
    }

    /// Stops watching the listener for `backoff`: descriptors may be free by then (a client
    /// or a check closed). Said once per shortage, not at every retry.
    private func pauseAccepting(_ code: Int32) {
        if !exhaustionReported {
            exhaustionReported = true
            Log.event(.warn, "control-accept-failed", Log.field("error", errorString(code)),
                      Log.field("hint", "out of file descriptors: probes wait; retrying every \(Self.backoff)"))
        }
        loop.unwatch(fd)
        loop.schedule(at: .now() + Self.backoff) { [unowned self] in
            guard !self.isShutDown else { return }
            try? self.loop.watch(self.fd) { [unowned self] in self.acceptClients() }
        }
    }

    private func readRequest(_ client: Int32) {
        var buffer = [UInt8](repeating: 0, count: Self.requestLimit)
        let result = buffer.withUnsafeMutableBytes { readOnce(client, into: $0) }
        if result == .wouldBlock { return }
        guard case .bytes(let n) = result, var entry = clients[client] else { return drop(client) }
        entry.request += buffer[..<n]
        clients[client] = entry
        if entry.request.contains(UInt8(ascii: "\n")) {
            // A few kilobytes at most into an empty socket buffer: this write does not block.
            writeAll(client, respond(to: ControlRequest(received: entry.request), from: entry.peer))
            drop(client)
        } else if entry.request.count >= Self.requestLimit {
            drop(client)
        }
    }

    /// The answer to one request; a command only from the socket owner's uid or root.
    private func respond(to request: ControlRequest?, from peer: Peer?) -> String {
        guard let request else { return "error unknown request\n" }
        guard request.isCommand else { return answer(request, peer) }
        guard let peer, peer.uid == owner || peer.uid == 0 else {
            let who = peer.map { "uid \($0.uid)" } ?? "a client whose credentials the kernel did not give"
            Log.event(.warn, "control-denied", "uid=\(peer.map { "\($0.uid)" } ?? "?")", "pid=\(peer?.pid ?? 0)",
                      Log.field("request", String(request.line.dropLast())))
            return ControlAnswer.denied("\(who) may not command ftinit (only \(owner == 0 ? "root" : "uid \(owner) or root"))").text
        }
        return answer(request, peer)
    }

    /// Shuts the connection down before closing it: the client sees the end of the answer
    /// now, even if another process holds a copy of the descriptor.
    private func drop(_ client: Int32) {
        guard let entry = clients.removeValue(forKey: client) else { return }
        loop.cancel(entry.timer)
        loop.unwatch(client)
        Glibc.shutdown(client, Int32(SHUT_RDWR))
        close(client)
    }

    /// Closes the socket and removes its file (ftinit is exiting).
    public func shutdown() {
        guard !isShutDown else { return }
        isShutDown = true
        for client in Array(clients.keys) { drop(client) }
        loop.unwatch(fd)
        close(fd)
        unlink(path)
    }
}

/// A `sockaddr_un` for `path`, or an error when the path does not fit.
func unixAddress(_ path: String) throws -> sockaddr_un {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    let capacity = MemoryLayout.size(ofValue: address.sun_path)
    guard bytes.count < capacity else {
        throw SystemError(operation: "use socket path \(path)", message: "longer than \(capacity - 1) bytes")
    }
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
    return address
}

/// Removes a socket file left by an earlier run; refuses to remove anything else, and a
/// socket that still accepts connections: another ftinit (PID 1, when someone runs `ftinit`
/// in the container by hand) serves it, and its liveness probe depends on that file.
private func removeStaleSocket(_ path: String) throws {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    guard (info.st_mode & S_IFMT) == S_IFSOCK else {
        throw SystemError(operation: "use \(path) as the control socket", message: "it exists and is not a socket")
    }
    if isServed(path) {
        throw SystemError(operation: "use \(path) as the control socket",
                          message: "another ftinit is running and serves it (ftinit status shows it; a second run "
                              + "needs its own socket: [init] socket or FTINIT_SOCKET)")
    }
    try syscall("remove stale socket \(path)") { unlink(path) }
}

/// Whether something accepts connections on the unix socket at `path`. A listening socket
/// accepts into its backlog without the server's help, so the answer does not depend on how
/// busy that server is (a full backlog: EAGAIN); a stale file refuses (ECONNREFUSED).
private func isServed(_ path: String) -> Bool {
    switch connectUnix(path) {
    case .success(let probe):
        close(probe)
        return true
    case .failure(let failure):
        return failure.code == EAGAIN
    }
}

/// Why `connectUnix` failed: connect's errno (ENAMETOOLONG for a path that does not fit).
struct ConnectFailure: Error { let code: Int32 }

/// A non-blocking, close-on-exec stream socket connected to the unix socket at `path` (the
/// caller closes it). Non-blocking, so a full backlog answers EAGAIN instead of waiting.
func connectUnix(_ path: String) -> Result<Int32, ConnectFailure> {
    guard var address = try? unixAddress(path) else { return .failure(ConnectFailure(code: ENAMETOOLONG)) }
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return .failure(ConnectFailure(code: errno)) }
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard connected == 0 else {
        let code = errno
        close(fd)
        return .failure(ConnectFailure(code: code))
    }
    return .success(fd)
}
