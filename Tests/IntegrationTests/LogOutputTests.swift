import Testing

/// With `log-prefix = yes` every line a child writes comes out as `NAME | line` on the same
/// stream, none lost, partial lines flushed when the pipe closes, long lines cut into 4 KiB
/// pieces; with `log-prefix = no` children write straight through (docs/ftinit.md, "Runtime
/// behaviour" 3).
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(Prerequisites.baseTools + ["head", "tr", "touch"]), what: "log output tests"))
    struct LogOutput {
        static let count = 10_000

        @Test func everyLineIsPrefixedWithTheServiceNameAndNoneIsLost() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let errDone = scratch.file("err.done")
            // Both write at the same time: out to stdout, err to stderr. out waits for err, then
            // exits, which stops err (its partial line is flushed when its pipe closes).
            let path = try scratch.config("""
                [service out]
                run = sh -c '\(Scripts.numberedLines(Self.count)); printf partial-out; while [ ! -f \(errDone) ]; do sleep 0.05; done; exit 0'

                [service err]
                run = sh -c '\(Scripts.numberedLines(Self.count, toStderr: true)); printf partial-err >&2; touch \(errDone); exec sleep 4201'

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }

            #expect(try ftinit.exitCode(timeout: .seconds(30)) == 1, "\(ftinit.report)")

            let expectedOut = (1...Self.count).map { "out | line \($0)" } + ["out | partial-out"]
            let stdoutLines = ftinit.stdout.lines.map(\.text)
            expectSameLines(stdoutLines, expectedOut, stream: "stdout", report: ftinit.report)

            let stderrLines = ftinit.stderr.lines.map(\.text)
            let errLines = stderrLines.filter { $0.hasPrefix("err | ") }
            let expectedErr = (1...Self.count).map { "err | line \($0)" } + ["err | partial-err"]
            expectSameLines(errLines, expectedErr, stream: "stderr", report: ftinit.report)
            let stray = stderrLines.filter { !$0.hasPrefix("err | ") && !$0.hasPrefix("ftinit: ") }
            #expect(stray.isEmpty, "stderr lines that are neither `err | ...` nor ftinit's own: \(stray.prefix(5))\(ftinit.report)")
            #expect(ftinit.stderr.lines.first { $0.text == "err | partial-err" }?.terminated == true,
                    "the flushed partial line was not completed with a newline\(ftinit.report)")
        }

        @Test func linesLongerThan4KiBAreCutIntoPrefixedPieces() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service long]
                run = sh -c 'head -c 10000 /dev/zero | tr "\\0" x; echo; echo after; exit 0'

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }

            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 1, "\(ftinit.report)")

            let lines = ftinit.stdout.lines.map(\.text)
            #expect(lines.allSatisfy { $0.hasPrefix("long | ") }, "a piece without prefix\(ftinit.report)")
            let contents = lines.map { String($0.dropFirst("long | ".count)) }
            #expect(contents.last == "after", "\(ftinit.report)")
            let pieces = contents.dropLast()
            #expect(pieces.count == 3, "10000 bytes should come out as 3 pieces of at most 4 KiB, got \(pieces.map(\.count))")
            #expect(pieces.allSatisfy { $0.count <= 4096 && $0.allSatisfy { $0 == "x" } }, "pieces: \(pieces.map(\.count))")
            #expect(pieces.joined() == String(repeating: "x", count: 10_000), "bytes lost or added: \(pieces.map(\.count))")
        }

        @Test func withoutPrefixChildrenWriteStraightThrough() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [init]
                log-prefix = no

                [service plain]
                run = sh -c 'echo to-stdout; echo to-stderr >&2; exit 0'

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }

            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 1, "\(ftinit.report)")
            #expect(ftinit.stdout.lines.map(\.text) == ["to-stdout"], "\(ftinit.report)")
            #expect(ftinit.stderr.lines.map(\.text).contains("to-stderr"), "\(ftinit.report)")
            #expect(!ftinit.stderr.text.contains("plain | "), "\(ftinit.report)")
        }

        /// Compares line lists and reports the first difference rather than 10,000 lines.
        private func expectSameLines(_ actual: [String], _ expected: [String], stream: String, report: String,
                                     sourceLocation: SourceLocation = #_sourceLocation) {
            guard actual != expected else { return }
            let firstDifference = zip(actual, expected).enumerated().first { $0.element.0 != $0.element.1 }
            let detail = firstDifference.map { "line \($0.offset + 1): got `\($0.element.0)`, expected `\($0.element.1)`" }
                ?? "got \(actual.count) lines, expected \(expected.count)"
            Issue.record("\(stream) differs (\(actual.count) lines, expected \(expected.count)): \(detail)\(report)", sourceLocation: sourceLocation)
        }
    }
}
