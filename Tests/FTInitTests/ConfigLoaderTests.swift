import Foundation
import Glibc
import Testing
@testable import FTInit

/// A config that must load, and the typed `Config` it must turn into.
struct ValidConfig: Sendable, CustomTestStringConvertible {
    let label: String
    let text: String
    var environment: [String: String] = [:]
    var stopTimeout: TimeSpan = .seconds(25)
    var logPrefix = true
    let programs: [Program]

    var testDescription: String { label }
}

/// A config that must be rejected with exactly these diagnostics, in this order.
struct MalformedConfig: Sendable, CustomTestStringConvertible {
    let label: String
    let text: String
    var environment: [String: String] = [:]
    let diagnostics: [String]

    var testDescription: String { label }
}

@Suite struct ConfigLoaderTests {
    // MARK: valid configs

    static let valid: [ValidConfig] = [
        ValidConfig(
            label: "the reference example of docs/ftinit.md (without its explanatory comments)",
            text: """
                [init]
                stop-timeout = 25s
                log-prefix = yes

                [task keys]
                run = /usr/bin/ssh-keygen -A
                timeout = 30s

                [service php]
                run = php-fpm83 --nodaemonize
                stop-signal = QUIT

                [service nginx]
                run = nginx -g 'daemon off;'
                after = php keys
                user = ${NGINX_USER:-nginx}
                env = TZ=UTC
                env = GREETING=hello world
                stop-signal = QUIT
                stop-timeout = 5s
                """,
            programs: [
                task("keys", line: 5, run: ["/usr/bin/ssh-keygen", "-A"], timeout: .seconds(30)),
                service("php", line: 9, run: ["php-fpm83", "--nodaemonize"], stopSignal: SIGQUIT),
                service("nginx", line: 13, run: ["nginx", "-g", "daemon off;"],
                        user: at("nginx", 16), env: ["TZ=UTC", "GREETING=hello world"],
                        after: [at("php", 15), at("keys", 15)], stopSignal: SIGQUIT, stopTimeout: .seconds(5)),
            ]),
        ValidConfig(
            label: "the reference example with NGINX_USER set takes the variable, not the default",
            text: """
                [service nginx]
                run = nginx
                user = ${NGINX_USER:-nginx}
                """,
            environment: ["NGINX_USER": "www-data"],
            programs: [service("nginx", line: 1, run: ["nginx"], user: at("www-data", 3))]),
        ValidConfig(label: "an empty file: nothing to run, every [init] default", text: "", programs: []),
        ValidConfig(
            label: "only comments and blank lines",
            text: "# a comment\n; another\n   # indented\n\t; tabbed\n\n   \n",
            programs: []),
        ValidConfig(
            label: "a service with only run gets every default",
            text: "[service web]\nrun = /usr/bin/web",
            programs: [service("web", line: 1, run: ["/usr/bin/web"])]),
        ValidConfig(
            label: "a task with only run has no time limit",
            text: "[task migrate]\nrun = migrate up",
            programs: [task("migrate", line: 1, run: ["migrate", "up"])]),
        ValidConfig(
            label: "task timeout 0 (or 0s) means no limit",
            text: "[task a]\nrun = a\ntimeout = 0\n[task b]\nrun = b\ntimeout = 0s\n[task c]\nrun = c\ntimeout = 1m30s",
            programs: [
                task("a", line: 1, run: ["a"]),
                task("b", line: 4, run: ["b"]),
                task("c", line: 7, run: ["c"], timeout: TimeSpan(milliseconds: 90_000)),
            ]),
        ValidConfig(
            label: "[init] settings",
            text: "[init]\nstop-timeout = 1m500ms\nlog-prefix = no",
            stopTimeout: TimeSpan(milliseconds: 60_500), logPrefix: false,
            programs: []),
        ValidConfig(
            label: "[init] may come after the programs",
            text: "[service web]\nrun = web\n[init]\nlog-prefix = no",
            logPrefix: false,
            programs: [service("web", line: 1, run: ["web"])]),
        ValidConfig(
            label: "spaces and tabs around section words, keys and values are trimmed",
            text: "  [  service \t web  ]  \n\t run\t=\t /bin/web   --port  80 \t\n   stop-timeout   =   2s   ",
            programs: [service("web", line: 1, run: ["/bin/web", "--port", "80"], stopTimeout: .seconds(2))]),
        ValidConfig(
            label: "every stop-signal spelling: with or without SIG, any case",
            text: """
                [service a]
                run = a
                stop-signal = SIGHUP
                [service b]
                run = b
                stop-signal = int
                [service c]
                run = c
                stop-signal = SigUsr1
                [service d]
                run = d
                stop-signal = KILL
                """,
            programs: [
                service("a", line: 1, run: ["a"], stopSignal: SIGHUP),
                service("b", line: 4, run: ["b"], stopSignal: SIGINT),
                service("c", line: 7, run: ["c"], stopSignal: SIGUSR1),
                service("d", line: 10, run: ["d"], stopSignal: SIGKILL),
            ]),
        ValidConfig(
            label: "user, dir and env, each with the line it came from",
            text: """
                [task setup]
                run = setup
                user = 0:0
                dir = /var/lib/app
                env = A=1
                env = B=
                env = OPTS=--x=1 --y=2
                """,
            programs: [
                task("setup", line: 1, run: ["setup"], user: at("0:0", 3), dir: at("/var/lib/app", 4),
                     env: ["A=1", "B=", "OPTS=--x=1 --y=2"]),
            ]),
        ValidConfig(
            label: "${VAR} and ${VAR:-default} expand in run, env, dir and user",
            text: """
                [service app]
                run = app --listen ${PORT:-8080} --db ${DB_HOST}:5432
                user = ${APP_USER}
                dir = ${APP_HOME:-/srv/app}/current
                env = DATABASE_URL=postgres://${DB_HOST}/app
                env = ${MODE_KEY:-MODE}=production
                """,
            environment: ["DB_HOST": "db.local", "APP_USER": "app:app"],
            programs: [
                service("app", line: 1, run: ["app", "--listen", "8080", "--db", "db.local:5432"],
                        user: at("app:app", 3), dir: at("/srv/app/current", 4),
                        env: ["DATABASE_URL=postgres://db.local/app", "MODE=production"]),
            ]),
        ValidConfig(
            label: "a substituted value full of spaces and quotes stays one argument",
            text: "[service db]\nrun = db --password ${PASSWORD} --user=${DB_USER:-admin user}",
            environment: ["PASSWORD": #"it's "a secret" \ $HOME"#],
            programs: [
                service("db", line: 1, run: ["db", "--password", #"it's "a secret" \ $HOME"#, "--user=admin user"]),
            ]),
        ValidConfig(
            label: "$$ is a literal $ and $HOME reaches the shell unchanged",
            text: "[service sh]\nrun = sh -c 'echo $HOME costs $$5'\nenv = PRICE=$$5 $USER",
            programs: [service("sh", line: 1, run: ["sh", "-c", "echo $HOME costs $5"], env: ["PRICE=$5 $USER"])]),
        ValidConfig(
            label: "a # or ; inside a value is part of the value (no end-of-line comments)",
            text: "[service web]\nrun = echo #1 ;2\nenv = COLOR=#fff",
            programs: [service("web", line: 1, run: ["echo", "#1", ";2"], env: ["COLOR=#fff"])]),
        ValidConfig(
            label: "CRLF line endings",
            text: "[init]\r\nlog-prefix = no\r\n\r\n# comment\r\n[service web]\r\nrun = web --port 80\r\nenv = A=b\r\nafter = db\r\n[service db]\r\nrun = db\r\n",
            logPrefix: false,
            programs: [
                service("web", line: 5, run: ["web", "--port", "80"], env: ["A=b"], after: [at("db", 8)]),
                service("db", line: 9, run: ["db"]),
            ]),
        ValidConfig(
            label: "programs keep file order and after may name a later one, separated by spaces or tabs",
            text: """
                [service web]
                run = web
                after = api \t  cache
                [service api]
                run = api
                [task cache]
                run = warm-cache
                """,
            programs: [
                service("web", line: 1, run: ["web"], after: [at("api", 3), at("cache", 3)]),
                service("api", line: 4, run: ["api"]),
                task("cache", line: 6, run: ["warm-cache"]),
            ]),
        ValidConfig(
            label: "names of letters, digits, '_', '.' and '-'",
            text: "[service My_app-2.0]\nrun = a\n[task 42]\nrun = b\nafter = My_app-2.0",
            programs: [
                service("My_app-2.0", line: 1, run: ["a"]),
                task("42", line: 3, run: ["b"], after: [at("My_app-2.0", 5)]),
            ]),
        ValidConfig(
            label: "a file without a final newline, and one with several",
            text: "[service web]\nrun = web\n\n\n\n",
            programs: [service("web", line: 1, run: ["web"])]),
    ]

    @Test(arguments: valid)
    func loadsValidConfigIntoTypedConfig(_ example: ValidConfig) throws {
        let result = ConfigLoader.load(text: example.text, file: "/etc/ftinit.conf", environment: example.environment)
        let config = try #require(try? result.get(), "diagnostics: \(diagnostics(of: example.text, environment: example.environment))")
        #expect(config.path == "/etc/ftinit.conf")
        #expect(config.stopTimeout == example.stopTimeout)
        #expect(config.logPrefix == example.logPrefix)
        #expect(config.programs.map(\.name) == example.programs.map(\.name))
        for (loaded, expected) in zip(config.programs, example.programs) {
            #expect(loaded == expected)
        }
    }

    @Test(arguments: [("yes", true), ("true", true), ("on", true), ("no", false), ("false", false), ("off", false)])
    func logPrefixAcceptsBooleanWords(word: String, expected: Bool) throws {
        let config = try ConfigLoader.load(text: "[init]\nlog-prefix = \(word)", file: "f", environment: [:]).get()
        #expect(config.logPrefix == expected)
    }

    @Test func servicesAndTasksAreSplitByKindInFileOrder() throws {
        let text = "[task a]\nrun = a\n[service b]\nrun = b\n[task c]\nrun = c\n[service d]\nrun = d"
        let config = try ConfigLoader.load(text: text, file: "f", environment: [:]).get()
        #expect(config.services.map(\.name) == ["b", "d"])
        #expect(config.tasks.map(\.name) == ["a", "c"])
        #expect(config.programs.map(\.logSubject) == ["task=a", "service=b", "task=c", "service=d"])
    }

    @Test func variablesComeOnlyFromTheGivenEnvironment() {
        // The loader must not read the process environment: PATH is set for the test run.
        #expect(diagnostics(of: "[service a]\nrun = ${PATH}", environment: [:])
                == ["/etc/ftinit.conf:2: run: undefined variable ${PATH} (set it, or write ${PATH:-default})"])
    }

    // MARK: malformed configs

    static let malformed: [MalformedConfig] = [
        // durations past 36500d: deadlines made from them would overflow the clock (issue 14)
        MalformedConfig(
            label: "a duration longer than the longest ftinit takes",
            text: "[init]\nstop-timeout = 36501d\n[service web]\nrun = web\ncheck-interval = 999999999d999999999d\nstart-period = 36500d\ncheck = tcp 127.0.0.1:80",
            diagnostics: [
                "/etc/ftinit.conf:2: duration '36501d' for stop-timeout is longer than 36500d, the longest ftinit takes",
                "/etc/ftinit.conf:5: duration '999999999d999999999d' for check-interval is longer than 36500d, the longest ftinit takes",
            ]),
        // syntax
        MalformedConfig(
            label: "a line that is neither a section nor key = value",
            text: "[service web]\nrun = web\nrestart always",
            diagnostics: ["/etc/ftinit.conf:3: expected 'key = value' or '[section]', got 'restart always'"]),
        MalformedConfig(
            label: "a section header without its ']' (the keys after it are outside any section)",
            text: "[service web\nrun = web",
            diagnostics: [
                "/etc/ftinit.conf:1: section header must end with ']'",
                "/etc/ftinit.conf:2: key 'run' outside of any section",
            ]),
        MalformedConfig(
            label: "an end-of-line comment after a section header",
            text: "[service web] # the front end\nrun = web",
            diagnostics: [
                "/etc/ftinit.conf:1: section header must end with ']'",
                "/etc/ftinit.conf:2: key 'run' outside of any section",
            ]),
        MalformedConfig(
            label: "an empty section header",
            text: "[init]\n[ \t ]",
            diagnostics: ["/etc/ftinit.conf:2: empty section header"]),
        MalformedConfig(
            label: "'=' without a key",
            text: "[service web]\nrun = web\n = value",
            diagnostics: ["/etc/ftinit.conf:3: missing key before '='"]),
        MalformedConfig(
            label: "a key before any section",
            text: "# header\nlog-prefix = no\n[init]",
            diagnostics: ["/etc/ftinit.conf:2: key 'log-prefix' outside of any section"]),
        // sections
        MalformedConfig(
            label: "an unknown section",
            text: "[program web]\nrun = web",
            diagnostics: ["/etc/ftinit.conf:1: unknown section [program] (expected init, service, task, tls, template or metrics)"]),
        MalformedConfig(
            label: "a duplicate service section",
            text: "[service web]\nrun = a\n\n[service web]\nrun = b",
            diagnostics: ["/etc/ftinit.conf:4: duplicate section [service web] (first defined on line 1)"]),
        MalformedConfig(
            label: "a duplicate [init] section",
            text: "[init]\nlog-prefix = no\n[init]\nstop-timeout = 5s",
            diagnostics: ["/etc/ftinit.conf:3: duplicate section [init] (first defined on line 1)"]),
        MalformedConfig(
            label: "[service] without a name",
            text: "[service]\nrun = web",
            diagnostics: ["/etc/ftinit.conf:1: [service] needs a name: [service NAME]"]),
        MalformedConfig(
            label: "[task] without a name",
            text: "[task]\nrun = job",
            diagnostics: ["/etc/ftinit.conf:1: [task] needs a name: [task NAME]"]),
        MalformedConfig(
            label: "[init] with a name",
            text: "[init main]\nlog-prefix = no",
            diagnostics: ["/etc/ftinit.conf:1: [init] takes no name"]),
        MalformedConfig(
            label: "a name with a space",
            text: "[service web server]\nrun = web",
            diagnostics: ["/etc/ftinit.conf:1: bad service name 'web server' (use letters, digits, '_', '.', '-')"]),
        MalformedConfig(
            label: "a name with a slash",
            text: "[task db/migrate]\nrun = migrate",
            diagnostics: ["/etc/ftinit.conf:1: bad task name 'db/migrate' (use letters, digits, '_', '.', '-')"]),
        MalformedConfig(
            label: "a name with a non-ASCII letter",
            text: "[service café]\nrun = cafe",
            diagnostics: ["/etc/ftinit.conf:1: bad service name 'café' (use letters, digits, '_', '.', '-')"]),
        // keys
        MalformedConfig(
            label: "an unknown key in a service",
            text: "[service web]\nrun = web\nrestart = always",
            diagnostics: ["/etc/ftinit.conf:3: unknown key 'restart' in [service web] (expected run, user, dir, env, env-clear, env-pass, after, stop-signal, stop-timeout, check, check-interval, check-start-interval, check-timeout, check-retries, start-period)"]),
        MalformedConfig(
            label: "keys are case-sensitive",
            text: "[service web]\nRun = web",
            diagnostics: [
                "/etc/ftinit.conf:1: [service web] has no 'run' key",
                "/etc/ftinit.conf:2: unknown key 'Run' in [service web] (expected run, user, dir, env, env-clear, env-pass, after, stop-signal, stop-timeout, check, check-interval, check-start-interval, check-timeout, check-retries, start-period)",
            ]),
        MalformedConfig(
            label: "stop-signal belongs to services, not tasks",
            text: "[task keys]\nrun = keygen\nstop-signal = TERM",
            diagnostics: ["/etc/ftinit.conf:3: unknown key 'stop-signal' in [task keys] (expected run, user, dir, env, env-clear, env-pass, after, timeout)"]),
        MalformedConfig(
            label: "timeout belongs to tasks, not services",
            text: "[service web]\nrun = web\ntimeout = 5s",
            diagnostics: ["/etc/ftinit.conf:3: unknown key 'timeout' in [service web] (expected run, user, dir, env, env-clear, env-pass, after, stop-signal, stop-timeout, check, check-interval, check-start-interval, check-timeout, check-retries, start-period)"]),
        MalformedConfig(
            label: "an unknown key in [init]",
            text: "[init]\nrun = everything",
            diagnostics: ["/etc/ftinit.conf:2: unknown key 'run' in [init] (expected stop-timeout, log-prefix, socket)"]),
        MalformedConfig(
            label: "a duplicate key",
            text: "[service web]\nrun = a\nuser = root\nrun = b",
            diagnostics: ["/etc/ftinit.conf:4: duplicate key 'run' (first set on line 2)"]),
        MalformedConfig(
            label: "a duplicate after (only env repeats)",
            text: "[service a]\nrun = a\n[service b]\nrun = b\n[service web]\nrun = web\nafter = a\nafter = b",
            diagnostics: ["/etc/ftinit.conf:8: duplicate key 'after' (first set on line 7)"]),
        MalformedConfig(
            label: "a duplicate key in [init], reported once per repetition",
            text: "[init]\nlog-prefix = no\nlog-prefix = no\nlog-prefix = yes",
            diagnostics: [
                "/etc/ftinit.conf:3: duplicate key 'log-prefix' (first set on line 2)",
                "/etc/ftinit.conf:4: duplicate key 'log-prefix' (first set on line 2)",
            ]),
        // run
        MalformedConfig(
            label: "a service without run",
            text: "[service web]\nuser = root\ndir = /",
            diagnostics: ["/etc/ftinit.conf:1: [service web] has no 'run' key"]),
        MalformedConfig(
            label: "a task without run",
            text: "# setup\n[task setup]\ntimeout = 5s",
            diagnostics: ["/etc/ftinit.conf:2: [task setup] has no 'run' key"]),
        MalformedConfig(
            label: "an empty run",
            text: "[service web]\nrun =",
            diagnostics: ["/etc/ftinit.conf:2: run is empty"]),
        MalformedConfig(
            label: "a run of blanks only",
            text: "[service web]\nrun = \t  ",
            diagnostics: ["/etc/ftinit.conf:2: run is empty"]),
        MalformedConfig(
            label: "an unterminated single quote",
            text: "[service web]\nrun = nginx -g 'daemon off;",
            diagnostics: ["/etc/ftinit.conf:2: run: unterminated ' quote"]),
        MalformedConfig(
            label: "an unterminated double quote",
            text: "[service web]\nrun = echo \"hello",
            diagnostics: [#"/etc/ftinit.conf:2: run: unterminated " quote"#]),
        MalformedConfig(
            label: "a double quote closed only by an escaped quote",
            text: #"[service web]"# + "\n" + #"run = echo "hello\""#,
            diagnostics: [#"/etc/ftinit.conf:2: run: unterminated " quote"#]),
        MalformedConfig(
            label: "a trailing backslash",
            text: "[service web]\nrun = echo \\",
            diagnostics: ["/etc/ftinit.conf:2: run: trailing backslash"]),
        // durations, signals, booleans
        MalformedConfig(
            label: "a duration without a unit",
            text: "[service web]\nrun = web\nstop-timeout = 10",
            diagnostics: ["/etc/ftinit.conf:3: bad duration '10' for stop-timeout (expected e.g. 500ms, 10s, 1m30s)"]),
        MalformedConfig(
            label: "a fractional task timeout",
            text: "[task t]\nrun = t\ntimeout = 1.5s",
            diagnostics: ["/etc/ftinit.conf:3: bad duration '1.5s' for timeout (expected e.g. 500ms, 10s, 1m30s)"]),
        MalformedConfig(
            label: "an [init] stop-timeout with a blank before the unit",
            text: "[init]\nstop-timeout = 25 s",
            diagnostics: ["/etc/ftinit.conf:2: bad duration '25 s' for stop-timeout (expected e.g. 500ms, 10s, 1m30s)"]),
        MalformedConfig(
            label: "an end-of-line comment is part of the value",
            text: "[init]\nstop-timeout = 25s # fits Kubernetes",
            diagnostics: ["/etc/ftinit.conf:2: bad duration '25s # fits Kubernetes' for stop-timeout (expected e.g. 500ms, 10s, 1m30s)"]),
        MalformedConfig(
            label: "an unknown signal name",
            text: "[service web]\nrun = web\nstop-signal = TERMINATE",
            diagnostics: ["/etc/ftinit.conf:3: unknown signal 'TERMINATE' (expected a name like TERM, QUIT, INT, HUP)"]),
        MalformedConfig(
            label: "a signal number instead of a name",
            text: "[service web]\nrun = web\nstop-signal = 15",
            diagnostics: ["/etc/ftinit.conf:3: unknown signal '15' (expected a name like TERM, QUIT, INT, HUP)"]),
        MalformedConfig(
            label: "a log-prefix that is not a boolean",
            text: "[init]\nlog-prefix = maybe",
            diagnostics: ["/etc/ftinit.conf:2: log-prefix must be yes or no, got 'maybe'"]),
        MalformedConfig(
            label: "an empty log-prefix",
            text: "[init]\nlog-prefix =",
            diagnostics: ["/etc/ftinit.conf:2: log-prefix must be yes or no, got ''"]),
        // after and cycles
        MalformedConfig(
            label: "after naming something undefined",
            text: "[service web]\nrun = web\nafter = db",
            diagnostics: ["/etc/ftinit.conf:3: after names 'db', which is not a defined service or task"]),
        MalformedConfig(
            label: "after naming a section that was rejected for its bad name",
            text: "[service a!]\nrun = a\n[service web]\nrun = web\nafter = a!",
            diagnostics: [
                "/etc/ftinit.conf:1: bad service name 'a!' (use letters, digits, '_', '.', '-')",
                "/etc/ftinit.conf:5: after names 'a!', which is not a defined service or task",
            ]),
        MalformedConfig(
            label: "after naming the program itself",
            text: "[service web]\nrun = web\nafter = web",
            diagnostics: ["/etc/ftinit.conf:3: web cannot come after itself"]),
        MalformedConfig(
            label: "a two-program cycle, named on the line of the after that closes it first",
            text: "[service a]\nrun = a\nafter = b\n\n[service b]\nrun = b\nafter = a",
            diagnostics: ["/etc/ftinit.conf:3: dependency cycle: a -> b -> a"]),
        MalformedConfig(
            label: "a three-program cycle",
            text: "[service a]\nrun = a\nafter = c\n[task b]\nrun = b\nafter = a\n[service c]\nrun = c\nafter = b",
            diagnostics: ["/etc/ftinit.conf:3: dependency cycle: a -> c -> b -> a"]),
        MalformedConfig(
            label: "a cycle reached through a program outside it names only the cycle",
            text: "[service web]\nrun = web\nafter = a\n[service a]\nrun = a\nafter = x b\n[service b]\nrun = b\nafter = a\n[service x]\nrun = x",
            diagnostics: ["/etc/ftinit.conf:6: dependency cycle: a -> b -> a"]),
        MalformedConfig(
            label: "an undefined after does not hide a cycle elsewhere (every error is reported)",
            text: "[service web]\nrun = web\nafter = ghost\n[service a]\nrun = a\nafter = b\n[service b]\nrun = b\nafter = a",
            diagnostics: [
                "/etc/ftinit.conf:3: after names 'ghost', which is not a defined service or task",
                "/etc/ftinit.conf:6: dependency cycle: a -> b -> a",
            ]),
        // variables
        MalformedConfig(
            label: "an undefined variable in run",
            text: "[service web]\nrun = web --token ${TOKEN}",
            diagnostics: ["/etc/ftinit.conf:2: run: undefined variable ${TOKEN} (set it, or write ${TOKEN:-default})"]),
        MalformedConfig(
            label: "undefined variables in user, dir and env, each on its line",
            text: "[service web]\nrun = web\nuser = ${WEB_USER}\ndir = ${WEB_DIR}\nenv = KEY=${SECRET}",
            diagnostics: [
                "/etc/ftinit.conf:3: user: undefined variable ${WEB_USER} (set it, or write ${WEB_USER:-default})",
                "/etc/ftinit.conf:4: dir: undefined variable ${WEB_DIR} (set it, or write ${WEB_DIR:-default})",
                "/etc/ftinit.conf:5: env: undefined variable ${SECRET} (set it, or write ${SECRET:-default})",
            ]),
        MalformedConfig(
            label: "an unterminated ${",
            text: "[service web]\nrun = web ${PORT",
            environment: ["PORT": "80"],
            diagnostics: ["/etc/ftinit.conf:2: run: unterminated ${ (missing })"]),
        MalformedConfig(
            label: "a bad variable name",
            text: "[service web]\nrun = web\ndir = ${1DIR}",
            diagnostics: ["/etc/ftinit.conf:3: dir: bad variable reference ${1DIR}"]),
        // env
        MalformedConfig(
            label: "an env entry without '='",
            text: "[service web]\nrun = web\nenv = DEBUG",
            diagnostics: ["/etc/ftinit.conf:3: env must be KEY=VALUE with KEY a variable name, got 'DEBUG'"]),
        MalformedConfig(
            label: "an env entry whose key is not a variable name",
            text: "[service web]\nrun = web\nenv = 1X=a\nenv = =a\nenv = MY VAR=a",
            diagnostics: [
                "/etc/ftinit.conf:3: env must be KEY=VALUE with KEY a variable name, got '1X=a'",
                "/etc/ftinit.conf:4: env must be KEY=VALUE with KEY a variable name, got '=a'",
                "/etc/ftinit.conf:5: env must be KEY=VALUE with KEY a variable name, got 'MY VAR=a'",
            ]),
        // line endings and comments
        MalformedConfig(
            label: "CRLF line endings: lines are counted right and no CR leaks into messages",
            text: "[service web]\r\nrun = a\r\nrestart = no\r\nrun = b\r\n[oops]\r\n",
            diagnostics: [
                "/etc/ftinit.conf:3: unknown key 'restart' in [service web] (expected run, user, dir, env, env-clear, env-pass, after, stop-signal, stop-timeout, check, check-interval, check-start-interval, check-timeout, check-retries, start-period)",
                "/etc/ftinit.conf:4: duplicate key 'run' (first set on line 2)",
                "/etc/ftinit.conf:5: unknown section [oops] (expected init, service, task, tls, template or metrics)",
            ]),
        MalformedConfig(
            label: "comment and blank lines count in line numbers",
            text: "# web\n; front end\n\n   # indented\n[service web]\nrun = a\nrun = b",
            diagnostics: ["/etc/ftinit.conf:7: duplicate key 'run' (first set on line 6)"]),
        // everything at once
        MalformedConfig(
            label: "every error of a file is reported, in line order",
            text: """
                [init]
                stop-timeout = forever
                log-prefix = sometimes
                [service web]
                run = web 'unclosed
                stop-signal = NOPE
                after = ghost
                oops
                [service web]
                run = dup
                [task]
                run = x
                [task job]
                timeout = 1x
                [weird]
                """,
            diagnostics: [
                "/etc/ftinit.conf:2: bad duration 'forever' for stop-timeout (expected e.g. 500ms, 10s, 1m30s)",
                "/etc/ftinit.conf:3: log-prefix must be yes or no, got 'sometimes'",
                "/etc/ftinit.conf:5: run: unterminated ' quote",
                "/etc/ftinit.conf:6: unknown signal 'NOPE' (expected a name like TERM, QUIT, INT, HUP)",
                "/etc/ftinit.conf:7: after names 'ghost', which is not a defined service or task",
                "/etc/ftinit.conf:8: expected 'key = value' or '[section]', got 'oops'",
                "/etc/ftinit.conf:9: duplicate section [service web] (first defined on line 4)",
                "/etc/ftinit.conf:11: [task] needs a name: [task NAME]",
                "/etc/ftinit.conf:13: [task job] has no 'run' key",
                "/etc/ftinit.conf:14: bad duration '1x' for timeout (expected e.g. 500ms, 10s, 1m30s)",
                "/etc/ftinit.conf:15: unknown section [weird] (expected init, service, task, tls, template or metrics)",
            ]),
    ]

    @Test(arguments: malformed)
    func rejectsMalformedConfigWithExactDiagnostics(_ example: MalformedConfig) {
        #expect(diagnostics(of: example.text, environment: example.environment) == example.diagnostics)
    }

    @Test func diagnosticsNameTheFileAsGiven() {
        #expect(diagnostics(of: "[service]\nrun = x", file: "images/web/ftinit.conf")
                == ["images/web/ftinit.conf:1: [service] needs a name: [service NAME]"])
    }

    @Test func diagnosticsCarryFileLineAndMessageSeparately() throws {
        let result = ConfigLoader.load(text: "[init]\nlog-prefix = 1", file: "f.conf", environment: [:])
        guard case .failure(let errors) = result else { Issue.record("loaded a bad config"); return }
        #expect(errors.diagnostics == [Diagnostic(file: "f.conf", line: 2, message: "log-prefix must be yes or no, got '1'")])
    }

    @Test func loadConfigReadsTheFileAtPath() throws {
        let path = NSTemporaryDirectory() + "ftinit-\(UUID().uuidString).conf"
        try "[service web]\nrun = web ${PORT:-80}\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try loadConfig(path: path, environment: ["PORT": "8080"]).get()
        #expect(config.path == path)
        #expect(config.programs == [service("web", line: 1, run: ["web", "8080"])])
    }

    @Test func anUnreadableConfigIsOneDiagnosticWithoutALine() {
        let result = loadConfig(path: "/nonexistent/ftinit.conf", environment: [:])
        guard case .failure(let errors) = result else { Issue.record("loaded a missing file"); return }
        #expect(errors.diagnostics.map(\.description) == ["/nonexistent/ftinit.conf: cannot read: \(errorString(ENOENT))"])
    }

    /// `after = NAME` must designate one program, and log lines, `after` and start order all
    /// go by name: a service and a task may not share one.
    @Test func rejectsAServiceAndATaskSharingAName() {
        let found = diagnostics(of: "[service web]\nrun = web\n\n[task web]\nrun = setup")
        #expect(found == ["/etc/ftinit.conf:4: name 'web' is already used by [service web] on line 1"])
    }

    // MARK: [init] socket

    @Test(arguments: [
        ("", "/run/ftinit.sock"),
        ("[init]\nsocket = /run/ftinit/control.sock", "/run/ftinit/control.sock"),
        ("[init]\nsocket = ${RUN_DIR:-/var/run}/ftinit.sock", "/var/run/ftinit.sock"),
    ])
    func socketIsTheControlSocketPath(text: String, expected: String) throws {
        let config = try ConfigLoader.load(text: text, file: "f", environment: [:]).get()
        #expect(config.socketPath == expected)
    }

    @Test func theDefaultSocketIsTheDocumentedOne() {
        #expect(Config.defaultSocketPath == "/run/ftinit.sock")
    }

    @Test(arguments: [
        ("[init]\nsocket =", ["/etc/ftinit.conf:2: socket is empty"]),
        ("[init]\nsocket = ${SOCKET}", ["/etc/ftinit.conf:2: socket: undefined variable ${SOCKET} (set it, or write ${SOCKET:-default})"]),
        ("[init]\nsocket = /a.sock\nsocket = /b.sock", ["/etc/ftinit.conf:3: duplicate key 'socket' (first set on line 2)"]),
    ])
    func rejectsABadSocket(text: String, expected: [String]) {
        #expect(diagnostics(of: text) == expected)
    }
}
