import Testing
import Glibc
@testable import FTInit

/// The command line of docs/ftinit.md, "Command line".
@Suite struct CommandTests {
    static func parse(_ arguments: [String], _ environment: [String: String] = [:]) -> Command {
        Command.parse(arguments, environment: environment)
    }

    @Test(arguments: [
        ([], Command.run(configPath: "/etc/ftinit.conf")),
        (["run"], .run(configPath: "/etc/ftinit.conf")),
        (["run", "--config", "/srv/app.conf"], .run(configPath: "/srv/app.conf")),
        (["run", "--config=/srv/app.conf"], .run(configPath: "/srv/app.conf")),
        (["run", "--config", "relative/ftinit.conf"], .run(configPath: "relative/ftinit.conf")),
        (["run", "--config", "-dash-first.conf"], .run(configPath: "-dash-first.conf")),
        (["run", "--config=a=b.conf"], .run(configPath: "a=b.conf")),
        (["check"], .check(configPath: "/etc/ftinit.conf")),
        (["check", "--config", "/srv/app.conf"], .check(configPath: "/srv/app.conf")),
        (["check", "--config=/srv/app.conf"], .check(configPath: "/srv/app.conf")),
        (["version"], .version),
        (["--version"], .version),
        (["help"], .help),
        (["-h"], .help),
        (["--help"], .help),
        (["--", "nginx"], .single(argv: ["nginx"])),
        (["--", "sh", "-c", "exit 3"], .single(argv: ["sh", "-c", "exit 3"])),
        (["--", "cmd", "--", "--config", "x"], .single(argv: ["cmd", "--", "--config", "x"])),
        (["--", "run"], .single(argv: ["run"])),
    ] as [([String], Command)])
    func parsesEverySubcommand(arguments: [String], expected: Command) {
        #expect(Self.parse(arguments) == expected)
    }

    /// The usage text advertises `ftinit [run] [--config PATH]`: `run` may be left out,
    /// as in `ENTRYPOINT ["/sbin/ftinit"]` with `CMD ["--config", "/etc/app.conf"]`.
    @Test(arguments: [
        (["--config", "/srv/app.conf"], Command.run(configPath: "/srv/app.conf")),
        (["--config=/srv/app.conf"], .run(configPath: "/srv/app.conf")),
    ] as [([String], Command)])
    func runMayBeLeftOutBeforeConfig(arguments: [String], expected: Command) {
        #expect(Self.parse(arguments) == expected)
    }

    @Test(arguments: [
        ([], Command.run(configPath: "/env/ftinit.conf")),
        (["run"], .run(configPath: "/env/ftinit.conf")),
        (["check"], .check(configPath: "/env/ftinit.conf")),
    ] as [([String], Command)])
    func ftinitConfigReplacesTheDefaultPath(arguments: [String], expected: Command) {
        #expect(Self.parse(arguments, ["FTINIT_CONFIG": "/env/ftinit.conf"]) == expected)
    }

    @Test func configOptionWinsOverFtinitConfig() {
        let environment = ["FTINIT_CONFIG": "/env/ftinit.conf"]
        #expect(Self.parse(["run", "--config", "/arg.conf"], environment) == .run(configPath: "/arg.conf"))
        #expect(Self.parse(["check", "--config=/arg.conf"], environment) == .check(configPath: "/arg.conf"))
    }

    @Test func anEmptyFtinitConfigMeansTheDefault() {
        #expect(Self.parse(["run"], ["FTINIT_CONFIG": ""]) == .run(configPath: "/etc/ftinit.conf"))
    }

    @Test func singleCommandModeIgnoresFtinitConfig() {
        #expect(Self.parse(["--", "true"], ["FTINIT_CONFIG": "/env.conf"]) == .single(argv: ["true"]))
    }

    @Test(arguments: [
        (["--"], "'--' must be followed by a command"),
        (["start"], "unknown command 'start'"),
        (["-v"], "unknown option '-v'"),
        (["--verbose"], "unknown option '--verbose'"),
        (["run", "--verbose"], "unknown option '--verbose' for run"),
        (["check", "-q"], "unknown option '-q' for check"),
        (["run", "extra"], "run takes only --config PATH"),
        (["run", "--config"], "run takes only --config PATH"),
        (["check", "--config"], "check takes only --config PATH"),
        (["run", "--config="], "run takes only --config PATH"),
        (["run", "--config", ""], "run takes only --config PATH"),
        (["run", "--config", "a", "b"], "run takes only --config PATH"),
        (["run", "--config", "a", "--config", "b"], "run takes only --config PATH"),
        (["version", "--short"], "version takes no arguments"),
    ] as [([String], String)])
    func rejectsUsageErrors(arguments: [String], message: String) {
        #expect(Self.parse(arguments) == .usageError(message))
    }

    @Test func theUsageTextNamesEverySubcommand() {
        for word in ["ftinit [run] [--config PATH]", "ftinit -- CMD", "ftinit check", "ftinit version", "ftinit help", "FTINIT_CONFIG"] {
            #expect(Command.usageText.contains(word), "usage lacks \(word)")
        }
    }

    // MARK: probe and status

    @Test(arguments: [
        (["probe"], Command.probe(socket: "/run/ftinit.sock", timeout: .seconds(1))),
        (["probe", "--socket", "/tmp/ft.sock"], .probe(socket: "/tmp/ft.sock", timeout: .seconds(1))),
        (["probe", "--timeout", "500ms"], .probe(socket: "/run/ftinit.sock", timeout: TimeSpan(milliseconds: 500))),
        (["probe", "--timeout", "1m30s", "--socket", "/s"], .probe(socket: "/s", timeout: TimeSpan(milliseconds: 90_000))),
        (["probe", "--socket", "/a", "--socket", "/b"], .probe(socket: "/b", timeout: .seconds(1))),
        (["probe", "--ready"], .probe(socket: "/run/ftinit.sock", timeout: .seconds(1), ready: true)),
        (["probe", "--timeout", "3s", "--ready"], .probe(socket: "/run/ftinit.sock", timeout: .seconds(3), ready: true)),
        (["status"], .status(socket: "/run/ftinit.sock")),
        (["status", "--socket", "/tmp/ft.sock"], .status(socket: "/tmp/ft.sock")),
        (["status", "--socket", "relative.sock"], .status(socket: "relative.sock")),
    ] as [([String], Command)])
    func parsesProbeAndStatus(arguments: [String], expected: Command) {
        #expect(Self.parse(arguments) == expected)
    }

    @Test func ftinitSocketReplacesTheDefaultSocket() {
        let environment = ["FTINIT_SOCKET": "/env/ft.sock"]
        #expect(Self.parse(["probe"], environment) == .probe(socket: "/env/ft.sock", timeout: .seconds(1)))
        #expect(Self.parse(["status"], environment) == .status(socket: "/env/ft.sock"))
        #expect(Self.parse(["probe", "--socket", "/arg.sock"], environment) == .probe(socket: "/arg.sock", timeout: .seconds(1)))
        #expect(Self.parse(["status", "--socket", "/arg.sock"], environment) == .status(socket: "/arg.sock"))
    }

    @Test func anEmptyFtinitSocketMeansTheDefault() {
        #expect(Self.parse(["probe"], ["FTINIT_SOCKET": ""]) == .probe(socket: "/run/ftinit.sock", timeout: .seconds(1)))
    }

    @Test func ftinitConfigDoesNotMoveTheSocket() {
        #expect(Self.parse(["status"], ["FTINIT_CONFIG": "/srv/app.conf"]) == .status(socket: "/run/ftinit.sock"))
    }

    @Test(arguments: [
        (["probe", "--timeout"], "--timeout needs a value"),
        (["probe", "--socket"], "--socket needs a value"),
        (["status", "--socket"], "--socket needs a value"),
        (["probe", "--timeout", "0"], "--timeout takes a duration like 500ms or 2s, got '0'"),
        (["probe", "--timeout", "0s"], "--timeout takes a duration like 500ms or 2s, got '0s'"),
        (["probe", "--timeout", "1"], "--timeout takes a duration like 500ms or 2s, got '1'"),
        (["probe", "--timeout", "1.5s"], "--timeout takes a duration like 500ms or 2s, got '1.5s'"),
        (["probe", "--timeout", ""], "--timeout takes a duration like 500ms or 2s, got ''"),
        (["status", "--timeout", "1s"], "unknown option '--timeout' for status"),
        (["probe", "--config", "/etc/ftinit.conf"], "unknown option '--config' for probe"),
        (["status", "-s", "/x"], "unknown option '-s' for status"),
        (["probe", "--verbose"], "unknown option '--verbose' for probe"),
        (["status", "--json"], "unknown option '--json' for status"),
        (["status", "extra"], "unknown option 'extra' for status"),
        (["probe", "--socket=/x"], "unknown option '--socket=/x' for probe"),
        (["probe", "--socket", ""], "--socket needs a path"),
        (["status", "--socket", ""], "--socket needs a path"),
    ] as [([String], String)])
    func rejectsProbeAndStatusUsageErrors(arguments: [String], message: String) {
        #expect(Self.parse(arguments) == .usageError(message))
    }

    // MARK: signal, restart, stop

    @Test(arguments: [
        (["signal", "web", "HUP"], Command.control(.signal(service: "web", signal: SIGHUP), socket: "/run/ftinit.sock", wait: nil)),
        (["signal", "web", "sigusr1", "--socket", "/s"], .control(.signal(service: "web", signal: SIGUSR1), socket: "/s", wait: nil)),
        (["signal", "php-fpm.8", "Term"], .control(.signal(service: "php-fpm.8", signal: SIGTERM), socket: "/run/ftinit.sock", wait: nil)),
        (["restart", "web"], .control(.restart(service: "web"), socket: "/run/ftinit.sock", wait: .seconds(60))),
        (["restart", "web", "--timeout", "5s", "--socket", "/s"], .control(.restart(service: "web"), socket: "/s", wait: .seconds(5))),
        (["stop"], .control(.stop, socket: "/run/ftinit.sock", wait: nil)),
        (["stop", "--socket", "/tmp/x.sock"], .control(.stop, socket: "/tmp/x.sock", wait: nil)),
    ] as [([String], Command)])
    func parsesControlCommands(arguments: [String], expected: Command) {
        #expect(Self.parse(arguments) == expected)
    }

    @Test(arguments: [
        (["signal"], "signal takes NAME SIGNAL"),
        (["signal", "web"], "signal takes NAME SIGNAL"),
        (["signal", "web", "HUP", "extra"], "signal takes NAME SIGNAL"),
        (["signal", "web", "HUPP"], "unknown signal 'HUPP' (use a name: HUP, USR1, TERM, ...)"),
        (["signal", "web", "1"], "unknown signal '1' (use a name: HUP, USR1, TERM, ...)"),
        (["signal", "web", "-9"], "signal takes NAME SIGNAL"),
        (["signal", "a b", "HUP"], "'a b' is not a service name"),
        (["restart"], "restart takes NAME"),
        (["restart", "web", "db"], "restart takes NAME"),
        (["restart", "web/x"], "'web/x' is not a service name"),
        (["restart", "web", "--timeout", "0s"], "--timeout takes a duration like 500ms or 2s, got '0s'"),
        (["restart", "web", "--ready"], "unknown option '--ready' for restart"),
        (["signal", "web", "HUP", "--timeout", "1s"], "unknown option '--timeout' for signal"),
        (["stop", "now"], "stop takes no arguments"),
        (["stop", "--socket"], "--socket needs a value"),
        (["stop", "--socket", ""], "--socket needs a path"),
    ] as [([String], String)])
    func rejectsControlCommandUsageErrors(arguments: [String], message: String) {
        #expect(Self.parse(arguments) == .usageError(message))
    }

    @Test func controlCommandsTakeTheSocketFromFtinitSocket() {
        #expect(Self.parse(["stop"], ["FTINIT_SOCKET": "/env.sock"]) == .control(.stop, socket: "/env.sock", wait: nil))
    }

    // MARK: cert

    static func tls(_ cert: String, _ key: String, names: [String] = [], ips: [String] = [],
                    keyType: KeyType = .ecP256, days: Int = 365, renewBefore: String = "30d") -> TLSSpec {
        var spec = TLSSpec(cert: cert, key: key, names: names, ips: ips, line: 0)
        spec.keyType = keyType
        spec.days = days
        spec.renewBefore = TimeSpan(parsing: renewBefore)!
        return spec
    }

    @Test(arguments: [
        (["cert", "--cert", "/c.pem", "--key", "/k.pem", "--name", "web"], tls("/c.pem", "/k.pem", names: ["web"])),
        (["cert", "--key", "/k.pem", "--ip", "10.0.0.1", "--cert", "/c.pem"], tls("/c.pem", "/k.pem", ips: ["10.0.0.1"])),
        (["cert", "--cert", "c.pem", "--key", "k.pem", "--name", "a", "--name", "b", "--ip", "127.0.0.1", "--ip", "::1",
          "--key-type", "rsa2048", "--days", "30"],
         tls("c.pem", "k.pem", names: ["a", "b"], ips: ["127.0.0.1", "::1"], keyType: .rsa2048, days: 30, renewBefore: "15d")),
        (["cert", "--cert", "/c", "--key", "/k", "--name", "a", "--days", "1"], tls("/c", "/k", names: ["a"], days: 1, renewBefore: "12h")),
        (["cert", "--cert", "/c", "--key", "/k", "--name", "a", "--renew-before", "7d"], tls("/c", "/k", names: ["a"], renewBefore: "7d")),
        (["cert", "--cert", "/c", "--key", "/k", "--name", "a", "--renew-before", "0"], tls("/c", "/k", names: ["a"], renewBefore: "0")),
        (["cert", "--renew-before", "1d", "--days", "2", "--cert", "/c", "--key", "/k", "--name", "a"],
         tls("/c", "/k", names: ["a"], days: 2, renewBefore: "1d")),
        (["cert", "--cert", "/c", "--key", "/k", "--name", "a", "--days", "36500"], tls("/c", "/k", names: ["a"], days: 36500)),
        (["cert", "--cert", "/c", "--key", "/k", "--name", "a", "--key-type", "ec-p256", "--key-type", "rsa4096"],
         tls("/c", "/k", names: ["a"], keyType: .rsa4096)),
    ] as [([String], TLSSpec)])
    func parsesCert(arguments: [String], expected: TLSSpec) {
        #expect(Self.parse(arguments) == .cert(expected))
    }

    @Test func certTakesTheDefaultsOfTls() throws {
        guard case .cert(let spec) = Self.parse(["cert", "--cert", "/c", "--key", "/k", "--name", "a"]) else {
            Issue.record("not a cert command"); return
        }
        #expect(spec.keyType == .ecP256)
        #expect(spec.days == 365)
        #expect(spec.renewBefore == TimeSpan(parsing: "30d"))
        #expect(spec.owner == nil)
    }

    @Test(arguments: [
        (["cert"], "cert needs --cert PATH and --key PATH"),
        (["cert", "--cert", "/c", "--name", "a"], "cert needs --cert PATH and --key PATH"),
        (["cert", "--key", "/k", "--name", "a"], "cert needs --cert PATH and --key PATH"),
        (["cert", "--cert", "", "--key", "/k", "--name", "a"], "cert needs --cert PATH and --key PATH"),
        (["cert", "--cert", "/c", "--key", "/k"], "cert needs at least one --name or --ip"),
        (["cert", "--cert", "/c", "--key", "/k", "--ip", "999.1.1.1"], "--ip: '999.1.1.1' is not an IP address"),
        (["cert", "--cert", "/c", "--key", "/k", "--ip", "localhost"], "--ip: 'localhost' is not an IP address"),
        (["cert", "--cert", "/c", "--key", "/k", "--name", "a", "--key-type", "ed25519"], "unknown key type 'ed25519'"),
        (["cert", "--cert", "/c", "--key", "/k", "--name", "a", "--days", "0"], "--days takes 1 to 36500"),
        (["cert", "--cert", "/c", "--key", "/k", "--name", "a", "--days", "36501"], "--days takes 1 to 36500"),
        (["cert", "--cert", "/c", "--key", "/k", "--name", "a", "--days", "1y"], "--days takes 1 to 36500"),
        (["cert", "--cert", "/c", "--key", "/k", "--name"], "--name needs a value"),
        (["cert", "--cert"], "--cert needs a value"),
        (["cert", "--cert", "/c", "--key", "/k", "--name", "a", "--owner", "nginx"], "unknown option '--owner' for cert"),
        (["cert", "--cert", "/c", "--key", "/k", "--name", "a", "--force"], "unknown option '--force' for cert"),
        (["cert", "--cert", "/c", "--key", "/k", "--name", "a", "--renew-before", "soon"], "--renew-before takes a duration like 30d"),
        (["cert", "--cert", "/c", "--key", "/k", "--name", "a", "--renew-before"], "--renew-before needs a value"),
        (["cert", "--cert", "/c", "--key", "/k", "--name", "a", "--days", "10", "--renew-before", "10d"],
         "days (10d) must be longer than renew-before (10d), or every boot makes a new pair"),
        (["cert", "--cert", "/c", "--key", "/k", "--name", "a", "--renew-before", "1y"], "--renew-before takes a duration like 30d"),
        (["cert", "--cert=/c", "--key", "/k", "--name", "a"], "unknown option '--cert=/c' for cert"),
    ] as [([String], String)])
    func rejectsCertUsageErrors(arguments: [String], message: String) {
        #expect(Self.parse(arguments) == .usageError(message))
    }

    @Test func theUsageTextNamesTheClientCommands() {
        for word in ["ftinit probe [--socket PATH] [--timeout DURATION]", "ftinit status [--socket PATH]", "ftinit cert --cert PATH --key PATH",
                     "ftinit signal NAME SIGNAL", "ftinit restart NAME", "ftinit stop [--socket PATH]",
                     "[--renew-before DUR]",
                     "FTINIT_SOCKET", "/run/ftinit.sock"] {
            #expect(Command.usageText.contains(word), "usage lacks \(word)")
        }
    }
}
