import Testing
@testable import FTInit

@Suite struct TimeSpanTests {
    @Test(arguments: [
        ("500ms", 500), ("10s", 10_000), ("1m", 60_000), ("1h", 3_600_000), ("1m30s", 90_000), ("0", 0),
    ] as [(String, Int64)])
    func parsesDurations(text: String, milliseconds: Int64) {
        #expect(TimeSpan(parsing: text)?.milliseconds == milliseconds)
    }

    @Test(arguments: ["", "10", "s", "10x", "1.5s", "-1s", "10 s", "ms10"])
    func rejectsMalformedDurations(text: String) {
        #expect(TimeSpan(parsing: text) == nil)
    }

    @Test func printsShortestExactSpelling() {
        #expect(TimeSpan(milliseconds: 1500).description == "1500ms")
        #expect(TimeSpan.seconds(10).description == "10s")
        #expect(TimeSpan.seconds(120).description == "2m")
        #expect(TimeSpan.zero.description == "0s")
    }
}
