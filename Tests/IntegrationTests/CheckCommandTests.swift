import Foundation
import Testing

/// `ftinit check`: every error as `PATH:LINE: message`, exit 78; a valid config exits 0 with one
/// summary line and starts nothing (docs/ftinit.md, "Errors").
extension Integration {
    @Suite(.requires(.tools(Prerequisites.baseTools), what: "check command tests"))
    struct CheckCommand {
        /// A malformed config and the lines its errors must be reported on.
        struct BadConfig: Sendable, CustomTestStringConvertible {
            let name: String
            let lines: [String]
            /// One entry per expected error: the range of lines it may be reported on.
            let errors: [ClosedRange<Int>]
            /// Whether exactly `errors.count` errors must be reported (false when follow-up
            /// errors are acceptable).
            let exact: Bool

            init(_ name: String, _ lines: [String], errors: [ClosedRange<Int>], exact: Bool = true) {
                self.name = name
                self.lines = lines
                self.errors = errors
                self.exact = exact
            }

            var testDescription: String { name }
        }

        static let badConfigs: [BadConfig] = [
            BadConfig("key outside a section", [
                "run = sleep 1",
                "[service a]",
                "run = sleep 1",
            ], errors: [1...1]),
            BadConfig("line without = inside a section", [
                "[service a]",
                "run = sleep 1",
                "this line has no equals sign",
            ], errors: [3...3]),
            BadConfig("unclosed section header", [
                "[service a",
                "run = sleep 1",
            ], errors: [1...1], exact: false),
            BadConfig("unknown section", [
                "[service a]",
                "run = sleep 1",
                "[frobnicate]",
            ], errors: [3...3]),
            BadConfig("unknown key in a service", [
                "[service a]",
                "run = sleep 1",
                "bogus = 1",
            ], errors: [3...3]),
            BadConfig("service-only key in a task", [
                "[task t]",
                "run = true",
                "stop-signal = TERM",
                "[service a]",
                "run = sleep 1",
            ], errors: [3...3]),
            BadConfig("unknown key in [init]", [
                "[init]",
                "run = sleep 1",
                "[service a]",
                "run = sleep 1",
            ], errors: [2...2]),
            BadConfig("duplicate section", [
                "[service a]",
                "run = sleep 1",
                "[service a]",
                "run = sleep 2",
            ], errors: [3...3]),
            BadConfig("duplicate key", [
                "[service a]",
                "run = sleep 1",
                "run = sleep 2",
            ], errors: [3...3]),
            BadConfig("missing run", [
                "[service a]",
                "stop-signal = QUIT",
                "[service b]",
                "run = sleep 1",
            ], errors: [1...2]),
            BadConfig("empty run", [
                "[service a]",
                "run =",
            ], errors: [1...2]),
            BadConfig("duration with an unknown unit", [
                "[service a]",
                "run = sleep 1",
                "stop-timeout = 10x",
            ], errors: [3...3]),
            BadConfig("duration without a number", [
                "[service a]",
                "run = sleep 1",
                "stop-timeout = s",
            ], errors: [3...3]),
            BadConfig("negative task timeout", [
                "[task t]",
                "run = true",
                "timeout = -1s",
                "[service a]",
                "run = sleep 1",
            ], errors: [3...3]),
            BadConfig("bad [init] stop-timeout", [
                "[init]",
                "stop-timeout = soon",
                "[service a]",
                "run = sleep 1",
            ], errors: [2...2]),
            BadConfig("unknown signal name", [
                "[service a]",
                "run = sleep 1",
                "stop-signal = NOPE",
            ], errors: [3...3]),
            BadConfig("bad boolean", [
                "[init]",
                "log-prefix = maybe",
                "[service a]",
                "run = sleep 1",
            ], errors: [2...2]),
            BadConfig("name with a slash", [
                "[service bad/name]",
                "run = sleep 1",
            ], errors: [1...1]),
            BadConfig("name with a space", [
                "[service bad name]",
                "run = sleep 1",
            ], errors: [1...1]),
            BadConfig("section without a name", [
                "[service]",
                "run = sleep 1",
            ], errors: [1...1], exact: false),
            BadConfig("after naming something undefined", [
                "[service a]",
                "run = sleep 1",
                "after = ghost",
            ], errors: [3...3]),
            BadConfig("after naming itself", [
                "[service a]",
                "run = sleep 1",
                "after = a",
            ], errors: [3...3]),
            BadConfig("undefined variable in run", [
                "[service a]",
                "run = echo ${FTINIT_TEST_UNDEFINED_VARIABLE}",
            ], errors: [2...2]),
            BadConfig("undefined variable in env", [
                "[service a]",
                "run = sleep 1",
                "env = X=${FTINIT_TEST_UNDEFINED_VARIABLE}",
            ], errors: [3...3]),
            BadConfig("undefined variable in dir", [
                "[service a]",
                "run = sleep 1",
                "dir = ${FTINIT_TEST_UNDEFINED_VARIABLE}",
            ], errors: [3...3]),
        ]

        @Test(arguments: badConfigs)
        func malformedConfigIsReportedWithPathAndLineAndExits78(config: BadConfig) throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config(config.lines.joined(separator: "\n") + "\n")

            let result = try CommandResult.run(["check", "--config", path])

            #expect(result.code == 78, "\(result.report)")
            let errors = ConfigErrors(path: path, output: result.outputLines)
            for expected in config.errors {
                #expect(errors.lines.contains { expected.contains($0) },
                        "no `\(path):LINE: message` error with LINE in \(expected)\(result.report)")
            }
            if config.exact {
                #expect(errors.lines.count == config.errors.count, "expected \(config.errors.count) error(s)\(result.report)")
            }
        }

        @Test func everyErrorIsReportedNotOnlyTheFirst() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [init]
                stop-timeout = 10x
                log-prefix = maybe

                [service a]
                run = sleep 1
                run = sleep 2
                bogus = 1
                stop-signal = NOPE

                [frobnicate]

                [service b]
                run = sleep 1
                after = ghost

                """)

            let result = try CommandResult.run(["check", "--config", path])

            #expect(result.code == 78, "\(result.report)")
            let reported = Set(ConfigErrors(path: path, output: result.outputLines).lines)
            #expect(reported.isSuperset(of: [2, 3, 7, 8, 9, 11, 15]),
                    "errors reported on lines \(reported.sorted()), expected 2 3 7 8 9 11 15\(result.report)")
        }

        @Test(arguments: [["a", "b"], ["a", "b", "c"]])
        func dependencyCycleIsReportedByItsMembers(cycle: [String]) throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            // Each service comes after the next one: a after b, b after c, c after a.
            var text = ""
            for (index, name) in cycle.enumerated() {
                text += "[service \(name)]\nrun = sleep 1\nafter = \(cycle[(index + 1) % cycle.count])\n\n"
            }
            let path = try scratch.config(text)

            let result = try CommandResult.run(["check", "--config", path])

            #expect(result.code == 78, "\(result.report)")
            // "dependency cycle: a -> b -> a", starting at any member, in either direction.
            let rotations = (0..<cycle.count).flatMap { start -> [String] in
                let forward = (0...cycle.count).map { cycle[(start + $0) % cycle.count] }
                return [forward, forward.reversed()].map { "dependency cycle: " + $0.joined(separator: " -> ") }
            }
            let messages = ConfigErrors(path: path, output: result.outputLines).messages
            #expect(messages.contains { message in rotations.contains { message.contains($0) } },
                    "no `PATH:LINE: dependency cycle: ...` naming the cycle \(cycle)\(result.report)")
        }

        @Test func validConfigExits0WithOneSummaryLineAndStartsNothing() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let marker = scratch.file("started")
            let path = try scratch.config("""
                # a comment
                ; another comment
                [init]
                stop-timeout = 1m30s
                log-prefix = no

                [task prep]
                run = sh -c 'touch \(marker)'
                timeout = 500ms

                [service web]
                run = sh -c 'echo "$$HOME # not a comment" ${FTINIT_TEST_GREETING:-hello}; touch \(marker)'
                after = prep
                user = 0:0
                dir = /
                env = TZ=UTC
                env = GREETING=hello world
                stop-signal = SIGQUIT
                stop-timeout = 0

                [service db]
                run = sleep 1
                stop-signal = INT
                stop-timeout = 500ms
                after = prep web

                """)

            let result = try CommandResult.run(["check", "--config", path])

            #expect(result.code == 0, "\(result.report)")
            #expect(result.outputLines.count == 1, "expected exactly one summary line\(result.report)")
            Poll.sleep(.milliseconds(200))
            #expect(!scratch.exists("started"), "check started a task or service")
        }

        @Test func configOptionWithEqualsSignIsAccepted() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("[service a]\nrun = sleep 1\nbogus = 1\n")

            let result = try CommandResult.run(["check", "--config=\(path)"])

            #expect(result.code == 78, "\(result.report)")
            #expect(ConfigErrors(path: path, output: result.outputLines).lines == [3], "\(result.report)")
        }

        @Test func configPathComesFromFTINIT_CONFIGWhenNoOptionIsGiven() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("[service a]\nrun = sleep 1\nbogus = 1\n")

            let result = try CommandResult.run(["check"], environment: ["FTINIT_CONFIG": path])

            #expect(result.code == 78, "\(result.report)")
            #expect(ConfigErrors(path: path, output: result.outputLines).lines == [3], "\(result.report)")
        }

        @Test func configOptionWinsOverFTINIT_CONFIG() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let bad = try scratch.write("bad.conf", "[service a]\nrun = sleep 1\nbogus = 1\n")
            let good = try scratch.write("good.conf", "[service a]\nrun = sleep 1\n")

            let result = try CommandResult.run(["check", "--config", good], environment: ["FTINIT_CONFIG": bad])

            #expect(result.code == 0, "\(result.report)")
        }

        /// An endless "config" is refused once past 16 MiB, not read until memory runs out.
        @Test func endlessInputIsRefusedNotReadForever() throws {
            let result = try CommandResult.run(["check", "--config", "/dev/zero"])
            #expect(result.code == 78, "\(result.report)")
            #expect(result.stderr.contains("/dev/zero: cannot read: File too large"), "\(result.report)")
        }
    }
}

/// The `PATH:LINE: message` lines of a `check` or `run` output, for one config path.
struct ConfigErrors {
    /// (line, message) per error line found.
    let errors: [(line: Int, message: String)]

    init(path: String, output: [String]) {
        let prefix = path + ":"
        errors = output.compactMap { text in
            guard text.hasPrefix(prefix) else { return nil }
            let rest = text.dropFirst(prefix.count)
            guard let colon = rest.firstIndex(of: ":"), let line = Int(rest[..<colon]) else { return nil }
            let message = rest[rest.index(after: colon)...]
            guard message.hasPrefix(" "), !message.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
            return (line, String(message.dropFirst()))
        }
    }

    var lines: [Int] { errors.map(\.line) }
    var messages: [String] { errors.map(\.message) }
}
