import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Each child gets its own session, an empty signal mask, default dispositions, its `dir` and
/// `env`, and `${VAR}` substitutions from ftinit's environment (docs/ftinit.md, "Configuration
/// file" and "Runtime behaviour" 2).
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(Prerequisites.baseTools + ["pwd", "printf"]), what: "child setup tests"))
    struct ChildSetup {
        @Test func serviceRunsInItsOwnSessionWithEmptySignalMaskAndDefaultDispositions() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service plain]
                run = sleep 4501

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            let pid = try ftinit.hostPid(of: try ftinit.requireEvent("started", subject: "plain"))

            let stat = try #require(ProcFS.stat(pid))
            #expect(stat.session == pid && stat.pgrp == pid, "not a session leader: \(stat), session \(stat.session), pgrp \(stat.pgrp)")
            #expect(ProcFS.statusMask(pid, "SigBlk") == 0, "blocked signals: \(ProcFS.status(pid)?["SigBlk"] ?? "?")")
            #expect(ProcFS.statusMask(pid, "SigIgn") == 0, "ignored signals: \(ProcFS.status(pid)?["SigIgn"] ?? "?")")
        }

        @Test func commandRunsWithEmptySignalMaskAndDefaultDispositionsInSingleMode() throws {
            let ftinit = try FTInit.launch(["--", "sleep", "4502"])
            defer { ftinit.stop() }
            var command: ProcStat?
            Poll.until(timeout: .seconds(5)) {
                command = ftinit.findProcess(argv: ["sleep", "4502"])
                return command != nil
            }
            let pid = try #require(command, "the command did not start\(ftinit.report)").pid

            #expect(ProcFS.statusMask(pid, "SigBlk") == 0, "blocked signals: \(ProcFS.status(pid)?["SigBlk"] ?? "?")")
            #expect(ProcFS.statusMask(pid, "SigIgn") == 0, "ignored signals: \(ProcFS.status(pid)?["SigIgn"] ?? "?")")
        }

        @Test func serviceGetsItsDirEnvAndSubstitutedVariables() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let workdir = scratch.file("workdir")
            try FileManager.default.createDirectory(atPath: workdir, withIntermediateDirectories: false)
            let out = { (name: String) in scratch.file(name) }
            // ${FTINIT_IT_TRICKY} holds spaces and quotes: it stays one argument, verbatim.
            let path = try scratch.config("""
                [service probe]
                run = sh -c 'pwd > \(out("pwd")); echo "$GREETING" > \(out("greeting")); echo "$FTINIT_IT_INHERITED" > \(out("inherited")); echo "${FTINIT_IT_MISSING:-fallback}" > \(out("default")); echo "$$" > \(out("dollar")); printf "%s\\n" "$@" > \(out("args")); echo ok > \(out("ready")); exec sleep 4503' argv0 ${FTINIT_IT_TRICKY} second
                dir = \(workdir)
                env = GREETING=hello world

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], environment: [
                "FTINIT_IT_INHERITED": "from-ftinit",
                "FTINIT_IT_TRICKY": "a b'c \"d\"",
            ], directory: scratch.path)
            defer { ftinit.stop() }
            try scratch.waitFor("ready", report: ftinit.report)

            #expect(scratch.read("pwd") == "\(workdir)\n", "dir")
            #expect(scratch.read("greeting") == "hello world\n", "env with a space in the value")
            #expect(scratch.read("inherited") == "from-ftinit\n", "ftinit's environment is passed on")
            #expect(scratch.read("default") == "fallback\n", "${VAR:-default}")
            #expect(scratch.read("dollar") == "$\n", "$$ is a literal $")
            #expect(scratch.lines("args") == ["a b'c \"d\"", "second"], "a substituted value is one word, quotes kept")
        }
    }
}
