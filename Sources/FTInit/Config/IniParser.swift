/// The raw shape of an INI file: sections of `key = value` entries, each with its line.
/// Knows nothing about what the sections mean; `ConfigLoader` does.
public struct IniDocument {
    public struct Entry {
        public let key: String
        public let value: String
        public let line: Int
    }

    public struct Section {
        public let kind: String     // `service` in `[service web]`
        public let name: String?    // `web` in `[service web]`; nil in `[init]`
        public let line: Int
        public var entries: [Entry] = []
    }

    public var sections: [Section] = []
}

public enum IniParser {
    /// Parses `text`; every malformed line becomes a diagnostic and parsing goes on.
    public static func parse(_ text: String, file: String) -> (IniDocument, [Diagnostic]) {
        var document = IniDocument()
        var diagnostics: [Diagnostic] = []
        var lineNumber = 0
        // "\r\n" is a single Character in Swift, so CRLF files need it named explicitly.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            let line = trimmed(rawLine)
            if line.isEmpty || line.first == "#" || line.first == ";" { continue }
            func fail(_ message: String) {
                diagnostics.append(Diagnostic(file: file, line: lineNumber, message: message))
            }
            // A value would be cut at a NUL once handed to the kernel: refuse it here.
            guard !line.contains("\0") else { fail("NUL byte in the line (a config is text)"); continue }
            if line.first == "[" {
                guard line.last == "]" else { fail("section header must end with ']'"); continue }
                let inside = trimmed(line.dropFirst().dropLast())
                let kind = inside.prefix(while: { !isBlank($0) })
                guard !kind.isEmpty else { fail("empty section header"); continue }
                let name = trimmed(inside.dropFirst(kind.count))
                document.sections.append(.init(
                    kind: String(kind), name: name.isEmpty ? nil : String(name), line: lineNumber))
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                fail("expected 'key = value' or '[section]', got '\(line)'")
                continue
            }
            let key = trimmed(line[..<equals])
            guard !key.isEmpty else { fail("missing key before '='"); continue }
            guard !document.sections.isEmpty else { fail("key '\(key)' outside of any section"); continue }
            let value = trimmed(line[line.index(after: equals)...])
            document.sections[document.sections.count - 1].entries.append(
                .init(key: String(key), value: String(value), line: lineNumber))
        }
        return (document, diagnostics)
    }

    static func isBlank(_ c: Character) -> Bool { c == " " || c == "\t" }

    static func trimmed(_ s: Substring) -> Substring {
        s.drop(while: isBlank).dropLastWhile(isBlank)
    }
}

extension Substring {
    func dropLastWhile(_ predicate: (Character) -> Bool) -> Substring {
        var end = endIndex
        while end > startIndex, predicate(self[index(before: end)]) { end = index(before: end) }
        return self[startIndex..<end]
    }
}
