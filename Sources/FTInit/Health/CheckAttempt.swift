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

/// `tcp HOST:PORT`: healthy when a connection is accepted.
final class TCPCheckAttempt: OneShotAttempt, CheckAttempt {
    private let address: SocketAddress
    private let loop: EventLoop
    private var fd: Int32 = -1

    init(address: SocketAddress, loop: EventLoop, completion: @escaping (CheckResult) -> Void) {
        self.address = address
        self.loop = loop
        super.init(completion: completion)
    }

    func start() {
        do {
            let (fd, connected) = try loop.startConnect(to: address) { [unowned self] in self.conclude() }
            self.fd = fd
            if connected { conclude() }
        } catch {
            finish(.failed("\(error)"))
        }
    }

    private func conclude() {
        let error = socketError(fd)
        finish(error == 0 ? .passed : .failed("connect to \(address.description): \(errorString(error))"))
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
