// fuzz target `argv`: ArgvSplitter.split (the `run` and `check exec` values), then Command.parse
// on the words as if they were ftinit's command line, and TimeSpan's parse/print round trip.
@testable import FTInit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzArgv(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = text(start, count)
    if let words = try? ArgvSplitter.split(input, expander: fuzzExpander) {
        if !input.contains(where: { "'\"\\$".contains($0) }) {
            let plain = input.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            require(words == plain, "unquoted line split differently")
        }
        let command = Command.parse(words, environment: fuzzEnvironment)
        if case .usageError(let message) = command { require(!message.isEmpty, "empty usage error") }
    }
    for word in input.split(separator: " ") {
        if let span = TimeSpan(parsing: String(word)) {
            require(TimeSpan(parsing: span.description) == span, "TimeSpan \(word) printed as \(span)")
        }
    }
    return 0
}
