// fuzz target `template`: TemplateRenderer.render (what `[template DEST]` does before writing)
// and Expander.expand, on arbitrary text with a fixed environment.
@testable import FTInit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTemplate(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = text(start, count)
    let rendered = TemplateRenderer.render(input, source: "fuzz.tmpl", expander: fuzzExpander)
    let whole = Result { () throws(Expander.Failure) in try fuzzExpander.expand(input) }
    switch rendered {
    case .success(let output):
        // Line by line or in one go, a template that renders gives the same text.
        require((try? whole.get()) == output, "line-wise render differs from expand")
        if !input.contains("$") { require(output == input, "text without $ changed") }
    case .failure(let errors):
        require(!errors.diagnostics.isEmpty, "failure without diagnostics")
        let lines = input.reduce(into: 1) { n, c in if c == "\n" || c == "\r\n" { n += 1 } }
        for diagnostic in errors.diagnostics {
            require((1...lines).contains(diagnostic.line ?? 0), "line \(String(describing: diagnostic.line)) of \(lines)")
            require(!diagnostic.description.contains("\n"), "multi-line diagnostic")
        }
        // Only a `${` can fail, and one that fails on its own line cannot succeed in one go.
        if case .success = whole { require(hasReference(input), "expand succeeded where render failed") }
    }
    return 0
}

/// Whether `text` holds `${` (String.contains(String) needs the string-processing module).
func hasReference(_ text: String) -> Bool {
    zip(text, text.dropFirst()).contains { $0 == "$" && $1 == "{" }
}
