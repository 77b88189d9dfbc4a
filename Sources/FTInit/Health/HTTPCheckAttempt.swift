/// `http URL` / `https URL`: a GET, healthy on a status from 200 to 399. Over https the
/// certificate is not verified (like the kubelet's probes): the check asks "does it answer",
/// and the service's own certificate is usually self-signed.
final class HTTPCheckAttempt: CheckAttempt {
    private let exchange: HTTPExchange

    init(address: SocketAddress, target: HTTPTarget, loop: EventLoop, completion: @escaping (CheckResult) -> Void) {
        let request = "GET \(target.path) HTTP/1.1\r\nHost: \(target.hostHeader)\r\nUser-Agent: ftinit\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        exchange = HTTPExchange(address: address, serverName: target.secure ? target.host : nil, request: Array(request.utf8),
                                readsBody: false, loop: loop) { outcome in
            switch outcome {
            case .answered(let status, _):
                completion((200...399).contains(status) ? .passed : .failed("HTTP status \(status)"))
            case .failed(let message):
                completion(.failed(message))
            }
        }
    }

    func start() { exchange.start() }
    func cancel() { exchange.cancel() }
}
