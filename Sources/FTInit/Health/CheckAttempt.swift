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

enum CheckResult: Equatable {
    case passed
    case failed(String)
}

/// `tcp HOST:PORT`: healthy when a connection is accepted.
final class TCPCheckAttempt: CheckAttempt {
    private let address: SocketAddress
    private let loop: EventLoop
    private var completion: ((CheckResult) -> Void)?
    private var fd: Int32 = -1

    init(address: SocketAddress, loop: EventLoop, completion: @escaping (CheckResult) -> Void) {
        self.address = address
        self.loop = loop
        self.completion = completion
    }

    func start() {
        do {
            let (fd, connected) = try address.startConnect()
            self.fd = fd
            if connected { return finish(.passed) }
            try loop.watch(fd, for: .writable) { [unowned self] in
                let error = socketError(self.fd)
                self.finish(error == 0 ? .passed : .failed("connect to \(self.address.description): \(errorString(error))"))
            }
        } catch {
            finish(.failed("\(error)"))
        }
    }

    private func finish(_ result: CheckResult) {
        let completion = self.completion
        cancel()
        completion?(result)
    }

    func cancel() {
        completion = nil
        if fd >= 0 {
            loop.unwatch(fd)
            close(fd)
            fd = -1
        }
    }
}
