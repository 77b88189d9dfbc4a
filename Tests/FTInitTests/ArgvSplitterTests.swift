import Testing
@testable import FTInit

/// `run` lines become argv the way a POSIX shell splits words, without a shell.
@Suite struct ArgvSplitterTests {
    static let environment = [
        "NAME": "web",
        "SPACED": "two words",
        "TRICKY": #"it's "quoted" \ $HOME ${NAME} *"#,
        "EMPTY": "",
    ]

    static func split(_ line: String) throws(ArgvSplitter.Failure) -> [String] {
        try ArgvSplitter.split(line, expander: Expander(environment: environment))
    }

    @Test(arguments: [
        // blanks
        ("a b c", ["a", "b", "c"]),
        ("   a    b   ", ["a", "b"]),
        ("a\tb\t \tc", ["a", "b", "c"]),
        ("", []),
        (" \t ", []),
        // single quotes: everything literal
        ("'a b' c", ["a b", "c"]),
        (#"'a \ b'"#, [#"a \ b"#]),
        (#"'say "hi"'"#, [#"say "hi""#]),
        ("'a\tb'", ["a\tb"]),
        ("nginx -g 'daemon off;'", ["nginx", "-g", "daemon off;"]),
        // double quotes: only \" \\ \$ \` are escapes
        (#""a b""#, ["a b"]),
        (#""say \"hi\"""#, [#"say "hi""#]),
        (#""back\\slash""#, [#"back\slash"#]),
        (#""\$HOME""#, ["$HOME"]),
        (#""\`date\`""#, ["`date`"]),
        (#""a\nb\'c""#, [#"a\nb\'c"#]),
        (#""it's""#, ["it's"]),
        // backslash outside quotes escapes the next character
        (#"a\ b"#, ["a b"]),
        (#"\'a\""#, [#"'a""#]),
        (#"\\"#, [#"\"#]),
        (#"a\\b"#, [#"a\b"#]),
        (#"\$\{X\}"#, ["${X}"]),
        // empty quoted words are words
        ("''", [""]),
        (#""""#, [""]),
        (#"a '' "" b"#, ["a", "", "", "b"]),
        // adjacent pieces join into one word
        (#"a'b'"c"d"#, ["abcd"]),
        (#"--opt='x y'"z""#, ["--opt=x yz"]),
        (#"''a"#, ["a"]),
    ] as [(String, [String])])
    func splitsLikeAPOSIXShell(line: String, argv: [String]) throws {
        #expect(try Self.split(line) == argv)
    }

    @Test(arguments: [
        ("run --name ${NAME}", ["run", "--name", "web"]),
        ("run ${SPACED}", ["run", "two words"]),
        ("run --pw=${TRICKY}", ["run", #"--pw=it's "quoted" \ $HOME ${NAME} *"#]),
        ("run ${TRICKY}", ["run", #"it's "quoted" \ $HOME ${NAME} *"#]),
        (#"run "${SPACED}""#, ["run", "two words"]),
        ("run '${SPACED}'", ["run", "two words"]),
        ("run pre${SPACED}post", ["run", "pretwo wordspost"]),
        ("run ${MISSING:-a default with 'quotes'}", ["run", "a default with 'quotes'"]),
        ("run ${NAME}${NAME}", ["run", "webweb"]),
        ("run ${EMPTY}", ["run", ""]),
        ("run x${EMPTY}", ["run", "x"]),
    ] as [(String, [String])])
    func substitutesVariablesWithoutSplittingOrUnquotingThem(line: String, argv: [String]) throws {
        #expect(try Self.split(line) == argv)
    }

    @Test(arguments: [
        ("echo $$", ["echo", "$"]),
        ("echo $$NAME", ["echo", "$NAME"]),
        ("echo $$${NAME}", ["echo", "$web"]),
        ("echo $$$${NAME}", ["echo", "$${NAME}"]),
        ("sh -c 'echo $HOME'", ["sh", "-c", "echo $HOME"]),
        (#"sh -c "echo $HOME""#, ["sh", "-c", "echo $HOME"]),
        ("echo $HOME $1 $", ["echo", "$HOME", "$1", "$"]),
        ("echo $ NAME", ["echo", "$", "NAME"]),
        (#"echo \${NAME}"#, ["echo", "${NAME}"]),
    ] as [(String, [String])])
    func keepsDollarsThatAreNotVariableReferences(line: String, argv: [String]) throws {
        #expect(try Self.split(line) == argv)
    }

    @Test(arguments: [
        ("echo 'abc", ArgvSplitter.Failure.unterminatedQuote("'")),
        (#"echo "abc"#, .unterminatedQuote("\"")),
        (#"echo "abc\""#, .unterminatedQuote("\"")),
        (#"echo "abc\"#, .unterminatedQuote("\"")),
        ("echo 'a' 'b", .unterminatedQuote("'")),
        (#"echo \"#, .trailingBackslash),
        ("echo ${UNSET}", .expansion(.undefined("UNSET"))),
        ("echo '${UNSET}'", .expansion(.undefined("UNSET"))),
        ("echo ${NAME", .expansion(.unterminated)),
        ("echo ${NA ME}", .expansion(.badName("NA ME"))),
    ] as [(String, ArgvSplitter.Failure)])
    func rejectsMalformedLines(line: String, failure: ArgvSplitter.Failure) {
        #expect(throws: failure) { try Self.split(line) }
    }

    @Test(arguments: [
        (ArgvSplitter.Failure.unterminatedQuote("'"), "unterminated ' quote"),
        (.unterminatedQuote("\""), #"unterminated " quote"#),
        (.trailingBackslash, "trailing backslash"),
        (.expansion(.undefined("X")), "undefined variable ${X} (set it, or write ${X:-default})"),
    ] as [(ArgvSplitter.Failure, String)])
    func describesFailuresForDiagnostics(failure: ArgvSplitter.Failure, text: String) {
        #expect(failure.description == text)
    }
}
