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

        /// Issue 17: with `env-clear = yes` a service, here as another user, holds in its
        /// environment PATH, what `env-pass` names, its user's HOME/USER/LOGNAME and its own
        /// `env` lines, and none of ftinit's other variables (the secrets of the pod).
        @Test func aServiceWithEnvClearSeesOnlyWhatItWasGiven() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service narrow]
                run = sleep 4503
                user = nobody
                env-clear = yes
                env-pass = KEPT
                env = OWN=${OTHER_SECRET:-unset}-used-in-config

                [service wide]
                run = sleep 4504

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], environment: ["KEPT": "k", "OTHER_SECRET": "s3cret", "DB_PASSWORD": "pw"],
                                           directory: scratch.path)
            defer { ftinit.stop() }
            let narrow = try ftinit.hostPid(of: try ftinit.requireEvent("started", subject: "narrow"))
            let wide = try ftinit.hostPid(of: try ftinit.requireEvent("started", subject: "wide"))
            let environ = { (pid: pid_t) -> [String] in
                ((try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()).split(separator: 0)
                    .map { String(decoding: $0, as: UTF8.self) }
            }
            let names = Set(environ(narrow).map { String($0.prefix { $0 != "=" }) })
            #expect(names == ["PATH", "KEPT", "HOME", "USER", "LOGNAME", "OWN"], "\(environ(narrow))")
            #expect(environ(narrow).contains("OWN=s3cret-used-in-config") && !environ(narrow).contains { $0.hasPrefix("DB_PASSWORD=") })
            // Without it, everything: what the images did before.
            #expect(environ(wide).contains("DB_PASSWORD=pw") && environ(wide).contains("OTHER_SECRET=s3cret"), "\(environ(wide))")
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
