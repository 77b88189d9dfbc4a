/// What a client of the control socket asks, as one line of words separated by single spaces:
/// `status`, `signal NAME SIGNAL`, `restart NAME`, `stop`. Parsing is pure (the fuzz target
/// `control` feeds it any bytes); the line is bounded by `ControlServer.requestLimit`.
public enum ControlRequest: Equatable, Sendable {
    case status
    /// A signal to one service's main process.
    case signal(service: String, signal: Int32)
    /// Stop the service and what comes after it, then start them again.
    case restart(service: String)
    /// The same as SIGTERM to PID 1.
    case stop

    /// The request in what a client sent: the bytes before the first newline, as UTF-8.
    public init?(received bytes: some Collection<UInt8>) {
        guard let line = String(validating: bytes.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self) else { return nil }
        self.init(line: line)
    }

    /// The request `line` (without its newline) asks for; nil for anything else: another word,
    /// a blank too many, a name the config would not accept, a signal without a name.
    public init?(line: String) {
        let words = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        switch (words.first, words.count) {
        case ("status", 1): self = .status
        case ("stop", 1): self = .stop
        case ("restart", 2) where ConfigLoader.isValidName(words[1]):
            self = .restart(service: words[1])
        case ("signal", 3) where ConfigLoader.isValidName(words[1]):
            guard words[2] == words[2].uppercased(), !words[2].hasPrefix("SIG"),
                  let number = SignalName.number(for: words[2]) else { return nil }
            self = .signal(service: words[1], signal: number)
        default:
            return nil
        }
    }

    /// The line a client sends, newline included; `init(line:)` reads it back.
    public var line: String {
        switch self {
        case .status: return "status\n"
        case .signal(let service, let signal): return "signal \(service) \(SignalName.name(of: signal))\n"
        case .restart(let service): return "restart \(service)\n"
        case .stop: return "stop\n"
        }
    }

    /// Whether it changes anything: only ftinit's own user, or root, may send it.
    public var isCommand: Bool { self != .status }
}

/// ftinit's one-line answer to a command: `ok DETAIL`, `refused WHY` (nothing changed),
/// `denied WHY` (the client may not command this ftinit).
public enum ControlAnswer: Equatable, Sendable {
    case ok(String)
    case refused(String)
    case denied(String)

    public var text: String {
        switch self {
        case .ok(let detail): return "ok \(detail)\n"
        case .refused(let why): return "refused \(why)\n"
        case .denied(let why): return "denied \(why)\n"
        }
    }

    /// Reads an answer back; nil when the text is none (an older ftinit's `error ...`).
    public init?(parsing text: String) {
        guard text.hasSuffix("\n"), !text.dropLast().contains("\n") else { return nil }
        let line = text.dropLast()
        let word = line.prefix { $0 != " " }
        let rest = String(line.dropFirst(word.count + 1))
        switch word {
        case "ok": self = .ok(rest)
        case "refused": self = .refused(rest)
        case "denied": self = .denied(rest)
        default: return nil
        }
    }
}
