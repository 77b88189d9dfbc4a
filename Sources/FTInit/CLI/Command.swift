/// What the command line asks for. Parsing is pure so it can be tested without running.
public enum Command: Equatable, Sendable {
    case run(configPath: String)
    case single(argv: [String])
    case check(configPath: String)
    case cert(TLSSpec)
    case probe(socket: String, timeout: TimeSpan, ready: Bool = false)
    case status(socket: String)
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
               ftinit version                 print the version
               ftinit help                    print this help

        exit codes: a dead service's code or 128+signal; 64 usage error; 78 invalid config.
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

    /// `probe [--socket PATH] [--timeout DURATION] [--ready]`, `status [--socket PATH]`.
    static func parseClient(_ command: String, _ arguments: [String], socket defaultSocket: String) -> Command {
        var socket = defaultSocket
        var timeout = TimeSpan.seconds(1)
        var ready = false
        let known = command == "probe" ? ["--socket", "--timeout", "--ready"] : ["--socket"]
        var i = 0
        while i < arguments.count {
            let option = arguments[i]
            guard known.contains(option) else { return .usageError("unknown option '\(option)' for \(command)") }
            if option == "--ready" {
                ready = true
                i += 1
                continue
            }
            guard i + 1 < arguments.count else { return .usageError("\(option) needs a value") }
            let value = arguments[i + 1]
            i += 2
            switch option {
            case "--socket":
                guard !value.isEmpty else { return .usageError("--socket needs a path") }
                socket = value
            case "--timeout" where command == "probe":
                guard let span = TimeSpan(parsing: value), span > .zero else {
                    return .usageError("--timeout takes a duration like 500ms or 2s, got '\(value)'")
                }
                timeout = span
            default:
                break  // not reached: `known` was checked above
            }
        }
        return command == "probe" ? .probe(socket: socket, timeout: timeout, ready: ready) : .status(socket: socket)
    }
}
