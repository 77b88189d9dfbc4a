#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import COpenSSL

/// One HTTP/1.1 request on a fresh non-blocking connection (plain, or TLS without certificate
/// verification), driven by the event loop. Reports the answer's status, or why there is none.
/// Used by `http`/`https` checks (GET, the status line is enough) and the metrics push (POST,
/// the body of an error answer says what InfluxDB refused).
final class HTTPExchange: OneShot<HTTPExchange.Outcome> {
    enum Outcome: Equatable {
        /// `response` is the start of the answer, headers included, at most `maxResponse` bytes.
        case answered(status: Int, response: [UInt8])
        case failed(String)
    }

    private let address: SocketAddress
    private let serverName: String?
    private let loop: EventLoop
    private let readsBody: Bool
    private var fd: Int32 = -1
    private var ssl: OpaquePointer?
    private var request: [UInt8]
    private var sent = 0
    private var response: [UInt8] = []
    private enum Step { case connecting, handshaking, sending, receiving }
    private var step = Step.connecting
    /// How much of an answer is kept; a status line longer than this is not HTTP.
    static let maxResponse = 2048

    /// `serverName` (for SNI) set means TLS. Without `readsBody` the status line ends the
    /// exchange; with it, the server closing the connection (or `maxResponse`) does.
    init(address: SocketAddress, serverName: String?, request: [UInt8], readsBody: Bool, loop: EventLoop,
         completion: @escaping (Outcome) -> Void) {
        self.address = address
        self.serverName = serverName
        self.request = request
        self.readsBody = readsBody
        self.loop = loop
        super.init(completion: completion)
    }

    func start() {
        do {
            let (fd, connected) = try loop.startConnect(to: address) { [unowned self] in self.advance() }
            self.fd = fd
            if connected { advance() }
        } catch {
            finish(.failed("\(error)"))
        }
    }

    /// Moves the exchange on as far as the socket allows, then waits for the next readiness.
    private func advance() {
        switch step {
        case .connecting:
            let error = socketError(fd)
            guard error == 0 else { return finish(.failed("connect to \(address.description): \(errorString(error))")) }
            if let serverName {
                guard let context = Self.clientContext, let ssl = SSL_new(context) else {
                    return finish(.failed("unable to set up TLS"))
                }
                self.ssl = ssl
                SSL_set_fd(ssl, fd)
                _ = ftinit_ssl_set_sni(ssl, serverName)
                SSL_set_connect_state(ssl)
                step = .handshaking
            } else {
                step = .sending
            }
            advance()
        case .handshaking:
            guard let ssl else { return }
            let result = SSL_do_handshake(ssl)
            if result == 1 {
                step = .sending
                advance()
            } else {
                waitOrFail(SSL_get_error(ssl, result), "TLS handshake with \(address.description)")
            }
        case .sending:
            while sent < request.count {
                let n = transmit()
                if n > 0 { sent += n; continue }
                return
            }
            step = .receiving
            loop.change(fd, to: .readable)
        case .receiving:
            receive()
        }
    }

    /// Writes the rest of the request; returns bytes written, or 0 after arranging to wait or failing.
    private func transmit() -> Int {
        request[sent...].withUnsafeBytes { bytes in
            if let ssl {
                let n = SSL_write(ssl, bytes.baseAddress, Int32(bytes.count))
                if n > 0 { return Int(n) }
                waitOrFail(SSL_get_error(ssl, n), "send to \(address.description)")
                return 0
            }
            let n = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if n > 0 { return n }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { return 0 }
            finish(.failed("send to \(address.description): \(errorString(errno))"))
            return 0
        }
    }

    private func receive() {
        var buffer = [UInt8](repeating: 0, count: Self.maxResponse)
        while true {
            let n: Int
            if let ssl {
                let got = SSL_read(ssl, &buffer, Int32(buffer.count))
                if got <= 0 {
                    let code = SSL_get_error(ssl, got)
                    if code == SSL_ERROR_ZERO_RETURN { return conclude() }
                    return waitOrFail(code, "read from \(address.description)")
                }
                n = Int(got)
            } else {
                switch buffer.withUnsafeMutableBytes({ readOnce(fd, into: $0) }) {
                case .bytes(let count): n = count
                case .wouldBlock: return
                case .endOfStream: return conclude()
                case .failed(let code): return finish(.failed("read from \(address.description): \(errorString(code))"))
                }
            }
            response += buffer[..<min(n, Self.maxResponse - response.count)]
            let hasStatusLine = response.contains(UInt8(ascii: "\n"))
            if response.count >= Self.maxResponse || (hasStatusLine && !readsBody) { return conclude() }
        }
    }

    /// Reads the status line: `HTTP/1.x NNN reason`.
    private func conclude() {
        let line = String(decoding: response.prefix(while: { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }), as: UTF8.self)
        let fields = line.split(separator: " ")
        guard fields.count >= 2, fields[0].hasPrefix("HTTP/"), let status = Int(fields[1]) else {
            return finish(.failed(response.isEmpty ? "connection closed without a response" : "not an HTTP response: \(line.prefix(80))"))
        }
        finish(.answered(status: status, response: response))
    }

    /// After an OpenSSL WANT_READ/WANT_WRITE, wait for that; anything else is a failure.
    private func waitOrFail(_ code: Int32, _ what: String) {
        switch code {
        case SSL_ERROR_WANT_READ: loop.change(fd, to: .readable)
        case SSL_ERROR_WANT_WRITE: loop.change(fd, to: .writable)
        default:
            finish(.failed("\(what) failed" + (takeOpenSSLError().map { ": " + $0 } ?? "")))
        }
    }

    override func release() {
        if let ssl { SSL_free(ssl) }
        ssl = nil
        closeWatched(&fd, loop)
    }

    /// One client context for every TLS exchange: TLS 1.2+, no verification.
    private nonisolated(unsafe) static let clientContext: OpaquePointer? = {
        guard let context = SSL_CTX_new(TLS_client_method()) else { return nil }
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        _ = ftinit_ssl_ctx_min_tls12(context)
        return context
    }()
}

extension HTTPExchange.Outcome {
    /// The body of an answer (after the blank line that ends the headers), as text.
    var body: String {
        guard case .answered(_, let response) = self, let end = response.firstIndex(ofBytes: Array("\r\n\r\n".utf8)) else { return "" }
        return String(decoding: response[(end + 4)...], as: UTF8.self)
    }
}
