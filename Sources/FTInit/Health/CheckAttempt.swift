#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One run of a health check. It reports exactly once through its completion, unless it is
/// cancelled first (timeout, shutdown), in which case it releases what it holds silently.
protocol CheckAttempt: AnyObject {
    func start()
    func cancel()
}

/// One attempt of a check, reporting a `CheckResult`.
typealias OneShotAttempt = OneShot<CheckResult>

enum CheckResult: Equatable {
    case passed
    case failed(String)
}

/// `tcp HOST:PORT`: healthy when a connection is accepted. With `expect TEXT`, only once the
/// server's first bytes start with TEXT: the kernel completes handshakes into the backlog of a
/// frozen process, which then never greets (a frozen vsftpd or sshd).
final class TCPCheckAttempt: OneShotAttempt, CheckAttempt {
    /// The longest greeting start a check may expect: what it reads is bounded by it.
    static let greetingLimit = 256

    private let address: SocketAddress
    private let expect: [UInt8]?
    private let loop: EventLoop
    private var fd: Int32 = -1
    private var received: [UInt8] = []
    private var awaitingGreeting = false

    init(address: SocketAddress, expect: String? = nil, loop: EventLoop, completion: @escaping (CheckResult) -> Void) {
        self.address = address
        self.expect = expect.map { Array($0.utf8) }
        self.loop = loop
        super.init(completion: completion)
    }

    func start() {
        do {
            let (fd, connected) = try loop.startConnect(to: address) { [unowned self] in
                if self.awaitingGreeting { self.readGreeting() } else { self.connected() }
            }
            self.fd = fd
            if connected { self.connected() }
        } catch {
            finish(.failed("\(error)"))
        }
    }

    private func connected() {
        let error = socketError(fd)
        guard error == 0 else { return finish(.failed("connect to \(address.description): \(errorString(error))")) }
        guard expect != nil else { return finish(.passed) }
        // Now wait for the greeting: the check's timeout bounds the wait.
        awaitingGreeting = true
        loop.change(fd, to: .readable)
        readGreeting()
    }

    private func readGreeting() {
        guard let expect else { return }
        var buffer = [UInt8](repeating: 0, count: expect.count - received.count)
        let count = read(fd, &buffer, buffer.count)
        if count < 0 {
            if errno == EAGAIN || errno == EINTR { return }  // not yet: the next readable event
            return finish(.failed("read from \(address.description): \(errorString(errno))"))
        }
        received += buffer[..<count]
        // Decided once it is all there, or the connection closed, or it already differs.
        if received.count == expect.count || count == 0 || !expect.starts(with: received) {
            finish(received == expect ? .passed
                   : .failed("\(address.description) sent \(Self.shown(received))\(count == 0 ? " and closed" : ""), expected \(Self.shown(expect))"))
        }
    }

    /// Bytes as a short quoted text: control characters escaped, at most 64 shown.
    static func shown(_ bytes: [UInt8]) -> String {
        let text = bytes.prefix(64).map { byte -> String in
            switch byte {
            case 0x0d: return "\\r"
            case 0x0a: return "\\n"
            case 0x22, 0x5c: return "\\" + String(UnicodeScalar(byte))
            case 0x20...0x7e: return String(UnicodeScalar(byte))
            default: return (byte < 0x10 ? "\\x0" : "\\x") + String(byte, radix: 16)
            }
        }.joined()
        return "\"" + text + (bytes.count > 64 ? "...\"" : "\"")
    }

    override func release() {
        closeWatched(&fd, loop)
    }
}

/// Stops watching and closes `fd` if it is open, and marks it closed.
func closeWatched(_ fd: inout Int32, _ loop: EventLoop) {
    guard fd >= 0 else { return }
    loop.unwatch(fd)
    close(fd)
    fd = -1
}
