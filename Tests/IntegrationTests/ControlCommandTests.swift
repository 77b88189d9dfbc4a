import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `ftinit signal`, `ftinit restart` and `ftinit stop` against a real PID 1 (issue 18 part 4,
/// docs/ftinit.md "Commands"): what each does, what is refused with nothing changed, and who may
/// send them (the socket owner's uid or root, by the kernel's record of the peer).
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(Prerequisites.baseTools + ["setpriv"]), what: "control command tests"))
    struct ControlCommands {
        /// db, then the task setup after it, then web (checked) after setup; other is unrelated.
        /// db takes 1 s to stop, so a restart of db can be watched while it happens.
        static func config(_ scratch: Scratch) -> String {
            """
            [service db]
            run = sh -c 'trap "sleep 1; exit 0" TERM; while :; do sleep 0.05; done'

            [task setup]
            run = sh -c 'echo run >> \(scratch.file("setup.runs"))'
            after = db

            [service web]
            run = sh -c 'trap "exit 0" TERM; trap "echo HUP >> \(scratch.file("web.hup"))" HUP; sleep 4201 & while :; do sleep 0.05; done'
            after = setup
            check = exec sh -c 'exit 0'
            check-interval = 200ms

            [service other]
            run = sleep 4202

            """
        }

        static func launch(_ scratch: Scratch) throws -> FTInit {
            let ftinit = try FTInit.launch(["run", "--config", try scratch.config(config(scratch))], directory: scratch.path)
            _ = try ftinit.requireEvent("healthy", subject: "web", timeout: .seconds(10))
            _ = try ftinit.requireEvent("started", subject: "other")
            return ftinit
        }

        static func command(_ ftinit: FTInit, _ arguments: [String]) throws -> ToolResult {
            try Tool.ftinit(arguments + ["--socket", ftinit.socketPath], timeout: .seconds(30))
        }

        @Test func signalReachesTheServicesMainProcessOnly() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let ftinit = try Self.launch(scratch)
            defer { ftinit.stop() }
            let web = try #require(ftinit.events("started", subject: "web").first?.pid)

            let sent = try Self.command(ftinit, ["signal", "web", "hup"])

            #expect(sent.code == 0 && sent.stdout == "ftinit signal: ok: signalled service=web pid=\(web) signal=HUP\n", "\(sent)")
            try scratch.waitFor("web.hup", report: ftinit.report)
            let line = try ftinit.requireEvent("signal-requested", subject: "web")
            #expect(line.pid == web && line.signalName() == "HUP" && line["uid"] == "0", "`\(line.line)`")
            // Its background child keeps the default HUP disposition: had the group got it, it died.
            #expect(ftinit.findProcess(argv: ["sleep", "4201"]) != nil, "the signal reached web's process group\(ftinit.report)")
            #expect(ftinit.process.ended == nil && ftinit.events("exited").count == 1, "only setup exited\(ftinit.report)")
        }

        /// Unknown service, a task, an unknown signal, bad arguments: one line, a documented
        /// code, nothing changed.
        @Test(arguments: [
            (["signal", "nope", "HUP"], Int32(1), "ftinit signal: refused: no service named nope\n"),
            (["signal", "setup", "HUP"], 1, "ftinit signal: refused: setup is a task: only a service can be signalled or restarted\n"),
            (["restart", "setup"], 1, "ftinit restart: refused: setup is a task: only a service can be signalled or restarted\n"),
            (["restart", "nope"], 1, "ftinit restart: refused: no service named nope\n"),
            (["signal", "web", "NOPE"], 64, "ftinit: unknown signal 'NOPE' (use a name: HUP, USR1, TERM, ...)\n"),
            (["signal", "web"], 64, "ftinit: signal takes NAME SIGNAL\n"),
            (["stop", "now"], 64, "ftinit: stop takes no arguments\n"),
        ] as [([String], Int32, String)])
        func aCommandThatDoesNotApplyIsRefusedAndChangesNothing(arguments: [String], code: Int32, firstLine: String) throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let ftinit = try Self.launch(scratch)
            defer { ftinit.stop() }
            let before = ftinit.stderr.lines.count

            let result = try Self.command(ftinit, arguments)

            #expect(result.code == code, "\(result)")
            #expect(result.stderr.hasPrefix(firstLine), "\(result)")
            #expect(result.stdout.isEmpty, "\(result)")
            Poll.sleep(.milliseconds(200))
            #expect(ftinit.stderr.lines.count == before, "ftinit logged something\(ftinit.report)")
            #expect(ftinit.process.ended == nil, "\(ftinit.report)")
        }

        /// `ftinit restart db`: web (after setup after db) stops first, db once web is gone;
        /// then db, setup and web start again in order, web healthy again; other is untouched,
        /// ftinit stays up. While it happens the probe stays ok and says so, and the readiness
        /// probe is not ready; the client returns once everything restarted is ready.
        @Test func restartStopsTheServiceAndItsDependentsThenStartsThemAgainInOrder() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let ftinit = try Self.launch(scratch)
            defer { ftinit.stop() }
            let other = try #require(ftinit.events("started", subject: "other").first?.pid)

            let raw = try #require(Network.exchange(ftinit.socketPath, Array("restart db\n".utf8)))
            #expect(raw.response == "ok restarting=db,setup,web\n", "\(raw)")
            _ = try ftinit.requireEvent("stopping", subject: "db")
            let live = try Tool.probe(ftinit.socketPath)
            let ready = try Tool.probe(ftinit.socketPath, ["--ready"])
            let again = try Self.command(ftinit, ["restart", "web"])
            let status = try Tool.ftinit(["status", "--socket", ftinit.socketPath])
            #expect(live.code == 0 && live.stdout.contains("restarting db on request"), "\(live)")
            #expect(ready.code == 1 && ready.stderr.contains("db stopping") && ready.stderr.contains("web waiting"), "\(ready)")
            #expect(again.code == 1 && again.stderr == "ftinit restart: refused: a restart of db is under way: try again once it is done\n", "\(again)")
            #expect(status.stdout.contains(" stopping "), "\(status)")

            _ = try ftinit.requireEvent("healthy", subject: "web", timeout: .seconds(10)) { _ in ftinit.events("healthy", subject: "web").count == 2 }
            let log = ftinit.events.filter { ["stopping", "exited", "started", "healthy", "restart-requested"].contains($0.event) }
                .map { "\($0.event) \($0.subject ?? "")" }
            let tail = Array(log.drop { $0 != "restart-requested db" })
            #expect(tail == ["restart-requested db", "stopping web", "exited web", "stopping db", "exited db", "started db",
                             "started setup", "exited setup", "started web", "healthy web"], "\(ftinit.report)")
            #expect(ftinit.events("restart-requested").first?["with"] == "setup,web", "\(ftinit.report)")
            #expect(scratch.read("setup.runs") == "run\nrun\n", "setup did not run again\(ftinit.report)")
            #expect(ftinit.events("started", subject: "other").count == 1 && ftinit.events("stopping", subject: "other").isEmpty,
                    "other (pid \(other)) was touched\(ftinit.report)")
            #expect(ftinit.process.ended == nil, "\(ftinit.report)")

            // The command-line client waits until what it restarted is ready again.
            let restarted = try Self.command(ftinit, ["restart", "web"])
            #expect(restarted.code == 0, "\(restarted)")
            #expect(restarted.stdout.hasPrefix("ftinit restart: ok: restarting=web\nftinit restart: ready: "), "\(restarted)")
            #expect(ftinit.events("healthy", subject: "web").count == 3, "the client returned before web was healthy again\(ftinit.report)")
            let probe = try Tool.probe(ftinit.socketPath, ["--ready"])
            #expect(probe.code == 0, "\(probe)")

            // And a requested restart is not a death: the stop afterwards still exits 0.
            try ftinit.send(SIGTERM)
            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 0, "\(ftinit.report)")
        }

        /// A death outside the restart while it is under way is a death like any other: the
        /// restart gives way to the ordered stop, what it had stopped is not started again, and
        /// ftinit exits with the dead service's code.
        @Test func aDeathDuringARestartStopsEverythingAndNothingStartsAgain() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let ftinit = try Self.launch(scratch)
            defer { ftinit.stop() }
            let other = try ftinit.hostPid(of: try #require(ftinit.events("started", subject: "other").first))

            let restart = try #require(Network.exchange(ftinit.socketPath, Array("restart db\n".utf8)))
            #expect(restart.response.hasPrefix("ok restarting="), "\(restart)")
            _ = try ftinit.requireEvent("stopping", subject: "db")  // db takes 1 s to stop
            kill(other, SIGKILL)

            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 137, "\(ftinit.report)")
            #expect(ftinit.events("started", subject: "db").count == 1 && ftinit.events("started", subject: "web").count == 1,
                    "something was started again\(ftinit.report)")
            #expect(ftinit.events("exited", subject: "db").first?["code"] == "0", "db did not end by its own handler\(ftinit.report)")
        }

        @Test func stopIsTheSameAsSIGTERMAndAnythingAfterItIsRefused() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let ftinit = try Self.launch(scratch)
            defer { ftinit.stop() }

            let stopped = try Self.command(ftinit, ["stop"])
            // db takes 1 s to stop: meanwhile nothing else is accepted.
            let restart = try Self.command(ftinit, ["restart", "db"])
            let stopAgain = try Self.command(ftinit, ["stop"])

            #expect(stopped.code == 0 && stopped.stdout == "ftinit stop: ok: stopping\n", "\(stopped)")
            #expect(restart.code == 1 && restart.stderr.hasPrefix("ftinit restart: refused: ftinit is stopping (stop requested by ftinit stop)"),
                    "\(restart)")
            #expect(stopAgain.code == 1 && stopAgain.stderr.hasPrefix("ftinit stop: refused: ftinit is already stopping"), "\(stopAgain)")
            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 0, "\(ftinit.report)")
            let requested = ftinit.events("stop-requested").first
            #expect(requested?["command"] == "stop" && requested?["uid"] == "0", "\(ftinit.report)")
            #expect(Set(ftinit.events("stopping").map { $0.subject ?? "" }) == ["db", "web", "other"], "\(ftinit.report)")
        }

        /// Only the socket owner's uid or root: a client of another uid is kept out by the
        /// socket's mode (0600) and, where that mode was loosened, by ftinit's own check of the
        /// peer's credentials; either way exit 77 and nothing changes.
        @Test func aClientOfAnotherUidIsDenied() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let ftinit = try Self.launch(scratch)
            defer { ftinit.stop() }
            let binary = try FTInitBinary.require()
            let asNobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", binary, "stop", "--socket", ftinit.socketPath]

            let byMode = try Tool.run(asNobody)
            #expect(byMode.code == 77 && byMode.stderr.contains("permission denied"), "\(byMode)")

            try #require(chmod(ftinit.socketPath, 0o666) == 0)
            let byPeer = try Tool.run(asNobody)
            #expect(byPeer.code == 77, "\(byPeer)")
            #expect(byPeer.stderr == "ftinit stop: denied: uid 65534 may not command ftinit (only root)\n", "\(byPeer)")
            let denied = try ftinit.requireEvent("control-denied")
            #expect(denied.level == "warn" && denied["uid"] == "65534" && denied["request"] == "stop", "`\(denied.line)`")
            // Reading the status stays open to whoever can reach the socket.
            let status = try Tool.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", binary, "status", "--socket", ftinit.socketPath])
            #expect(status.code == 0, "\(status)")
            #expect(ftinit.process.ended == nil && ftinit.events("stop-requested").isEmpty, "\(ftinit.report)")
        }
    }
}
