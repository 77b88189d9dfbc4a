#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What one image's PID 1 runs: the typed form of `/etc/ftinit.conf`.
public struct Config: Sendable {
    public var path: String
    /// Budget for stopping everything, shared by all stop timeouts.
    public var stopTimeout: TimeSpan = .seconds(25)
    /// Prefix each line of child output with `NAME | `.
    public var logPrefix = true
    /// Where `ftinit probe` and `ftinit status` reach ftinit.
    public var socketPath = Config.defaultSocketPath
    /// Services and tasks in file order.
    public var programs: [Program] = []
    /// Files rendered before anything starts, in file order.
    public var templates: [TemplateSpec] = []
    /// The certificate made before anything starts.
    public var tls: TLSSpec?
    /// Where samples are pushed; nil without a `[metrics]` section.
    public var metrics: MetricsSpec?

    public static let defaultSocketPath = "/run/ftinit.sock"

    public var services: [Program] { programs.filter { $0.kind == .service } }
    public var tasks: [Program] { programs.filter { $0.kind == .task } }

    public init(path: String) { self.path = path }
}

/// A `[service NAME]` (runs for as long as the container) or a `[task NAME]` (one-shot).
public struct Program: Sendable, Equatable {
    public enum Kind: String, Sendable { case service, task }

    public var kind: Kind
    public var name: String
    public var line: Int
    public var argv: [String] = []
    public var user: Located<String>?
    public var dir: Located<String>?
    public var env: [String] = []          // `KEY=VALUE`, added to ftinit's environment
    /// `env-clear = yes`: the names of ftinit's environment it keeps (`env-pass`; PATH always);
    /// nil: it inherits all of it.
    public var envPass: [String]?
    public var after: [Located<String>] = []
    public var stopSignal: Int32 = SIGTERM
    public var stopTimeout: TimeSpan = .seconds(10)
    /// Tasks only: killed and failed after this long; nil means no limit.
    public var timeout: TimeSpan?
    /// Services only: how ftinit decides the service works.
    public var check: HealthCheckSpec?

    public init(kind: Kind, name: String, line: Int) {
        self.kind = kind
        self.name = name
        self.line = line
    }

    /// `service=web` / `task=keys`: how log lines name it.
    public var logSubject: String { "\(kind.rawValue)=\(name)" }
}
