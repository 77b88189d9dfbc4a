import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `ftinit -- CMD [ARGS...]` as PID 1: it exits with CMD's status, 128+N when CMD was killed by
/// signal N, 126/127 when CMD cannot be executed / is not found (docs/ftinit.md, "Exit codes").
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(Prerequisites.baseTools), what: "single-command mode tests"))
    struct SingleCommand {
        @Test(arguments: [0, 1, 2, 255] as [Int32])
        func exitsWithTheCommandsExitCode(code: Int32) throws {
            let ftinit = try FTInit.launch(["--", "sh", "-c", "exit \(code)"])
            defer { ftinit.stop() }

            #expect(try ftinit.exitCode() == code, "\(ftinit.report)")
        }

        @Test(arguments: ["/nonexistent/ftinit-it-command", "ftinit-it-no-such-command-in-path"])
        func commandNotFoundExits127(command: String) throws {
            let ftinit = try FTInit.launch(["--", command, "arg"])
            defer { ftinit.stop() }

            #expect(try ftinit.exitCode() == 127, "\(ftinit.report)")
        }

        @Test func commandThatIsNotExecutableExits126() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let script = try scratch.write("not-executable.sh", "#!/bin/sh\nexit 0\n", mode: 0o644)

            let ftinit = try FTInit.launch(["--", script])
            defer { ftinit.stop() }

            #expect(try ftinit.exitCode() == 126, "\(ftinit.report)")
        }

        /// TERM, HUP and QUIT sent to ftinit are forwarded to the command, which has the default
        /// disposition and dies from them.
        @Test(arguments: [(SIGTERM, 143), (SIGHUP, 129), (SIGQUIT, 131)] as [(Int32, Int32)])
        func commandKilledByAForwardedSignalExits128PlusTheSignal(signal: Int32, expected: Int32) throws {
            let scratch = try Scratch() // QUIT may dump core: keep it out of the package
            defer { scratch.remove() }
            let ftinit = try FTInit.launch(["--", "sleep", "3601"], directory: scratch.path)
            defer { ftinit.stop() }
            let running = Poll.until(timeout: .seconds(5)) { ftinit.findProcess(argv: ["sleep", "3601"]) != nil }
            try #require(running, "the command did not start\(ftinit.report)")

            try ftinit.send(signal)

            #expect(try ftinit.exitCode(timeout: .seconds(5)) == expected, "\(ftinit.report)")
        }

        @Test func commandKilledWithSIGKILLExits137() throws {
            let ftinit = try FTInit.launch(["--", "sleep", "3602"])
            defer { ftinit.stop() }
            var command: ProcStat?
            Poll.until(timeout: .seconds(5)) {
                command = ftinit.findProcess(argv: ["sleep", "3602"])
                return command != nil
            }
            let target = try #require(command, "the command did not start\(ftinit.report)")

            kill(target.pid, SIGKILL)

            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 137, "\(ftinit.report)")
        }

        /// Like tini: the command's exit ends ftinit; a background process it left behind does
        /// not keep ftinit alive.
        @Test func exitsWhenTheCommandExitsWithoutWaitingForItsOrphans() throws {
            let ftinit = try FTInit.launch(["--", "sh", "-c", "sleep 3603 & sleep 0.2; exit 3"])
            defer { ftinit.stop() }

            #expect(try ftinit.exitCode(timeout: .seconds(3)) == 3, "\(ftinit.report)")
        }
    }
}
