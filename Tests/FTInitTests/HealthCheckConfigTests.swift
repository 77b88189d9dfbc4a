import Testing
@testable import FTInit

/// `check = ...` and its timing keys in `[service NAME]` (docs/ftinit.md, "Sections and keys"
/// and "Health checks").
@Suite struct HealthCheckConfigTests {
    /// A check as the loader must type it, with the documented defaults unless given.
    static func check(
        _ probe: HealthCheckSpec.Probe, _ text: String,
        interval: TimeSpan = .seconds(10), timeout: TimeSpan = .seconds(2), retries: Int = 3,
        startPeriod: TimeSpan = .seconds(30), startInterval: TimeSpan = .seconds(1)
    ) -> HealthCheckSpec {
        var spec = HealthCheckSpec(probe: probe, text: text)
        spec.interval = interval
        spec.startInterval = startInterval
        spec.timeout = timeout
        spec.retries = retries
        spec.startPeriod = startPeriod
        return spec
    }

    static func target(_ secure: Bool, _ host: String, _ port: UInt16, _ path: String) -> HTTPTarget {
        let url = "\(secure ? "https" : "http")://\(host.contains(":") ? "[\(host)]" : host):\(port)\(path)"
        return HTTPTarget(url: url)!
    }

    /// The `check` lines of one `[service web]` section, and what they must load as.
    struct Example: Sendable, CustomTestStringConvertible {
        let label: String
        let lines: String
        var environment: [String: String] = [:]
        let check: HealthCheckSpec

        var testDescription: String { label }
    }

    static let valid: [Example] = [
        Example(
            label: "tcp HOST:PORT expect TEXT: the greeting's start",
            lines: "check = tcp 127.0.0.1:21 expect \"220\"",
            check: check(.tcp(host: "127.0.0.1", port: 21, expect: "220"), "tcp 127.0.0.1:21 expect \"220\"")),
        Example(
            label: "tcp expect with variables, single quotes, and a quote in the text",
            lines: "check = tcp ${HOST}:22 expect 'SSH-2.0-\"x'",
            environment: ["HOST": "127.0.0.1"],
            check: check(.tcp(host: "127.0.0.1", port: 22, expect: "SSH-2.0-\"x"), #"tcp 127.0.0.1:22 expect "SSH-2.0-\"x""#)),
        Example(
            label: "tcp HOST:PORT with every default timing",
            lines: "check = tcp 127.0.0.1:5432",
            check: check(.tcp(host: "127.0.0.1", port: 5432), "tcp 127.0.0.1:5432")),
        Example(
            label: "tcp with a host name",
            lines: "check = tcp db.local:3306",
            check: check(.tcp(host: "db.local", port: 3306), "tcp db.local:3306")),
        Example(
            label: "tcp with a bracketed IPv6 address",
            lines: "check = tcp [::1]:21",
            check: check(.tcp(host: "::1", port: 21), "tcp [::1]:21")),
        Example(
            label: "http URL: the reference example, with check-interval",
            lines: "check = http https://127.0.0.1/\ncheck-interval = 5s",
            check: check(.http(target(true, "127.0.0.1", 443, "/")), "http https://127.0.0.1/", interval: .seconds(5))),
        Example(
            label: "http URL with a port and a path",
            lines: "check = http http://localhost:9000/ping?full=1",
            check: check(.http(target(false, "localhost", 9000, "/ping?full=1")), "http http://localhost:9000/ping?full=1")),
        Example(
            label: "exec COMMAND ARGS split like run",
            lines: "check = exec pg_isready -h 127.0.0.1 -t '1 s'",
            check: check(.exec(argv: ["pg_isready", "-h", "127.0.0.1", "-t", "1 s"]), "exec pg_isready -h 127.0.0.1 -t '1 s'")),
        Example(
            label: "every timing key",
            lines: "check = tcp 127.0.0.1:80\ncheck-interval = 1m30s\ncheck-timeout = 500ms\ncheck-retries = 1\nstart-period = 2m",
            check: check(.tcp(host: "127.0.0.1", port: 80), "tcp 127.0.0.1:80", interval: TimeSpan(milliseconds: 90_000),
                         timeout: TimeSpan(milliseconds: 500), retries: 1, startPeriod: .seconds(120))),
        Example(
            label: "check-start-interval: the cadence until the first success",
            lines: "check = exec mariadb -e 'SELECT 1'\ncheck-start-interval = 100ms",
            check: check(.exec(argv: ["mariadb", "-e", "SELECT 1"]), "exec mariadb -e 'SELECT 1'", startInterval: TimeSpan(milliseconds: 100))),
        Example(
            label: "timing keys may come before the check, and start-period may be 0",
            lines: "check-retries = 1000\nstart-period = 0\ncheck = tcp 127.0.0.1:80",
            check: check(.tcp(host: "127.0.0.1", port: 80), "tcp 127.0.0.1:80", retries: 1000, startPeriod: .zero)),
        Example(
            label: "variables expand in a tcp target, and the check text shows the expanded value",
            lines: "check = tcp ${DB_HOST}:${DB_PORT:-5432}",
            environment: ["DB_HOST": "10.1.2.3"],
            check: check(.tcp(host: "10.1.2.3", port: 5432), "tcp 10.1.2.3:5432")),
        Example(
            label: "variables expand in an http URL",
            lines: "check = http http://127.0.0.1:${PORT}/",
            environment: ["PORT": "8080"],
            check: check(.http(target(false, "127.0.0.1", 8080, "/")), "http http://127.0.0.1:8080/")),
        Example(
            label: "variables expand in exec words without being split; a secret's value is not shown",
            lines: "check = exec mysqladmin ping --password=${DB_PASSWORD}",
            environment: ["DB_PASSWORD": "s3cret with spaces"],
            check: check(.exec(argv: ["mysqladmin", "ping", "--password=s3cret with spaces"]),
                         "exec mysqladmin ping --password=***")),
        Example(
            label: "an exec check is shown as it runs: variables expanded, words quoted as a shell reads them",
            lines: #"check = exec sh -c "test -S ${DIR}/php.sock" ${EMPTY:-x} "it's""#,
            environment: ["DIR": "/run/php", "EMPTY": ""],
            check: check(.exec(argv: ["sh", "-c", "test -S /run/php/php.sock", "x", "it's"]),
                         #"exec sh -c 'test -S /run/php/php.sock' x 'it'\''s'"#)),
        Example(
            label: "secrets are hidden in tcp and http checks too",
            lines: "check = http http://127.0.0.1:${PORT}/health?token=${ADMIN_TOKEN}",
            environment: ["ADMIN_TOKEN": "t0ken", "PORT": "8080"],
            check: check(.http(target(false, "127.0.0.1", 8080, "/health?token=t0ken")), "http http://127.0.0.1:8080/health?token=***")),
        Example(
            label: "blanks between the kind and its argument are trimmed",
            lines: "check = tcp \t 127.0.0.1:80",
            check: check(.tcp(host: "127.0.0.1", port: 80), "tcp 127.0.0.1:80")),
    ]

    @Test(arguments: valid)
    func loadsACheckIntoTheTypedModel(_ example: Example) throws {
        let text = "[service web]\nrun = web\n" + example.lines
        let result = ConfigLoader.load(text: text, file: "/etc/ftinit.conf", environment: example.environment)
        let config = try #require(try? result.get(), "diagnostics: \(diagnostics(of: text, environment: example.environment))")
        #expect(config.services.first?.check == example.check)
    }

    @Test func aServiceWithoutCheckHasNone() throws {
        let config = try ConfigLoader.load(text: "[service web]\nrun = web", file: "f", environment: [:]).get()
        #expect(config.services.first?.check == nil)
    }

    @Test func eachServiceHasItsOwnCheck() throws {
        let text = "[service a]\nrun = a\ncheck = tcp 127.0.0.1:1\n[service b]\nrun = b\n[service c]\nrun = c\ncheck = exec true\ncheck-retries = 7"
        let config = try ConfigLoader.load(text: text, file: "f", environment: [:]).get()
        #expect(config.services.map(\.check) == [
            Self.check(.tcp(host: "127.0.0.1", port: 1), "tcp 127.0.0.1:1"),
            nil,
            Self.check(.exec(argv: ["true"]), "exec true", retries: 7),
        ])
    }

    @Test func theEndpointIsWhereATcpOrHttpCheckConnects() {
        #expect(HealthCheckSpec.Probe.tcp(host: "db", port: 5432).endpoint.map { "\($0.host) \($0.port)" } == "db 5432")
        #expect(HealthCheckSpec.Probe.http(Self.target(true, "::1", 8443, "/")).endpoint.map { "\($0.host) \($0.port)" } == "::1 8443")
        #expect(HealthCheckSpec.Probe.exec(argv: ["true"]).endpoint == nil)
    }

    // MARK: malformed

    static let usage = "check must be 'tcp HOST:PORT [expect TEXT]', 'http URL' or 'exec COMMAND...'"

    static let malformed: [MalformedConfig] = [
        MalformedConfig(
            label: "check-interval without a check",
            text: "[service web]\nrun = web\ncheck-interval = 5s",
            diagnostics: ["/etc/ftinit.conf:3: check-interval needs a 'check' in the same section"]),
        MalformedConfig(
            label: "every timing key without a check, each on its line",
            text: "[service web]\nrun = web\ncheck-timeout = 1s\ncheck-retries = 2\nstart-period = 1m",
            diagnostics: [
                "/etc/ftinit.conf:3: check-timeout needs a 'check' in the same section",
                "/etc/ftinit.conf:4: check-retries needs a 'check' in the same section",
                "/etc/ftinit.conf:5: start-period needs a 'check' in the same section",
            ]),
        MalformedConfig(
            label: "a check in a task",
            text: "[task keys]\nrun = keygen\ncheck = exec true",
            diagnostics: ["/etc/ftinit.conf:3: unknown key 'check' in [task keys] (expected run, user, dir, env, env-clear, env-pass, after, timeout)"]),
        MalformedConfig(
            label: "an unknown check kind",
            text: "[service dns]\nrun = dns\ncheck = udp 127.0.0.1:53",
            diagnostics: ["/etc/ftinit.conf:3: \(usage), got 'udp 127.0.0.1:53'"]),
        MalformedConfig(
            label: "a check kind in capitals",
            text: "[service web]\nrun = web\ncheck = TCP 127.0.0.1:80",
            diagnostics: ["/etc/ftinit.conf:3: \(usage), got 'TCP 127.0.0.1:80'"]),
        MalformedConfig(
            label: "an empty check",
            text: "[service web]\nrun = web\ncheck =",
            diagnostics: ["/etc/ftinit.conf:3: \(usage), got ''"]),
        MalformedConfig(
            label: "a bare URL without the http kind",
            text: "[service web]\nrun = web\ncheck = http://127.0.0.1/",
            diagnostics: ["/etc/ftinit.conf:3: \(usage), got 'http://127.0.0.1/'"]),
        MalformedConfig(
            label: "tcp without a port",
            text: "[service web]\nrun = web\ncheck = tcp 127.0.0.1",
            diagnostics: ["/etc/ftinit.conf:3: \(usage), got 'tcp 127.0.0.1'"]),
        MalformedConfig(
            label: "tcp expect without its text",
            text: "[service ftp]\nrun = ftp\ncheck = tcp 127.0.0.1:21 expect",
            diagnostics: ["/etc/ftinit.conf:3: \(usage), got 'tcp 127.0.0.1:21 expect'"]),
        MalformedConfig(
            label: "tcp with a text but no expect",
            text: "[service ftp]\nrun = ftp\ncheck = tcp 127.0.0.1:21 220",
            diagnostics: ["/etc/ftinit.conf:3: \(usage), got 'tcp 127.0.0.1:21 220'"]),
        MalformedConfig(
            label: "tcp expect an empty text",
            text: "[service ftp]\nrun = ftp\ncheck = tcp 127.0.0.1:21 expect \"\"",
            diagnostics: ["/etc/ftinit.conf:3: check tcp ... expect: the greeting to expect must be 1 to 256 bytes, got 0"]),
        MalformedConfig(
            label: "tcp expect a text longer than what a check reads",
            text: "[service ftp]\nrun = ftp\ncheck = tcp 127.0.0.1:21 expect " + String(repeating: "x", count: 257),
            diagnostics: ["/etc/ftinit.conf:3: check tcp ... expect: the greeting to expect must be 1 to 256 bytes, got 257"]),
        MalformedConfig(
            label: "tcp expect an unterminated quote",
            text: "[service ftp]\nrun = ftp\ncheck = tcp 127.0.0.1:21 expect \"220",
            diagnostics: ["/etc/ftinit.conf:3: check: unterminated \" quote"]),
        MalformedConfig(
            label: "tcp without anything",
            text: "[service web]\nrun = web\ncheck = tcp",
            diagnostics: ["/etc/ftinit.conf:3: \(usage), got 'tcp'"]),
        MalformedConfig(
            label: "tcp with port 0",
            text: "[service web]\nrun = web\ncheck = tcp 127.0.0.1:0",
            diagnostics: ["/etc/ftinit.conf:3: \(usage), got 'tcp 127.0.0.1:0'"]),
        MalformedConfig(
            label: "tcp with a port past 65535",
            text: "[service web]\nrun = web\ncheck = tcp 127.0.0.1:65536",
            diagnostics: ["/etc/ftinit.conf:3: \(usage), got 'tcp 127.0.0.1:65536'"]),
        MalformedConfig(
            label: "tcp with a named port",
            text: "[service web]\nrun = web\ncheck = tcp 127.0.0.1:http",
            diagnostics: ["/etc/ftinit.conf:3: \(usage), got 'tcp 127.0.0.1:http'"]),
        MalformedConfig(
            label: "tcp with two targets",
            text: "[service web]\nrun = web\ncheck = tcp a:1 b:2",
            diagnostics: ["/etc/ftinit.conf:3: \(usage), got 'tcp a:1 b:2'"]),
        MalformedConfig(
            label: "tcp with an unclosed IPv6 bracket",
            text: "[service web]\nrun = web\ncheck = tcp [::1:80",
            diagnostics: ["/etc/ftinit.conf:3: \(usage), got 'tcp [::1:80'"]),
        MalformedConfig(
            label: "http with an ftp URL",
            text: "[service web]\nrun = web\ncheck = http ftp://127.0.0.1/",
            diagnostics: ["/etc/ftinit.conf:3: \(usage) (URL as http://HOST[:PORT]/PATH or https://...), got 'http ftp://127.0.0.1/'"]),
        MalformedConfig(
            label: "http with a host-less URL",
            text: "[service web]\nrun = web\ncheck = http http:///healthz",
            diagnostics: ["/etc/ftinit.conf:3: \(usage) (URL as http://HOST[:PORT]/PATH or https://...), got 'http http:///healthz'"]),
        MalformedConfig(
            label: "http with a bad port",
            text: "[service web]\nrun = web\ncheck = http http://127.0.0.1:80x/",
            diagnostics: ["/etc/ftinit.conf:3: \(usage) (URL as http://HOST[:PORT]/PATH or https://...), got 'http http://127.0.0.1:80x/'"]),
        MalformedConfig(
            label: "exec without a command",
            text: "[service web]\nrun = web\ncheck = exec",
            diagnostics: ["/etc/ftinit.conf:3: check exec needs a command"]),
        MalformedConfig(
            label: "exec whose command is an empty word",
            text: "[service web]\nrun = web\ncheck = exec '' arg",
            diagnostics: ["/etc/ftinit.conf:3: check exec needs a command"]),
        MalformedConfig(
            label: "exec with an unterminated quote",
            text: "[service web]\nrun = web\ncheck = exec sh -c 'exit 0",
            diagnostics: ["/etc/ftinit.conf:3: check: unterminated ' quote"]),
        MalformedConfig(
            label: "an undefined variable in a tcp check",
            text: "[service db]\nrun = db\ncheck = tcp ${DB_HOST}:5432",
            diagnostics: ["/etc/ftinit.conf:3: check: undefined variable ${DB_HOST} (set it, or write ${DB_HOST:-default})"]),
        MalformedConfig(
            label: "an undefined variable in an http check",
            text: "[service web]\nrun = web\ncheck = http http://${LB_IP}/",
            diagnostics: ["/etc/ftinit.conf:3: check: undefined variable ${LB_IP} (set it, or write ${LB_IP:-default})"]),
        MalformedConfig(
            label: "an undefined variable in an exec check",
            text: "[service db]\nrun = db\ncheck = exec mysqladmin ping -p${DB_PASSWORD}",
            diagnostics: ["/etc/ftinit.conf:3: check: undefined variable ${DB_PASSWORD} (set it, or write ${DB_PASSWORD:-default})"]),
        MalformedConfig(
            label: "a check-interval of zero",
            text: "[service web]\nrun = web\ncheck = tcp 127.0.0.1:80\ncheck-interval = 0",
            diagnostics: ["/etc/ftinit.conf:4: check-interval must be more than 0"]),
        MalformedConfig(
            label: "a check-start-interval of zero, and one without a check",
            text: "[service web]\nrun = web\ncheck = tcp 127.0.0.1:80\ncheck-start-interval = 0\n[service db]\nrun = db\ncheck-start-interval = 1s",
            diagnostics: ["/etc/ftinit.conf:4: check-start-interval must be more than 0",
                          "/etc/ftinit.conf:7: check-start-interval needs a 'check' in the same section"]),
        MalformedConfig(
            label: "a check-timeout of zero, spelled 0s",
            text: "[service web]\nrun = web\ncheck = tcp 127.0.0.1:80\ncheck-timeout = 0s",
            diagnostics: ["/etc/ftinit.conf:4: check-timeout must be more than 0"]),
        MalformedConfig(
            label: "bad durations for every timing key",
            text: "[service web]\nrun = web\ncheck = tcp 127.0.0.1:80\ncheck-interval = 5\ncheck-timeout = 1.5s\nstart-period = soon",
            diagnostics: [
                "/etc/ftinit.conf:4: bad duration '5' for check-interval (expected e.g. 500ms, 10s, 1m30s)",
                "/etc/ftinit.conf:5: bad duration '1.5s' for check-timeout (expected e.g. 500ms, 10s, 1m30s)",
                "/etc/ftinit.conf:6: bad duration 'soon' for start-period (expected e.g. 500ms, 10s, 1m30s)",
            ]),
        MalformedConfig(
            label: "check-retries of 0",
            text: "[service web]\nrun = web\ncheck = tcp 127.0.0.1:80\ncheck-retries = 0",
            diagnostics: ["/etc/ftinit.conf:4: check-retries must be a whole number from 1 to 1000, got '0'"]),
        MalformedConfig(
            label: "check-retries past 1000",
            text: "[service web]\nrun = web\ncheck = tcp 127.0.0.1:80\ncheck-retries = 1001",
            diagnostics: ["/etc/ftinit.conf:4: check-retries must be a whole number from 1 to 1000, got '1001'"]),
        MalformedConfig(
            label: "check-retries in words",
            text: "[service web]\nrun = web\ncheck = tcp 127.0.0.1:80\ncheck-retries = three",
            diagnostics: ["/etc/ftinit.conf:4: check-retries must be a whole number from 1 to 1000, got 'three'"]),
        MalformedConfig(
            label: "negative check-retries",
            text: "[service web]\nrun = web\ncheck = tcp 127.0.0.1:80\ncheck-retries = -1",
            diagnostics: ["/etc/ftinit.conf:4: check-retries must be a whole number from 1 to 1000, got '-1'"]),
        MalformedConfig(
            label: "a duplicate check",
            text: "[service web]\nrun = web\ncheck = tcp 127.0.0.1:80\ncheck = tcp 127.0.0.1:81",
            diagnostics: ["/etc/ftinit.conf:4: duplicate key 'check' (first set on line 3)"]),
        MalformedConfig(
            label: "a service without run still has its check checked",
            text: "[service web]\ncheck = tcp nowhere",
            diagnostics: [
                "/etc/ftinit.conf:1: [service web] has no 'run' key",
                "/etc/ftinit.conf:2: \(usage), got 'tcp nowhere'",
            ]),
        // docs/ftinit.md, "Errors": `ftinit check` prints every error, not only the first.
        MalformedConfig(
            label: "a bad check does not hide bad timing keys next to it",
            text: "[service dns]\nrun = dns\ncheck = udp 127.0.0.1:53\ncheck-interval = often\ncheck-retries = 0",
            diagnostics: [
                "/etc/ftinit.conf:3: \(usage), got 'udp 127.0.0.1:53'",
                "/etc/ftinit.conf:4: bad duration 'often' for check-interval (expected e.g. 500ms, 10s, 1m30s)",
                "/etc/ftinit.conf:5: check-retries must be a whole number from 1 to 1000, got '0'",
            ]),
    ]

    @Test(arguments: malformed)
    func rejectsMalformedChecksWithExactDiagnostics(_ example: MalformedConfig) {
        #expect(diagnostics(of: example.text, environment: example.environment) == example.diagnostics)
    }
}
