import Testing
@testable import FTInit

/// ftinit's own log lines: `ftinit: LEVEL EVENT key=value ...`, values with blanks quoted.
@Suite struct LogTests {
    @Test(arguments: [
        ("service", "web", "service=web"),
        ("pid", "42", "pid=42"),
        ("config", "/etc/ftinit.conf", "config=/etc/ftinit.conf"),
        ("path", #"C:\dir"#, #"path=C:\dir"#),
        ("error", "exec: No such file or directory", #"error="exec: No such file or directory""#),
        ("command", "", #"command="""#),
        ("command", "a\tb", "command=\"a\tb\""),
        ("text", #"say "hi""#, #"text="say \"hi\"""#),
        ("text", #"a "b\c""#, #"text="a \"b\\c\"""#),
        ("text", "two\nlines", #"text="two\nlines""#),
    ])
    func quotesValuesHoldingBlanksOrQuotes(key: String, value: String, field: String) {
        #expect(Log.field(key, value) == field)
    }

    @Test func aQuotedFieldIsOneWordOfTheLine() {
        let field = Log.field("error", "a b\nc \"d\"")
        #expect(!field.contains("\n"))
        #expect(field.hasPrefix("error=\"") && field.hasSuffix("\""))
    }
}
