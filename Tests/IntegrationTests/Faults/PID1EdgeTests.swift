import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// PID 1 at the edges of time and inheritance (issue 14): what an outside review reproduced
/// with the release binary, each now a test that failed on that binary (noted per test).
/// This file: ftinit's output under pressure; PID1EdgeTimingTests.swift: stops, timeouts and
/// signals; PID1EdgeDescriptorTests.swift: the control socket and descriptors.
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(Prerequisites.baseTools + ["python3", "prlimit"]), what: "PID 1 edge tests"))
    struct PID1Edges {
        /// Defect 1: a service that writes faster than ftinit relays kept ftinit reading its
        /// pipe (every read filled 64 KiB, so it read again) and nothing else ran: probes went
        /// unanswered and SIGTERM waited (the review: 8 s with a 5 s stop-timeout). The writer
        /// here keeps 1 MiB in its pipe, so every read is full: the old binary failed the probe
        /// and ignored TERM for the whole 10 s tried by hand. One read per wake-up: the probe
        /// answers and TERM ends it at once. ftinit's stdout goes to /dev/null.
        @Test func aFastWritingServiceDoesNotStarveTheLoop() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let writer = try scratch.write("writer.py", """
                import fcntl, os
                fcntl.fcntl(1, 1031, 1 << 20)  # F_SETPIPE_SZ: a 1 MiB pipe
                chunk = b"ftinit-starvation\\n" * 58000
                while True:
                    os.write(1, chunk)

                """)
            let path = try scratch.config("""
                [init]
                stop-timeout = 5s

                [service chatty]
                run = python3 \(writer)

                [service quiet]
                run = sleep 4935

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path, stdout: "/dev/null")
            defer { ftinit.stop() }
            _ = try ftinit.requireStarted(["chatty", "quiet"])
            Thread.sleep(forTimeInterval: 1)
            let probe = try Tool.probe(ftinit.socketPath, ["--timeout", "2s"])
            #expect(probe.succeeded, "the probe got no answer while a service writes fast: \(probe)")
            let sent = ContinuousClock.now
            try ftinit.send(SIGTERM)
            let code = try ftinit.exitCode(timeout: .seconds(20))
            let took = try #require(ftinit.exitTime) - sent
            #expect(code == 0, "\(ftinit.report)")
            #expect(took < .seconds(3), "SIGTERM took \(took) to end ftinit while a service writes fast\(ftinit.report)")
        }

        /// Defect 2: ftinit's stdout and stderr on a FIFO whose reader has stopped reading (a
        /// runtime's stalled log pipe). Writes blocked PID 1 for good: no probe, no stop. Now
        /// nothing blocks: the relays stop reading (the chatty child blocks on its own pipe),
        /// the probe answers, TERM stops everything; once the reader reads again, the exit's
        /// lines come out. The old binary failed the probe here.
        @Test func aStalledLogReaderNeverFreezesPID1() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let fifo = scratch.file("log.fifo")
            try #require(mkfifo(fifo, 0o600) == 0)
            // Open for reading (so ftinit's open for writing does not wait), never read.
            let stalled = open(fifo, O_RDONLY | O_NONBLOCK)
            try #require(stalled >= 0)
            defer { close(stalled) }
            let path = try scratch.config("""
                [init]
                stop-timeout = 5s

                [service chatty]
                run = sh -c 'while :; do echo "a line of chatter that fills the log pipe quickly"; done'

                [service quiet]
                run = sleep 4938

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path, stdout: fifo, stderr: fifo)
            defer { ftinit.stop() }
            #expect(Poll.until(timeout: .seconds(5)) { (try? Tool.probe(ftinit.socketPath))?.succeeded == true }, "never healthy")
            Thread.sleep(forTimeInterval: 1.5)  // the FIFO's 64 KiB are long full
            let probe = try Tool.probe(ftinit.socketPath, ["--timeout", "2s"])
            #expect(probe.succeeded, "PID 1 does not answer while its log reader is stalled: \(probe)")
            try ftinit.send(SIGTERM)
            let cat = try #require(Prerequisites.which("cat"))
            let reader = try SpawnedProcess(executable: cat, arguments: [fifo], environment: [:], directory: nil)
            defer { reader.killAndWait() }
            #expect(try ftinit.exitCode(timeout: .seconds(10)) == 0)
            #expect(Poll.until(timeout: .seconds(5)) { reader.stdout.text.contains("ftinit: info exiting code=0") },
                    "the exit's lines never came out: \(reader.stdout.text.suffix(2000))")
        }
    }
}
