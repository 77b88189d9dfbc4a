#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux

/// An IPv4/IPv6 address and port, resolved once before the event loop starts: name
/// resolution blocks, so it never happens inside the loop.
public struct SocketAddress: Sendable {
    var storage = sockaddr_storage()
    var length: socklen_t = 0
    public let description: String

    /// Resolves `host` (a literal address, or a name from /etc/hosts or DNS).
    public static func resolve(host: String, port: UInt16) -> Result<SocketAddress, SystemError> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            let message = status == EAI_SYSTEM ? errorString(errno) : String(cString: gai_strerror(status))
            return .failure(SystemError(operation: "resolve \(host)", message: message))
        }
        defer { freeaddrinfo(list) }
        var address = SocketAddress(description: "\(host):\(port)")
        address.length = first.pointee.ai_addrlen
        withUnsafeMutableBytes(of: &address.storage) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        return .success(address)
    }

    var family: Int32 { Int32(storage.ss_family) }

    /// A non-blocking, close-on-exec TCP socket with `connect` started. Returns the fd and
    /// whether the connection is already established (loopback often is).
    func startConnect() throws -> (fd: Int32, connected: Bool) {
        let fd = try syscall("create a socket") {
            socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        var storage = self.storage
        let result = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) }
        }
        if result == 0 { return (fd, true) }
        if errno == EINPROGRESS || errno == EINTR { return (fd, false) }
        let error = SystemError("connect to \(description)")
        close(fd)
        throw error
    }
}

/// The pending error of a socket whose non-blocking connect finished (0 when it succeeded).
func socketError(_ fd: Int32) -> Int32 {
    var error: Int32 = 0
    var length = socklen_t(MemoryLayout<Int32>.size)
    if getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 { return errno }
    return error
}

extension EventLoop {
    /// Starts a non-blocking connect to `address` and watches the socket until it is writable:
    /// connected, or failed (`socketError` says which). Returns the socket, to be closed with
    /// `closeWatched`, and whether it is connected already (loopback often is).
    func startConnect(to address: SocketAddress, whenWritable action: @escaping () -> Void) throws -> (fd: Int32, connected: Bool) {
        let (fd, connected) = try address.startConnect()
        do {
            try watch(fd, for: .writable, action)
        } catch {
            close(fd)
            throw error
        }
        return (fd, connected)
    }
}
