import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// HUP, USR1, USR2, WINCH and QUIT sent to ftinit reach the child: the command in single mode,
/// every running service's main process in multi mode (docs/ftinit.md, "Runtime behaviour" 5).
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(Prerequisites.baseTools), what: "signal forwarding tests"))
    struct SignalForwarding {
        @Test func everyForwardedSignalReachesTheCommandInSingleMode() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let script = Scripts.signalRecorder(log: scratch.file("signals"), ready: scratch.file("ready"))
            let ftinit = try FTInit.launch(["--", "sh", "-c", script], directory: scratch.path)
            defer { ftinit.stop() }
            try scratch.waitFor("ready", report: ftinit.report)

            for (index, signal) in Scripts.forwardedSignals.enumerated() {
                try ftinit.send(signal.number)
                let arrived = Poll.until(timeout: .seconds(3)) { scratch.lines("signals").count > index }
                #expect(arrived, "SIG\(signal.name) did not reach the command; received so far: \(scratch.lines("signals"))\(ftinit.report)")
            }

            #expect(scratch.lines("signals") == Scripts.forwardedSignals.map(\.name), "\(ftinit.report)")
            #expect(ftinit.process.ended == nil, "ftinit exited on a forwarded signal\(ftinit.report)")
        }

        @Test func everyForwardedSignalReachesEveryRunningServiceInMultiMode() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let services = ["alpha", "beta"]
            var config = ""
            for name in services {
                let script = Scripts.signalRecorder(log: scratch.file("\(name).signals"), ready: scratch.file("\(name).ready"))
                config += "[service \(name)]\nrun = sh -c '\(script)'\nstop-timeout = 2s\n\n"
            }
            let path = try scratch.config(config)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            let started = try ftinit.requireStarted(services)
            for name in services { try scratch.waitFor("\(name).ready", report: ftinit.report) }

            for (index, signal) in Scripts.forwardedSignals.enumerated() {
                try ftinit.send(signal.number)
                for name in services {
                    let arrived = Poll.until(timeout: .seconds(3)) { scratch.lines("\(name).signals").count > index }
                    #expect(arrived, "SIG\(signal.name) did not reach \(name); received: \(scratch.lines("\(name).signals"))\(ftinit.report)")
                }
            }

            for name in services {
                #expect(scratch.lines("\(name).signals") == Scripts.forwardedSignals.map(\.name), "\(name)\(ftinit.report)")
                let pid = started.first { $0.subject == name }?.pid
                for signal in Scripts.forwardedSignals {
                    let logged = ftinit.events("forwarded", subject: name).contains {
                        $0.signalName() == signal.name && $0.pid == pid
                    }
                    #expect(logged, "no `ftinit: info forwarded signal=\(signal.name) service=\(name) pid=\(pid.map(String.init) ?? "?")` line\(ftinit.report)")
                }
            }
            #expect(ftinit.process.ended == nil, "ftinit exited on a forwarded signal\(ftinit.report)")
        }
    }
}
