import Foundation

/// One of ftinit's own log lines (docs/ftinit.md, "ftinit's own log lines"):
/// `ftinit: LEVEL EVENT key=value ...`, values holding spaces double-quoted.
struct LogEvent: Sendable, CustomStringConvertible {
    let level: String
    let event: String
    let fields: [String: String]
    /// Bare words between the event and its fields: `ftinit: info tls generated cert=...` has
    /// event `tls` and words `["generated"]`.
    let words: [String]
    let line: String
    let time: ContinuousClock.Instant

    var description: String { line }

    subscript(key: String) -> String? { fields[key] }

    /// The subject's name: `service=NAME` or `task=NAME`.
    var subject: String? { fields["service"] ?? fields["task"] }

    /// `pid=N` as a number.
    var pid: pid_t? { fields["pid"].flatMap { pid_t($0) } }

    /// A signal field with an optional `SIG` prefix removed. The contract writes
    /// `signal=NAME` without saying whether NAME is `TERM` or `SIGTERM`; both are accepted.
    func signalName(_ key: String = "signal") -> String? {
        guard let value = fields[key] else { return nil }
        return value.hasPrefix("SIG") ? String(value.dropFirst(3)) : value
    }

    /// Parses `line`; nil when it is not an ftinit log line.
    static func parse(_ line: String, time: ContinuousClock.Instant) -> LogEvent? {
        guard line.hasPrefix("ftinit: ") else { return nil }
        let tokens = tokenize(Substring(line.dropFirst("ftinit: ".count)))
        guard tokens.count >= 2 else { return nil }
        var fields: [String: String] = [:]
        var words: [String] = []
        for token in tokens.dropFirst(2) {
            guard let equals = token.firstIndex(of: "=") else {
                // Only before the first field (`tls generated cert=...`).
                guard fields.isEmpty else { return nil }
                words.append(token)
                continue
            }
            fields[String(token[..<equals])] = String(token[token.index(after: equals)...])
        }
        return LogEvent(level: tokens[0], event: tokens[1], fields: fields, words: words, line: line, time: time)
    }

    /// Splits at spaces; a double-quoted part (with `\"` and `\\` escapes) may hold spaces and
    /// loses its quotes.
    private static func tokenize(_ text: Substring) -> [String] {
        var tokens: [String] = []
        var current = ""
        var inToken = false
        var inQuotes = false
        var escaped = false
        for character in text {
            if inQuotes {
                if escaped { current.append(character); escaped = false }
                else if character == "\\" { escaped = true }
                else if character == "\"" { inQuotes = false }
                else { current.append(character) }
            } else if character == " " {
                if inToken { tokens.append(current); current = ""; inToken = false }
            } else if character == "\"" {
                inQuotes = true
                inToken = true
            } else {
                current.append(character)
                inToken = true
            }
        }
        if inToken { tokens.append(current) }
        return tokens
    }
}

/// Durations as written in the config and in log lines: one or more NUMBER UNIT pairs
/// (`ms`, `s`, `m`, `h`), or `0`. Decimal numbers are accepted for log values.
enum DurationText {
    static func parse(_ text: String) -> Duration? {
        if text == "0" { return .zero }
        var total = 0.0
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            switch unit {
            case "ms": total += value / 1000
            case "s": total += value
            case "m": total += value * 60
            case "h": total += value * 3600
            default: return nil
            }
        }
        return .milliseconds(Int64((total * 1000).rounded()))
    }
}
