import Testing
@testable import FTInit

/// What the control socket answers, and how `ftinit probe` / `ftinit status` read it back
/// (docs/ftinit.md, "Control socket, `ftinit probe`, `ftinit status`").
@Suite struct StatusReportTests {
    typealias Program = StatusReport.Program

    static func serviceRow(_ name: String, state: String = "running", pid: Int32? = 12, health: String = "healthy",
                        uptime: TimeSpan? = .seconds(41), check: String? = nil, result: String? = nil,
                        latency: TimeSpan? = nil) -> Program {
        Program(kind: "service", name: name, state: state, pid: pid, health: health, uptime: uptime,
                check: check, result: result, latency: latency)
    }

    static func taskRow(_ name: String, state: String = "done") -> Program {
        Program(kind: "task", name: name, state: state, pid: nil, health: "none", uptime: nil, check: nil, result: nil, latency: nil)
    }

    /// The report of the documentation's example.
    static var documented: StatusReport { StatusReport(healthy: true, summary: "3 services: 2 healthy, 1 starting", programs: [
        Self.serviceRow("nginx", check: "http https://127.0.0.1/", result: "ok", latency: TimeSpan(milliseconds: 3)),
        Self.taskRow("keys"),
    ]) }

    @Test func textIsTheDocumentedFormat() {
        #expect(Self.documented.text == """
            ftinit verdict=ok summary="3 services: 2 healthy, 1 starting"
            service name=nginx state=running pid=12 health=healthy uptime=41s check="http https://127.0.0.1/" result=ok latency=3ms
            task name=keys state=done health=none

            """)
    }

    @Test func aFailingReportSaysFail() {
        let report = StatusReport(healthy: false, summary: "web exited with code 3", programs: [
            Self.serviceRow("web", state: "exited", pid: nil, health: "none", uptime: nil),
        ])
        #expect(report.text == """
            ftinit verdict=fail summary="web exited with code 3"
            service name=web state=exited health=none

            """)
    }

    @Test func anEmptyReportIsOneLine() {
        let report = StatusReport(healthy: true, summary: "nothing to run", programs: [])
        #expect(report.text == "ftinit verdict=ok summary=\"nothing to run\"\n")
    }

    // MARK: round trip

    /// A report to send through text and back (`StatusReport` holds only values).
    struct Example: @unchecked Sendable, CustomTestStringConvertible {
        let label: String
        let report: StatusReport

        var testDescription: String { label }
    }

    static let reports: [Example] = [
        Example(label: "the documented example", report: documented),
        Example(label: "an empty summary and no programs", report: StatusReport(healthy: true, summary: "", programs: [])),
        Example(label: "a running task", report: StatusReport(healthy: true, summary: "ok", programs: [Self.taskRow("setup", state: "running")])),
        Example(label: "a failing report with an unhealthy and a waiting service", report: StatusReport(
            healthy: false, summary: #"db unhealthy: "connect to 127.0.0.1:5432: Connection refused""#, programs: [
                Self.serviceRow("db", health: "unhealthy", uptime: TimeSpan(milliseconds: 90_500), check: "tcp 127.0.0.1:5432",
                        result: "connect to 127.0.0.1:5432: Connection refused", latency: .zero),
                Self.serviceRow("web", state: "waiting", pid: nil, health: "starting", uptime: nil),
            ])),
        Example(label: "values with blanks, quotes, backslashes, newlines, tabs and '='", report: StatusReport(
            healthy: true, summary: #"quotes " and \ backslashes \" everywhere"#, programs: [
                Self.serviceRow("php-fpm_8.3", uptime: TimeSpan(parsing: "2d3h")!, check: #"exec sh -c 'test -f "/run/php/ready" && echo \$x'"#,
                        result: #"exited with code 1: can't read "C:\temp\new""#, latency: TimeSpan(milliseconds: 1500)),
                Self.serviceRow("a", result: "", latency: TimeSpan(milliseconds: 1)),
                Self.serviceRow("b", result: "two\nlines"),
                Self.serviceRow("c", result: #"C:\dir\nname"#),
                Self.serviceRow("d", result: "key=value=more"),
                Self.serviceRow("e", result: #""quoted""#),
                Self.serviceRow("f", result: "tab\tseparated"),
                Self.serviceRow("g", result: "  padded  "),
            ])),
    ]

    @Test(arguments: reports)
    func parsingTheTextGivesTheReportBack(_ example: Example) throws {
        let parsed = try #require(StatusReport(parsing: example.report.text), "\(example.report.text)")
        #expect(parsed == example.report)
    }

    @Test(arguments: [
        "",
        "\n",
        "hello\n",
        "error unknown request\n",
        "ftinit summary=\"no verdict\"\n",
        "service name=web state=running\n",
        "verdict=ok summary=x\n",
    ])
    func whatIsNotAReportParsesAsNone(text: String) {
        #expect(StatusReport(parsing: text) == nil)
    }

    @Test func onlyVerdictOkIsHealthy() throws {
        #expect(StatusReport(parsing: "ftinit verdict=ok summary=x")?.healthy == true)
        #expect(StatusReport(parsing: "ftinit verdict=fail summary=x")?.healthy == false)
        #expect(StatusReport(parsing: "ftinit verdict=OK summary=x")?.healthy == false)
    }

    @Test func missingFieldsTakeTheirDefaults() throws {
        let report = try #require(StatusReport(parsing: "ftinit verdict=ok\nservice name=web state=running\n"))
        #expect(report.summary == "")
        #expect(report.programs == [Self.serviceRow("web", pid: nil, health: "none", uptime: nil)])
    }

    @Test func programLinesWithoutNameOrStateAreSkipped() throws {
        let text = "ftinit verdict=ok summary=x\nservice state=running\ntask name=keys\nservice name=web state=running pid=7 health=healthy\n"
        let report = try #require(StatusReport(parsing: text))
        #expect(report.programs.map(\.name) == ["web"])
    }

    @Test func unknownFieldsAreIgnored() throws {
        let text = "ftinit verdict=ok summary=x version=2\nservice name=web state=running pid=7 health=healthy restarts=0\n"
        let report = try #require(StatusReport(parsing: text))
        #expect(report.programs == [Self.serviceRow("web", pid: 7, uptime: nil)])
    }

    // MARK: parseFields

    @Test(arguments: [
        ("", []),
        ("   ", []),
        ("ftinit", [("ftinit", "")]),
        (#"ftinit verdict=ok summary="3 services: 2 healthy""#, [("ftinit", ""), ("verdict", "ok"), ("summary", "3 services: 2 healthy")]),
        ("a=1   b=2 ", [("a", "1"), ("b", "2")]),
        ("k=", [("k", "")]),
        (#"k="""#, [("k", "")]),
        (#"k="say \"hi\"""#, [("k", #"say "hi""#)]),
        (#"k="back\\slash" next=1"#, [("k", #"back\slash"#), ("next", "1")]),
        (#"k="two\nlines""#, [("k", "two\nlines")]),
        (#"k=C:\dir"#, [("k", #"C:\dir"#)]),
        ("k=a=b", [("k", "a=b")]),
        (#"k=a"b"#, [("k", #"a"b"#)]),
        (#"k="no closing quote"#, [("k", "no closing quote")]),
        ("service name=web state=running", [("service", ""), ("name", "web"), ("state", "running")]),
    ] as [(String, [(String, String)])])
    func splitsALineIntoFields(line: String, expected: [(String, String)]) {
        let fields = parseFields(line)
        #expect(fields.map(\.key) == expected.map(\.0))
        #expect(fields.map(\.value) == expected.map(\.1))
    }

    @Test(arguments: ["plain", "with space", #"with "quotes""#, #"back\slash"#, "new\nline", "", "a=b", #"\"#, #"\""#, "\t"])
    func parseFieldsIsTheInverseOfLogField(value: String) {
        let fields = parseFields("event " + Log.field("k", value) + " after=1")
        #expect(fields.map(\.key) == ["event", "k", "after"])
        #expect(fields.first { $0.key == "k" }?.value == value)
    }

    // MARK: ftinit status

    @Test func theTableHasAHeaderAlignedColumnsAndTheVerdict() {
        let report = StatusReport(healthy: true, summary: "2 programs: 1 healthy", programs: [
            Self.serviceRow("nginx", check: "http https://127.0.0.1/", result: "ok", latency: TimeSpan(milliseconds: 3)),
            Self.taskRow("keys"),
        ])
        let lines = ControlClient.table(report).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines == [
            "NAME   KIND     PID  STATE    HEALTH   UPTIME  LATENCY  CHECK                    LAST RESULT",
            "nginx  service  12   running  healthy  41s     3ms      http https://127.0.0.1/  ok",
            "keys   task     -    done     none     -       -        -                        -",
            "ok: 2 programs: 1 healthy",
            "",
        ])
    }

    @Test func theTableOfAFailingReportEndsWithFail() {
        let report = StatusReport(healthy: false, summary: "web is unhealthy", programs: [
            Self.serviceRow("web", health: "unhealthy", uptime: .seconds(200), check: "tcp 127.0.0.1:80",
                         result: "connect to 127.0.0.1:80: Connection refused", latency: .zero),
        ])
        let table = ControlClient.table(report)
        #expect(table.hasSuffix("\nFAIL: web is unhealthy\n"))
        #expect(table.contains("web   service  12   running  unhealthy  3m20s   0s       tcp 127.0.0.1:80  connect to 127.0.0.1:80: Connection refused\n"))
    }

    @Test func anEmptyTableIsTheHeaderAndTheVerdict() {
        let table = ControlClient.table(StatusReport(healthy: true, summary: "nothing", programs: []))
        #expect(table == "NAME  KIND  PID  STATE  HEALTH  UPTIME  LATENCY  CHECK  LAST RESULT\nok: nothing\n")
    }

    @Test(arguments: [
        (0, "0s"),
        (999, "0s"),
        (1_000, "1s"),
        (41_900, "41s"),
        (59_999, "59s"),
        (60_000, "1m0s"),
        (192_000, "3m12s"),
        (3_599_999, "59m59s"),
        (3_600_000, "1h0m"),
        (3_661_000, "1h1m"),
        (86_400_000, "24h0m"),
        (90_061_000, "25h1m"),
    ] as [(Int64, String)])
    func uptimeIsRoundedToTheSecond(milliseconds: Int64, text: String) {
        #expect(ControlClient.roundedSeconds(TimeSpan(milliseconds: milliseconds)) == text)
    }

    // MARK: the default socket

    @Test(arguments: [
        ([:], "/run/ftinit.sock"),
        (["FTINIT_SOCKET": "/tmp/ft.sock"], "/tmp/ft.sock"),
        (["FTINIT_SOCKET": ""], "/run/ftinit.sock"),
    ] as [([String: String], String)])
    func theDefaultSocketComesFromFtinitSocket(environment: [String: String], socket: String) {
        #expect(ControlClient.defaultSocket(environment) == socket)
    }
}
