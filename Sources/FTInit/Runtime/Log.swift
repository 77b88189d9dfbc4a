#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// ftinit's own events: one line each on stderr, `ftinit: LEVEL EVENT key=value ...`,
/// through `OutputSink.stderr`, which never blocks.
public enum Log {
    public enum Level: String { case info, warn, error }

    public static func event(_ level: Level, _ event: String, _ fields: String...) {
        OutputSink.stderr.write(line(level, event, fields))
    }

    /// One event line, newline included, for a stream other than stderr too.
    static func line(_ level: Level, _ event: String, _ fields: [String]) -> String {
        var line = "ftinit: \(level.rawValue) \(event)"
        for field in fields { line += " " + field }
        return line + "\n"
    }

    /// Config problems, one `PATH:LINE: message` line each on stderr.
    public static func diagnostics(_ list: [Diagnostic]) {
        for diagnostic in list { OutputSink.stderr.write("\(diagnostic)\n") }
    }

    /// `key=value`, with the value double-quoted when it holds blanks, quotes or is empty.
    public static func field(_ key: String, _ value: String) -> String {
        let plain = !value.isEmpty && !value.contains(where: { " \"\t\n\r\r\n".contains($0) })
        if plain { return "\(key)=\(value)" }
        var escaped = ""
        for c in value {
            switch c {
            case "\"", "\\": escaped += "\\\(c)"
            case "\n", "\r\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            default: escaped.append(c)
            }
        }
        return "\(key)=\"\(escaped)\""
    }
}
