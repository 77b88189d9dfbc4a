import Testing
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
}
