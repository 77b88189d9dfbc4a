import Testing
@testable import FTInit

/// `${VAR}` / `${VAR:-default}` / `${VAR-default}` from ftinit's environment; `$$` is `$`;
/// other `$` stay.
@Suite struct ExpanderTests {
    static let expander = Expander(environment: [
        "A": "1",
        "B": "two words",
        "_under_score9": "u",
        "REF": "${A}",
        "EMPTY": "",
    ])

    @Test(arguments: [
        ("plain text", "plain text"),
        ("", ""),
        ("${A}", "1"),
        ("x${A}y", "x1y"),
        ("${A}${B}", "1two words"),
        ("${_under_score9}", "u"),
        ("${MISSING:-fallback}", "fallback"),
        ("${MISSING:-}", ""),
        ("${MISSING:-with spaces and 'quotes'}", "with spaces and 'quotes'"),
        ("${MISSING:-a:-b}", "a:-b"),
        ("${A:-fallback}", "1"),
        ("${EMPTY}", ""),
        ("[${EMPTY}]", "[]"),
        ("${MISSING-fallback}", "fallback"),
        ("${A-fallback}", "1"),
        ("${EMPTY-fallback}", ""),
        ("${MISSING-a:-b}", "a:-b"),
        ("${MISSING-}", ""),
    ])
    func substitutesReferences(text: String, expected: String) throws {
        #expect(try Self.expander.expand(text) == expected)
    }

    @Test(arguments: [
        ("$$", "$"),
        ("$$$$", "$$"),
        ("$${A}", "${A}"),
        ("$$${A}", "$1"),
        ("$$$${A}", "$${A}"),
        ("$HOME", "$HOME"),
        ("$A", "$A"),
        ("$", "$"),
        ("cost: 5$", "cost: 5$"),
        ("$1 $@ $*", "$1 $@ $*"),
        ("$(date)", "$(date)"),
    ])
    func keepsDollarsThatAreNotReferences(text: String, expected: String) throws {
        #expect(try Self.expander.expand(text) == expected)
    }

    @Test func neverExpandsASubstitutedValueAgain() throws {
        #expect(try Self.expander.expand("${REF}") == "${A}")
        #expect(try Self.expander.expand("${MISSING:-${A}") == "${A")
    }

    /// `:-` is the shell's "unset or empty" test (plain `-` is "unset"): an empty variable
    /// takes the default, so `user = ${APP_USER:-app}` never yields an empty user.
    @Test func defaultAlsoReplacesAnEmptyValueAsInAPOSIXShell() throws {
        #expect(try Self.expander.expand("${EMPTY:-fallback}") == "fallback")
    }

    /// `-` is "unset" only: a value set empty on purpose stays empty, so `url =
    /// ${INFLUXDB_URL-http://influxdb:8086}` has a default and can still be turned off.
    @Test func aPlainDashDefaultKeepsAnEmptyValue() throws {
        #expect(try Self.expander.expand("url=${EMPTY-http://influxdb:8086}") == "url=")
        #expect(try Self.expander.expand("url=${MISSING-http://influxdb:8086}") == "url=http://influxdb:8086")
    }

    @Test(arguments: [
        ("${MISSING}", Expander.Failure.undefined("MISSING")),
        ("before ${A} ${MISSING} after", .undefined("MISSING")),
        ("${", .unterminated),
        ("${A", .unterminated),
        ("${A:-default", .unterminated),
        ("${}", .badName("")),
        ("${1A}", .badName("1A")),
        ("${A B}", .badName("A B")),
        ("${A-b", .unterminated),
        ("${A B-x}", .badName("A B-x")),
        ("${A:=b}", .badName("A:=b")),
        ("${:-x}", .badName(":-x")),
        ("${é}", .badName("é")),
    ] as [(String, Expander.Failure)])
    func rejectsBadReferences(text: String, failure: Expander.Failure) {
        #expect(throws: failure) { try Self.expander.expand(text) }
    }

    @Test(arguments: [
        (Expander.Failure.undefined("DB"), "undefined variable ${DB} (set it, or write ${DB:-default})"),
        (.unterminated, "unterminated ${ (missing })"),
        (.badName("1A"), "bad variable reference ${1A}"),
    ] as [(Expander.Failure, String)])
    func describesFailuresForDiagnostics(failure: Expander.Failure, text: String) {
        #expect(failure.description == text)
    }

    /// What ftinit shows (status, log lines) hides the values of secrets, by their names.
    @Test func hidingSecretsReplacesTheValuesOfSecretNamesOnly() throws {
        let expander = Expander(environment: ["DB_PASSWORD": "p", "GRAFANA_SECRET_KEY": "k", "API_TOKEN": "t", "WP_AUTH_SALT": "s",
                                              "PORT": "80", "KEYS_DIR": "/k", "USER": "u"]).hidingSecrets
        #expect(try expander.expand("${DB_PASSWORD} ${GRAFANA_SECRET_KEY} ${API_TOKEN} ${WP_AUTH_SALT}") == "*** *** *** ***")
        #expect(try expander.expand("${PORT} ${KEYS_DIR} ${USER} ${UNSET:-d}") == "80 /k u d")
    }
}
