/// The key types `[tls] key-type` accepts.
public enum KeyType: String, Sendable, CaseIterable {
    case ecP256 = "ec-p256"
    case rsa2048 = "rsa2048"
    case rsa3072 = "rsa3072"
    case rsa4096 = "rsa4096"
}

/// `[tls]`: the certificate and key ftinit makes (or keeps) before anything starts.
public struct TLSSpec: Sendable, Equatable {
    public var cert: String
    public var key: String
    public var names: [String]
    public var ips: [String]
    public var keyType: KeyType = .ecP256
    public var days: Int = 365
    /// `user[:group]` that must be able to read the key; nil keeps ftinit's own.
    public var owner: Located<String>?
    public var renewBefore: TimeSpan = TimeSpan(milliseconds: 30 * 86_400_000)
    public var line: Int

    public init(cert: String, key: String, names: [String], ips: [String], line: Int) {
        self.cert = cert
        self.key = key
        self.names = names
        self.ips = ips
        self.line = line
    }
}

extension TLSSpec {
    /// 30 days, or half the validity of a shorter-lived certificate.
    public static func defaultRenewBefore(days: Int) -> TimeSpan {
        min(TimeSpan(milliseconds: 30 * 86_400_000), TimeSpan(milliseconds: Int64(days) * 86_400_000 / 2))
    }

    /// An explicit `renew-before` at least as long as the validity would replace the pair on
    /// every boot.
    public var renewalProblem: String? {
        guard TimeSpan(milliseconds: Int64(days) * 86_400_000) <= renewBefore else { return nil }
        return "days (\(days)d) must be longer than renew-before (\(renewBefore)), or every boot makes a new pair"
    }
}

/// `[template DEST]`: DEST rendered from `source` with `${VAR}` substitution.
public struct TemplateSpec: Sendable, Equatable {
    public var destination: String
    public var source: String
    public var mode: UInt32 = 0o644
    public var owner: Located<String>?
    public var line: Int

    public init(destination: String, source: String, line: Int) {
        self.destination = destination
        self.source = source
        self.line = line
    }
}

/// A service's `check = ...` and its timing.
public struct HealthCheckSpec: Sendable, Equatable {
    public enum Probe: Sendable, Equatable {
        /// `expect`: the start of what the server must send first (its greeting), if given.
        case tcp(host: String, port: UInt16, expect: String? = nil)
        case http(HTTPTarget)
        case exec(argv: [String])

        /// The host and port a tcp or http check connects to.
        public var endpoint: (host: String, port: UInt16)? {
            switch self {
            case .tcp(let host, let port, _): return (host, port)
            case .http(let target): return (target.host, target.port)
            case .exec: return nil
            }
        }
    }

    public var probe: Probe
    /// The `check` as it runs, for log lines and `ftinit status`: variables expanded, the
    /// values of secrets hidden (`Expander.hidingSecrets`), exec words quoted as a shell reads them.
    public var text: String
    public var interval: TimeSpan = .seconds(10)
    /// Between checks until the first success (never longer than `interval`): Docker's
    /// HEALTHCHECK --start-interval.
    public var startInterval: TimeSpan = .seconds(1)
    public var timeout: TimeSpan = .seconds(2)
    public var retries: Int = 3
    public var startPeriod: TimeSpan = .seconds(30)

    public init(probe: Probe, text: String) {
        self.probe = probe
        self.text = text
    }
}

/// `http://HOST[:PORT][/PATH]` or `https://...`, split into what a GET needs.
public struct HTTPTarget: Sendable, Equatable {
    public var secure: Bool
    public var host: String
    public var port: UInt16
    public var path: String

    /// Parses an http or https URL; nil when it is not one.
    public init?(url: String) {
        let rest: Substring
        let scheme = url.prefix(while: { $0 != ":" }).lowercased()
        if scheme == "http" && url.dropFirst(4).hasPrefix("://") {
            secure = false
            rest = url.dropFirst(7)
        } else if scheme == "https" && url.dropFirst(5).hasPrefix("://") {
            secure = true
            rest = url.dropFirst(8)
        } else {
            return nil
        }
        let authority = rest.prefix(while: { $0 != "/" && $0 != "?" && $0 != "#" })
        let target = rest.dropFirst(authority.count).prefix(while: { $0 != "#" })
        path = target.first == "/" ? String(target) : "/" + target
        guard let (host, port) = splitHostPort(authority, defaultPort: secure ? 443 : 80) else { return nil }
        self.host = host
        self.port = port
    }

    /// The value of the Host header: `host:port`, an IPv6 address in brackets.
    public var hostHeader: String { (host.contains(":") ? "[\(host)]" : host) + ":\(port)" }
}

/// `HOST:PORT`, `[V6]:PORT`, or `HOST` / `[V6]` with `defaultPort`; nil when malformed.
func splitHostPort(_ text: Substring, defaultPort: UInt16?) -> (String, UInt16)? {
    var host: Substring
    var portText: Substring?
    if text.first == "[" {
        guard let close = text.firstIndex(of: "]") else { return nil }
        host = text[text.index(after: text.startIndex)..<close]
        let after = text[text.index(after: close)...]
        if !after.isEmpty {
            guard after.first == ":" else { return nil }
            portText = after.dropFirst()
        }
    } else if let colon = text.lastIndex(of: ":") {
        host = text[..<colon]
        guard !host.contains(":") else { return nil }  // IPv6 must be bracketed: [::1]:80
        portText = text[text.index(after: colon)...]
    } else {
        host = text
    }
    guard !host.isEmpty, !host.contains(" ") else { return nil }
    if let portText {
        guard let port = UInt16(portText), port > 0 else { return nil }
        return (String(host), port)
    }
    guard let defaultPort else { return nil }
    return (String(host), defaultPort)
}
