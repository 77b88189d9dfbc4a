// fuzz target `status`: what `ftinit status` and `ftinit probe` parse from the control socket
// (StatusReport(parsing:), parseFields), and the print/parse round trip of a report.
@testable import FTInit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStatus(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = text(start, count)
    for line in input.split(separator: "\n") { _ = parseFields(String(line)) }
    // What ftinit prints parses back to a report with the same verdict and programs. Kind, state
    // and health are printed as they are (ftinit's own are fixed words), so only reports whose
    // words are plain can round-trip; a hostile answer with `health="a\nb name=x state=y"` adds
    // a program when printed, which is harmless: `ftinit status` prints a table, not the text.
    // (Hostile answers are still parsed above: no crash allowed.)
    if let report = StatusReport(parsing: input),
       report.programs.allSatisfy({ [$0.kind, $0.state, $0.health].allSatisfy(isWord) && !fieldNames.contains($0.kind) }) {
        let again = StatusReport(parsing: report.text)
        require(again?.healthy == report.healthy, "verdict lost in round trip")
        require(again?.programs.count == report.programs.count, "programs lost in round trip")
        for (before, after) in zip(report.programs, again?.programs ?? []) {
            require(before.uptime == after.uptime && before.latency == after.latency, "durations lost in round trip")
        }
    }
    return 0
}

/// A kind named like a field (`uptime=2d name=x ...` has kind `uptime`) prints as `uptime name=x
/// ... uptime=2d`, where `uptime` then reads as empty; ftinit's kinds are `service` and `task`.
let fieldNames: Set<String> = ["name", "state", "pid", "health", "uptime", "check", "result", "latency"]

/// Non-empty, without blanks, quotes, backslashes, `=` or line ends.
func isWord(_ s: String) -> Bool {
    !s.isEmpty && !s.contains(where: { " \t\n\r\r\n\"\\=".contains($0) })
}
