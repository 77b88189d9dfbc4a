/// What the command line asks for. Parsing is pure so it can be tested without running.
public enum Command: Equatable, Sendable {
    case run(configPath: String)
    case single(argv: [String])
    case check(configPath: String)
    case cert(TLSSpec)
    case probe(socket: String, timeout: TimeSpan, ready: Bool = false)
    case status(socket: String)
    /// `signal`, `restart`, `stop`: one command over the control socket; a restart then waits
    /// up to `wait` for what it restarted to be ready again.
    case control(ControlRequest, socket: String, wait: TimeSpan?)
    case version
    case help
    /// A usage error: the message, then usage on stderr, exit 64.
    case usageError(String)

    public static let defaultConfigPath = "/etc/ftinit.conf"

    /// `arguments` excludes the program name; `environment` supplies FTINIT_CONFIG.
    public static func parse(_ arguments: [String], environment: [String: String]) -> Command {
        let defaultPath = environment["FTINIT_CONFIG"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultConfigPath
        guard let first = arguments.first else { return .run(configPath: defaultPath) }
        let rest = Array(arguments.dropFirst())
        switch first {
        case _ where first.hasPrefix("--config"):  // `ftinit --config PATH`: run is implied
            return configOption(arguments, default: defaultPath).map(Command.run) ?? usage(arguments, of: "run")
        case "--":
            return rest.isEmpty ? .usageError("'--' must be followed by a command") : .single(argv: rest)
        case "run":
            return configOption(rest, default: defaultPath).map(Command.run) ?? usage(rest, of: "run")
        case "check":
            return configOption(rest, default: defaultPath).map(Command.check) ?? usage(rest, of: "check")
        case "cert":
            return parseCert(rest)
        case "probe", "status":
            return parseClient(first, rest, socket: ControlClient.defaultSocket(environment))
        case "signal", "restart", "stop":
            return parseControl(first, rest, socket: ControlClient.defaultSocket(environment))
        case "version", "--version":
            return rest.isEmpty ? .version : .usageError("version takes no arguments")
        case "help", "-h", "--help":
            return .help
        default:
            return .usageError(first.hasPrefix("-") ? "unknown option '\(first)'" : "unknown command '\(first)'")
        }
    }

    /// `[--config PATH | --config=PATH]`, or nil when the arguments are anything else.
    static func configOption(_ arguments: [String], default path: String) -> String? {
        switch arguments.count {
        case 0:
            return path
        case 1 where arguments[0].hasPrefix("--config="):
            let value = String(arguments[0].dropFirst("--config=".count))
            return value.isEmpty ? nil : value
        case 2 where arguments[0] == "--config" && !arguments[1].isEmpty:
            return arguments[1]
        default:
            return nil
        }
    }

    static func usage(_ arguments: [String], of command: String) -> Command {
        if let option = arguments.first(where: { $0.hasPrefix("-") && $0 != "--config" && !$0.hasPrefix("--config=") }) {
            return .usageError("unknown option '\(option)' for \(command)")
        }
        return .usageError("\(command) takes only --config PATH")
    }

    public static let usageText = """
        usage: ftinit [run] [--config PATH]   supervise the services of PATH (default \(defaultConfigPath),
                                              or $FTINIT_CONFIG); the container's PID 1
               ftinit -- CMD [ARGS...]        run one command as PID 1: forward signals, reap zombies,
                                              exit with its status (like tini)
               ftinit check [--config PATH]   validate the config; print PATH:LINE: message per error
               ftinit cert --cert PATH --key PATH [--name DNS]... [--ip ADDR]...
                           [--key-type ec-p256|rsa2048|rsa3072|rsa4096] [--days N] [--renew-before DUR]
                                              make (or keep, if still fit) a self-signed TLS pair
               ftinit probe [--socket PATH] [--timeout DURATION] [--ready]
                                              liveness probe: exit 0 when every service is fine;
                                              with --ready, readiness: every task done, every
                                              service running and healthy (if it has a check)
                                              (socket default $FTINIT_SOCKET or /run/ftinit.sock,
                                              timeout default 1s); never forks
               ftinit status [--socket PATH]  table of services, pids, health and checks
               ftinit signal NAME SIGNAL [--socket PATH]
                                              send SIGNAL (HUP, USR1, ...) to service NAME's main process
               ftinit restart NAME [--socket PATH] [--timeout DURATION]
                                              stop NAME and what comes after it, start them again;
                                              wait until they are ready (timeout default 60s)
               ftinit stop [--socket PATH]    stop everything and exit, as SIGTERM to PID 1 does
               ftinit version                 print the version
               ftinit help                    print this help

        exit codes: a dead service's code or 128+signal; 64 usage error; 78 invalid config;
                    signal/restart/stop: 1 refused, 69 ftinit unreachable, 77 not allowed.
        reference: docs/ftinit.md
        """

    /// `ftinit cert` options, validated like the `[tls]` section.
    static func parseCert(_ arguments: [String]) -> Command {
        var spec = TLSSpec(cert: "", key: "", names: [], ips: [], line: 0)
        var explicitRenewal = false
        var i = 0
        while i < arguments.count {
            let option = arguments[i]
            let known = ["--cert", "--key", "--name", "--ip", "--key-type", "--days", "--renew-before"]
            guard known.contains(option) else { return .usageError("unknown option '\(option)' for cert") }
            guard i + 1 < arguments.count else { return .usageError("\(option) needs a value") }
            let value = arguments[i + 1]
            i += 2
            switch option {
            case "--cert": spec.cert = value
            case "--key": spec.key = value
            case "--name": spec.names.append(value)
            case "--ip":
                guard isIPAddress(value) else { return .usageError("--ip: '\(value)' is not an IP address") }
                spec.ips.append(value)
            case "--key-type":
                guard let type = KeyType(rawValue: value) else { return .usageError("unknown key type '\(value)'") }
                spec.keyType = type
            case "--days":
                guard let days = Int(value), (1...36500).contains(days) else { return .usageError("--days takes 1 to 36500") }
                spec.days = days
            case "--renew-before":
                guard let span = TimeSpan(parsing: value) else { return .usageError("--renew-before takes a duration like 30d") }
                spec.renewBefore = span
                explicitRenewal = true
            default:
                break  // not reached: `known` was checked above
            }
        }
        if spec.cert.isEmpty || spec.key.isEmpty { return .usageError("cert needs --cert PATH and --key PATH") }
        if spec.names.isEmpty && spec.ips.isEmpty { return .usageError("cert needs at least one --name or --ip") }
        if !explicitRenewal {
            spec.renewBefore = TLSSpec.defaultRenewBefore(days: spec.days)
        } else if let problem = spec.renewalProblem {
            return .usageError(problem)
        }
        return .cert(spec)
    }

    /// `signal NAME SIGNAL`, `restart NAME [--timeout DURATION]`, `stop`, each with
    /// `[--socket PATH]`: the words first, then the options.
    static func parseControl(_ command: String, _ arguments: [String], socket defaultSocket: String) -> Command {
        let words = Array(arguments.prefix { !$0.hasPrefix("-") })
        let expected = ["signal": ["NAME", "SIGNAL"], "restart": ["NAME"], "stop": []][command] ?? []
        guard words.count == expected.count else {
            return .usageError("\(command) takes \(expected.isEmpty ? "no arguments" : expected.joined(separator: " "))")
        }
        if let name = words.first, !ConfigLoader.isValidName(name) { return .usageError("'\(name)' is not a service name") }
        let options: ClientOptions
        switch ClientOptions.parse(arguments.dropFirst(words.count), of: command,
                                   known: command == "restart" ? ["--socket", "--timeout"] : ["--socket"]) {
        case .success(let parsed): options = parsed
        case .failure(let usage): return .usageError(usage.message)
        }
        let socket = options.socket ?? defaultSocket
        switch command {
        case "signal":
            guard let number = SignalName.number(for: words[1]) else {
                return .usageError("unknown signal '\(words[1])' (use a name: HUP, USR1, TERM, ...)")
            }
            return .control(.signal(service: words[0], signal: number), socket: socket, wait: nil)
        case "restart":
            return .control(.restart(service: words[0]), socket: socket, wait: options.timeout ?? .seconds(60))
        default:
            return .control(.stop, socket: socket, wait: nil)
        }
    }

    /// `probe [--socket PATH] [--timeout DURATION] [--ready]`, `status [--socket PATH]`.
    static func parseClient(_ command: String, _ arguments: [String], socket defaultSocket: String) -> Command {
        let known = command == "probe" ? ["--socket", "--timeout", "--ready"] : ["--socket"]
        switch ClientOptions.parse(arguments[...], of: command, known: known) {
        case .success(let options) where command == "probe":
            return .probe(socket: options.socket ?? defaultSocket, timeout: options.timeout ?? .seconds(1), ready: options.ready)
        case .success(let options):
            return .status(socket: options.socket ?? defaultSocket)
        case .failure(let usage):
            return .usageError(usage.message)
        }
    }
}

/// The options of the control socket's clients; each command knows some of them.
struct ClientOptions {
    struct Usage: Error { let message: String }

    var socket: String?
    var timeout: TimeSpan?
    var ready = false

    static func parse(_ arguments: ArraySlice<String>, of command: String, known: [String]) -> Result<ClientOptions, Usage> {
        var options = ClientOptions()
        var rest = arguments
        while let option = rest.popFirst() {
            guard known.contains(option) else { return .failure(Usage(message: "unknown option '\(option)' for \(command)")) }
            if option == "--ready" {
                options.ready = true
                continue
            }
            guard let value = rest.popFirst() else { return .failure(Usage(message: "\(option) needs a value")) }
            if option == "--socket" {
                guard !value.isEmpty else { return .failure(Usage(message: "--socket needs a path")) }
                options.socket = value
            } else {
                guard let span = TimeSpan(parsing: value), span > .zero else {
                    return .failure(Usage(message: "--timeout takes a duration like 500ms or 2s, got '\(value)'"))
                }
                options.timeout = span
            }
        }
        return .success(options)
    }
}
