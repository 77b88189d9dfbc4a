// fuzz target `config`: ConfigLoader.load on arbitrary bytes, the same call `ftinit check` and
// `ftinit run` make, with no file system or user lookups (preflight is not run).
@testable import FTInit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = text(start, count)
    let lineCount = input.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).count
    switch ConfigLoader.load(text: input, file: "fuzz.conf", environment: fuzzEnvironment) {
    case .success(let config):
        // A config that loads can be started: names valid and unique, argv non-empty, no cycle.
        require(DependencyGraph(config.programs).order() != nil, "loaded config has no start order")
        require(Set(config.programs.map(\.name)).count == config.programs.count, "duplicate program names")
        for program in config.programs {
            require(ConfigLoader.isValidName(program.name), "bad name \(program.name)")
            require(!(program.argv.first?.isEmpty ?? true), "empty argv for \(program.name)")
        }
        for template in config.templates { require(template.destination.hasPrefix("/"), "relative template destination") }
    case .failure(let errors):
        // Every problem is reported, one line each, with a line that exists (0: the cycle fallback).
        require(!errors.diagnostics.isEmpty, "failure without diagnostics")
        for diagnostic in errors.diagnostics {
            require(diagnostic.file == "fuzz.conf", "diagnostic for another file")
            require((0...max(lineCount, 1)).contains(diagnostic.line ?? -1), "line \(String(describing: diagnostic.line)) of \(lineCount)")
            require(!diagnostic.message.isEmpty, "empty message")
            require(!diagnostic.description.contains("\n"), "multi-line diagnostic: \(diagnostic.description)")
        }
    }
    return 0
}
