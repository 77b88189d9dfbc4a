import Testing
@testable import FTInit

/// The raw INI layer: sections and `key = value` entries with their lines, nothing more.
@Suite struct IniParserTests {
    /// Each section as `LINE [kind name]` followed by its entries as `LINE key=value`.
    static func outline(_ text: String) -> (sections: [String], diagnostics: [String]) {
        let (document, diagnostics) = IniParser.parse(text, file: "t.ini")
        var lines: [String] = []
        for section in document.sections {
            lines.append("\(section.line) [\(section.kind)\(section.name.map { " " + $0 } ?? "")]")
            for entry in section.entries { lines.append("\(entry.line) \(entry.key)=\(entry.value)") }
        }
        return (lines, diagnostics.map(\.description))
    }

    @Test func readsSectionsAndEntriesWithTheirLines() {
        let parsed = Self.outline("[init]\nlog-prefix = no\n\n[service web]\nrun = web\nenv = A=1\nenv = B=2")
        #expect(parsed.sections == ["1 [init]", "2 log-prefix=no", "4 [service web]", "5 run=web", "6 env=A=1", "7 env=B=2"])
        #expect(parsed.diagnostics.isEmpty)
    }

    @Test func knowsNothingAboutWhatSectionsAndKeysMean() {
        let parsed = Self.outline("[anything goes here]\nsome key = some value")
        #expect(parsed.sections == ["1 [anything goes here]", "2 some key=some value"])
        #expect(parsed.diagnostics.isEmpty)
    }

    @Test(arguments: [
        ("[service web]", "1 [service web]"),
        ("[ service web ]", "1 [service web]"),
        ("[service \t  web]", "1 [service web]"),
        ("\t [init]  ", "1 [init]"),
        ("[init]", "1 [init]"),
    ])
    func trimsBlanksInSectionHeaders(header: String, expected: String) {
        #expect(Self.outline(header).sections == [expected])
    }

    @Test(arguments: [
        ("k=v", "2 k=v"),
        ("  k  =  v  ", "2 k=v"),
        ("\tk\t=\tv\t", "2 k=v"),
        ("k = a = b", "2 k=a = b"),
        ("k =", "2 k="),
        ("k = v # not a comment", "2 k=v # not a comment"),
        ("k = v ; not a comment", "2 k=v ; not a comment"),
    ])
    func splitsAtTheFirstEqualsAndTrimsKeyAndValue(line: String, expected: String) {
        #expect(Self.outline("[s]\n" + line).sections == ["1 [s]", expected])
    }

    @Test func skipsCommentsAndBlankLinesButCountsThem() {
        let parsed = Self.outline("# one\n; two\n   # three\n\t; four\n\n \t \n[s]\nk = v")
        #expect(parsed.sections == ["7 [s]", "8 k=v"])
        #expect(parsed.diagnostics.isEmpty)
    }

    @Test func stripsTheCarriageReturnOfCRLFLines() {
        let parsed = Self.outline("[s]\r\nk = v\r\n# c\r\n\r\nq = \"x\"\r\n")
        #expect(parsed.sections == ["1 [s]", "2 k=v", "5 q=\"x\""])
        #expect(parsed.diagnostics.isEmpty)
    }

    @Test(arguments: [
        ("[s]\nbare words", ["t.ini:2: expected 'key = value' or '[section]', got 'bare words'"]),
        ("[s\nk = v", ["t.ini:1: section header must end with ']'", "t.ini:2: key 'k' outside of any section"]),
        ("[]", ["t.ini:1: empty section header"]),
        ("[s]\n= v", ["t.ini:2: missing key before '='"]),
        ("k = v", ["t.ini:1: key 'k' outside of any section"]),
        ("[s]\r\noops\r\n", ["t.ini:2: expected 'key = value' or '[section]', got 'oops'"]),
        ("[s]\nrun = echo a\0b\n[t\0]", ["t.ini:2: NUL byte in the line (a config is text)",
                                             "t.ini:3: NUL byte in the line (a config is text)"]),
    ])
    func reportsEveryMalformedLineAndGoesOn(text: String, expected: [String]) {
        #expect(Self.outline(text).diagnostics == expected)
    }

    @Test func keepsParsingAfterAnError() {
        let parsed = Self.outline("[a]\nbroken\nk = v\n[b\n[c]\nx = y")
        #expect(parsed.sections == ["1 [a]", "3 k=v", "5 [c]", "6 x=y"])
        #expect(parsed.diagnostics == [
            "t.ini:2: expected 'key = value' or '[section]', got 'broken'",
            "t.ini:4: section header must end with ']'",
        ])
    }
}
