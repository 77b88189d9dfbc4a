#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Resolves a host name in a forked child, so that a slow or dead DNS server never stalls the
/// event loop: `getaddrinfo` has no timeout of its own and can block for many seconds. The
/// child writes the address (or the error) into a pipe and exits; ftinit reaps it like any
/// other child. A lookup that outlives the caller's timeout is cancelled: the child is killed.
final class NameResolver: OneShot<Result<SocketAddress, SystemError>> {
    private let host: String
    private let port: UInt16
    private let loop: EventLoop
    private let register: ChildExitRouter
    private var pid: pid_t?
    private var fd: Int32 = -1
    private var answer: [UInt8] = []

    init(host: String, port: UInt16, loop: EventLoop, register: @escaping ChildExitRouter,
         completion: @escaping (Result<SocketAddress, SystemError>) -> Void) {
        self.host = host
        self.port = port
        self.loop = loop
        self.register = register
        super.init(completion: completion)
    }

    func start() {
        let pipe: (read: Int32, write: Int32)
        do {
            pipe = try loop.watchedPipe { [unowned self] in self.collect() }
        } catch {
            return finish(.failure(error as? SystemError ?? SystemError(operation: "resolve \(host)", message: "\(error)")))
        }
        fd = pipe.read
        let pid = fork()
        if pid == 0 { Self.answer(host: host, port: port, into: pipe.write) }
        close(pipe.write)
        guard pid > 0 else { return finish(.failure(SystemError("fork to resolve \(host)"))) }
        self.pid = pid
        register(pid) { [weak self] _ in self?.pid = nil }  // reaped: never signal it again
    }

    /// In the child: one `getaddrinfo`, its answer written as `A` + the address, or `E` + the error.
    private static func answer(host: String, port: UInt16, into pipe: Int32) -> Never {
        var message: [UInt8]
        switch SocketAddress.resolve(host: host, port: port) {
        case .success(var address):
            message = [UInt8(ascii: "A")]
            withUnsafeBytes(of: &address.storage) { message += $0.prefix(Int(address.length)) }
        case .failure(let error):
            message = [UInt8(ascii: "E")] + Array(error.message.utf8)
        }
        message.withUnsafeBytes { writeAll(pipe, $0) }
        _exit(0)
    }

    private func collect() {
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n > 0 { answer += buffer[..<n]; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { return }
            return conclude()
        }
    }

    private func conclude() {
        guard let kind = answer.first else {
            return finish(.failure(SystemError(operation: "resolve \(host)", message: "the resolver child ended without an answer")))
        }
        let body = answer.dropFirst()
        guard kind == UInt8(ascii: "A"), body.count <= MemoryLayout<sockaddr_storage>.size else {
            return finish(.failure(SystemError(operation: "resolve \(host)", message: String(decoding: body, as: UTF8.self))))
        }
        var address = SocketAddress(description: "\(host):\(port)")
        address.length = socklen_t(body.count)
        withUnsafeMutableBytes(of: &address.storage) { $0.copyBytes(from: body) }
        finish(.success(address))
    }

    override func release() {
        if let pid { kill(pid, SIGKILL) }
        closeWatched(&fd, loop)
    }
}
