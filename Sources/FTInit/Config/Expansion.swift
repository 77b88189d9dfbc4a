/// `${VAR}`, `${VAR:-default}` and `${VAR-default}` substitution from an environment; `$$` is
/// a literal `$`.
/// A `$` followed by anything else is kept, so shell snippets like `$HOME` pass through.
public struct Expander: Sendable {
    public let environment: [String: String]

    public init(environment: [String: String]) { self.environment = environment }

    /// The same variables with the values of secrets replaced by `***`: for what ftinit shows
    /// (`ftinit status`, its log lines), never for what it runs.
    public var hidingSecrets: Expander {
        Expander(environment: Dictionary(uniqueKeysWithValues: environment.map { name, value in
            (name, Self.isSecret(name) ? Self.hidden : value)
        }))
    }

    static let hidden = "***"

    /// A variable that holds a secret, by its name: the Kubernetes Secret's keys here are all
    /// `..._PASSWORD` or `..._SECRET...`; tokens, private keys and salts by the usual words.
    static func isSecret(_ name: String) -> Bool {
        let upper = name.uppercased()
        let bytes = Array(upper.utf8)
        return ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "PRIVATE", "CREDENTIAL"].contains { bytes.firstIndex(ofBytes: Array($0.utf8)) != nil }
            || upper.hasSuffix("KEY") || upper.hasSuffix("SALT")
    }

    public enum Failure: Error, Equatable, Sendable {
        case undefined(String)
        case unterminated
        case badName(String)
    }

    /// The result of reading one `$...` form at the start of `text`.
    enum Piece {
        case literal(String)
        case substituted(String)
    }

    /// Expands every reference in `text`.
    public func expand(_ text: String) throws(Failure) -> String {
        var output = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            output += rest[..<dollar]
            rest = rest[dollar...]
            switch try piece(at: &rest) {
            case .literal(let s), .substituted(let s): output += s
            }
        }
        return output + rest
    }

    /// Reads the `$` form at the start of `rest` and advances past it.
    func piece(at rest: inout Substring) throws(Failure) -> Piece {
        precondition(rest.first == "$")
        let afterDollar = rest.dropFirst()
        if afterDollar.first == "$" {
            rest = afterDollar.dropFirst()
            return .literal("$")
        }
        guard afterDollar.first == "{" else {
            rest = afterDollar
            return .literal("$")
        }
        let body = afterDollar.dropFirst()
        guard let close = body.firstIndex(of: "}") else { throw .unterminated }
        rest = body[body.index(after: close)...]
        let reference = body[..<close]
        // The first `:` or `-` ends the name (neither can be part of one): `:-` or `-` follows.
        var name = reference
        var fallback: Substring?
        var emptyTakesFallback = false
        if let mark = reference.firstIndex(where: { $0 == ":" || $0 == "-" }) {
            let operation = reference[mark...]
            if operation.hasPrefix(":-") {
                (name, fallback, emptyTakesFallback) = (reference[..<mark], operation.dropFirst(2), true)
            } else if operation.hasPrefix("-") {
                (name, fallback) = (reference[..<mark], operation.dropFirst())
            }
        }
        guard Self.isValidName(name) else { throw .badName(String(reference)) }
        let value = environment[String(name)]
        // As in a POSIX shell: `:-` replaces a variable that is unset or empty, `-` only an
        // unset one (so a deliberately empty value can say "off").
        if let fallback, value == nil || (emptyTakesFallback && value!.isEmpty) { return .substituted(String(fallback)) }
        if let value { return .substituted(value) }
        throw .undefined(String(name))
    }

    static func isValidName(_ name: Substring) -> Bool {
        guard let first = name.first, first == "_" || (first.isASCII && first.isLetter) else { return false }
        return name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }
}

extension Expander.Failure: CustomStringConvertible {
    public var description: String {
        switch self {
        case .undefined(let name): return "undefined variable ${\(name)} (set it, or write ${\(name):-default})"
        case .unterminated: return "unterminated ${ (missing })"
        case .badName(let reference): return "bad variable reference ${\(reference)}"
        }
    }
}
