#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Renders `[template DEST]` sections: `${VAR}`, `${VAR:-default}` and `$$` replaced from the
/// environment, the result written atomically. A template with any undefined variable writes
/// nothing and reports every such line.
public enum TemplateRenderer {
    /// The rendered text, or every problem as `SOURCE:LINE: message`.
    public static func render(_ text: String, source: String, expander: Expander) -> Result<String, ConfigErrors> {
        var output = ""
        var problems: [Diagnostic] = []
        var lineNumber = 0
        // Lines keep their own terminators, so CRLF and a missing final newline survive as is.
        var rest = Substring(text)
        while !rest.isEmpty {
            lineNumber += 1
            // "\r\n" is one Character in Swift: look for both forms of line end.
            let end = rest.firstIndex(where: { $0 == "\n" || $0 == "\r\n" }).map { rest.index(after: $0) } ?? rest.endIndex
            do {
                output += try expander.expand(String(rest[..<end]))
            } catch {
                problems.append(Diagnostic(file: source, line: lineNumber, message: error.description))
            }
            rest = rest[end...]
        }
        return problems.isEmpty ? .success(output) : .failure(ConfigErrors(problems))
    }

    /// Renders every template, then writes them: when any template has a problem, every
    /// problem of every template is reported and no file is written at all.
    public static func applyAll(_ templates: [(spec: TemplateSpec, owner: Identity?)], expander: Expander) throws(BootError) {
        var rendered: [String] = []
        var problems: [Diagnostic] = []
        for (spec, _) in templates {
            guard let text = readFile(spec.source) else {
                problems.append(Diagnostic(file: spec.source, line: nil, message: "cannot read template: \(errorString(errno))"))
                continue
            }
            switch render(text, source: spec.source, expander: expander) {
            case .success(let output): rendered.append(output)
            case .failure(let errors): problems += errors.diagnostics
            }
        }
        guard problems.isEmpty else { throw .config(problems) }
        for ((spec, owner), text) in zip(templates, rendered) {
            do {
                let file = try AtomicFile(path: spec.destination, bytes: Array(text.utf8), mode: spec.mode,
                                          owner: owner.map { ($0.uid, $0.gid) })
                try file.commit()
            } catch {
                throw .write("\(error)")
            }
        }
    }
}

/// Why the boot steps (templates, TLS) failed: bad input, or the system refused.
public enum BootError: Error, CustomStringConvertible {
    case config([Diagnostic])
    case write(String)
    case crypto(String)

    /// EX_CONFIG for bad input, EX_CANTCREAT when a file cannot be written, EX_SOFTWARE for OpenSSL.
    public var exitCode: Int32 {
        switch self {
        case .config: return ExitCode.config
        case .write: return ExitCode.cannotCreate
        case .crypto: return ExitCode.software
        }
    }

    public var description: String {
        switch self {
        case .config(let diagnostics): return diagnostics.map(\.description).joined(separator: "\n")
        case .write(let message), .crypto(let message): return message
        }
    }
}
