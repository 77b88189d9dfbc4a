import Testing
@testable import FTInit

/// InfluxDB line protocol as ftinit writes it (docs/metrics.md).
@Suite struct LineProtocolTests {
    @Test func aPointHasMeasurementTagsFieldsAndAMillisecondTimestamp() {
        let tags = LineProtocol.tagSet([(key: "service", value: "nginx"), (key: "container", value: "nginx-6d4b")])
        let point = LineProtocol.point("ftinit_process", tagSet: tags, fields: [
            ("state", .text("healthy")), ("healthy", .integer(1)), ("cpu_seconds", .micros(1_500_000)), ("pid", nil),
        ], milliseconds: 1_700_000_000_123)
        #expect(point == "ftinit_process,service=nginx,container=nginx-6d4b state=\"healthy\",healthy=1i,cpu_seconds=1.5 1700000000123\n")
    }

    @Test func aPointWithoutAnyFieldIsNotWritten() {
        #expect(LineProtocol.point("m", tagSet: "", fields: [("a", nil), ("b", nil)], milliseconds: 1) == nil)
    }

    @Test func specialCharactersAreEscapedWhereEachElementNeedsIt() {
        let tags = LineProtocol.tagSet([(key: "pa th", value: "/var/lib/my,sql=x"), (key: "k", value: "C:\\dir")])
        #expect(tags == ",pa\\ th=/var/lib/my\\,sql\\=x,k=C:\\dir")
        let point = LineProtocol.point("my measure,x", tagSet: "", fields: [
            ("field key=", .text("say \"hi\"\\ now\nplease")),
        ], milliseconds: 5)
        #expect(point == "my\\ measure\\,x field\\ key\\==\"say \\\"hi\\\"\\\\ now please\" 5\n")
    }

    @Test func emptyTagValuesAreLeftOut() {
        #expect(LineProtocol.tagSet([(key: "service", value: "web"), (key: "container", value: "")]) == ",service=web")
    }

    @Test(arguments: [
        (0, "0.0"), (1, "0.000001"), (1_500_000, "1.5"), (2_000_000, "2.0"), (123_456_789, "123.456789"),
        (-250_000, "-0.25"), (Int64.max, "9223372036854.775807"),
    ] as [(Int64, String)])
    func decimalsAreExactAndAlwaysFloats(micros: Int64, text: String) {
        #expect(LineProtocol.format(.micros(micros)) == text)
    }

    @Test func integersCarryTheirSuffix() {
        #expect(LineProtocol.format(.integer(-42)) == "-42i")
    }
}
