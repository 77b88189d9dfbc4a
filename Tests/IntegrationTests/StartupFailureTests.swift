import Testing

/// What `ftinit run` does when it cannot start: an invalid config, an unknown user or a missing
/// dir exits 78 before anything starts; a command that cannot be executed exits 126/127 with an
/// `exec-failed` line (docs/ftinit.md, "Exit codes", "Errors", "ftinit's own log lines").
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(Prerequisites.baseTools + ["touch"]), what: "startup failure tests"))
    struct StartupFailure {
        @Test(arguments: ["/nonexistent/ftinit-it-ghost", "ftinit-it-no-such-command-in-path"])
        func serviceWhoseCommandIsNotFoundMakesFtinitExit127WithExecFailedLine(command: String) throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service ghost]
                run = \(command) --flag

                [service idle]
                run = sleep 4601

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }

            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 127, "\(ftinit.report)")
            let failed = ftinit.events("exec-failed", subject: "ghost").first
            #expect(failed?.level == "error" && !(failed?["error"] ?? "").isEmpty,
                    "expected `ftinit: error exec-failed service=ghost error=\"...\"`\(ftinit.report)")
            #expect(ftinit.events("started", subject: "ghost").isEmpty, "a failed exec counted as started\(ftinit.report)")
        }

        @Test func serviceWhoseCommandIsNotExecutableMakesFtinitExit126() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let script = try scratch.write("not-executable.sh", "#!/bin/sh\nsleep 4602\n", mode: 0o644)
            let path = try scratch.config("""
                [service locked]
                run = \(script)

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }

            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 126, "\(ftinit.report)")
            let failed = ftinit.events("exec-failed", subject: "locked").first
            #expect(failed?.level == "error", "expected `ftinit: error exec-failed service=locked error=\"...\"`\(ftinit.report)")
        }

        @Test func invalidConfigMakesRunExit78BeforeStartingAnything() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service eager]
                run = sh -c 'touch \(scratch.file("started")); exec sleep 4603'

                [service broken]
                run = sleep 4604
                stop-timeout = forever

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }

            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 78, "\(ftinit.report)")
            #expect(ConfigErrors(path: path, output: ftinit.stderr.lines.map(\.text)).lines == [6], "\(ftinit.report)")
            expectNothingStarted(ftinit, scratch)
        }

        @Test func unknownUserMakesRunExit78BeforeStartingAnything() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service eager]
                run = sh -c 'touch \(scratch.file("started")); exec sleep 4605'

                [service stranger]
                run = sleep 4606
                user = ftinit-it-no-such-user

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }

            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 78, "\(ftinit.report)")
            #expect(ConfigErrors(path: path, output: ftinit.stderr.lines.map(\.text)).lines == [6], "\(ftinit.report)")
            expectNothingStarted(ftinit, scratch)
        }

        @Test func missingDirMakesRunExit78BeforeStartingAnything() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service eager]
                run = sh -c 'touch \(scratch.file("started")); exec sleep 4607'

                [service lost]
                run = sleep 4608
                dir = \(scratch.file("no-such-dir"))

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }

            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 78, "\(ftinit.report)")
            #expect(ConfigErrors(path: path, output: ftinit.stderr.lines.map(\.text)).lines == [6], "\(ftinit.report)")
            expectNothingStarted(ftinit, scratch)
        }

        @Test func noArgumentsMeansRunWithTheConfigFromFTINIT_CONFIG() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service quitter]
                run = sh -c 'exit 3'

                """)
            let ftinit = try FTInit.launch([], environment: ["FTINIT_CONFIG": path], directory: scratch.path)
            defer { ftinit.stop() }

            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 3, "\(ftinit.report)")
            let starting = ftinit.events("starting").first
            #expect(starting?["config"] == path && starting?["services"] == "1" && starting?["tasks"] == "0",
                    "expected `ftinit: info starting config=\(path) services=1 tasks=0`\(ftinit.report)")
        }

        private func expectNothingStarted(_ ftinit: FTInit, _ scratch: Scratch, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(ftinit.events("started").isEmpty, "something started\(ftinit.report)", sourceLocation: sourceLocation)
            #expect(!scratch.exists("started"), "a service ran", sourceLocation: sourceLocation)
        }
    }
}
