import CLinux
import Glibc
import Testing
@testable import FTInit

/// A child's stdout pipe on one side, ftinit's stdout (another pipe) on the other.
final class RelayBench {
    private var child: [Int32] = [-1, -1]      // what the child writes into
    private var terminal: [Int32] = [-1, -1]   // where ftinit's output lands
    let relay: OutputRelay

    init(prefix: String = "web | ") throws {
        // Close-on-exec, as ftinit makes them: other tests spawn processes concurrently, and a
        // child that inherited the write end would hold the stream open past childCloses().
        try #require(ftinit_pipe_cloexec(&child) == 0 && ftinit_pipe_cloexec(&terminal) == 0, "pipe: \(errorString(errno))")
        try setNonBlocking(child[0])           // as OutputRouter sets it up
        try setNonBlocking(terminal[0])
        relay = OutputRelay(fd: child[0], prefix: prefix, destination: OutputSink(terminal[1], name: "terminal"))
    }

    deinit {
        for fd in child + terminal where fd >= 0 { close(fd) }
    }

    /// Both pipes hold 1 MiB (F_SETPIPE_SZ), so more than one read's worth fits in them.
    func enlargePipes() throws {
        let setPipeSize: Int32 = 1031  // F_SETPIPE_SZ (linux/fcntl.h), not in Glibc's module
        for fd in [child[1], terminal[1]] {
            try #require(fcntl(fd, setPipeSize, 1 << 20) >= 1 << 20, "F_SETPIPE_SZ: \(errorString(errno))")
        }
    }

    /// The child writes `bytes`.
    func childWrites(_ bytes: [UInt8]) {
        #expect(write(child[1], bytes, bytes.count) == bytes.count)
    }

    func childWrites(_ text: String) { childWrites(Array(text.utf8)) }

    /// The child exits: its end of the pipe closes.
    func childCloses() {
        close(child[1])
        child[1] = -1
    }

    /// Calls `readOnce` as the event loop would, each time the pipe is readable, until
    /// it reports the end of the stream; false if that does not happen within 5 s. (A process
    /// another test is spawning may hold a copy of the write end for a moment, until its exec.)
    func relayUntilEnd() -> Bool {
        for _ in 0..<100 {
            var pfd = pollfd(fd: relay.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 5000) > 0 else { return false }
            if relay.readOnce() == .ended { return true }
        }
        return false
    }

    /// Everything the relay has written out so far (and not read by an earlier call).
    func relayedBytes() -> [UInt8] {
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(terminal[0], &buffer, buffer.count)
            guard n > 0 else { return output }
            output += buffer[..<n]
        }
    }

    func relayed() -> String { String(decoding: relayedBytes(), as: UTF8.self) }
}

/// Serialized: every relay reads into one shared buffer (ftinit is single-threaded), which
/// tests running in parallel threads would share.
@Suite(.serialized) struct OutputRelayTests {
    @Test func prefixesEveryCompleteLine() throws {
        let bench = try RelayBench()
        bench.childWrites("hello\nworld\n")
        #expect(bench.relay.readOnce() == .data)
        #expect(bench.relayed() == "web | hello\nweb | world\n")
    }

    @Test func keepsEmptyLinesAsPrefixedEmptyLines() throws {
        let bench = try RelayBench()
        bench.childWrites("a\n\n\nb\n")
        #expect(bench.relay.readOnce() == .data)
        #expect(bench.relayed() == "web | a\nweb | \nweb | \nweb | b\n")
    }

    @Test func holdsAPartialLineUntilTheChildCompletesIt() throws {
        let bench = try RelayBench()
        bench.childWrites("first\nsec")
        #expect(bench.relay.readOnce() == .data)
        #expect(bench.relayed() == "web | first\n")
        bench.childWrites("ond half")
        #expect(bench.relay.readOnce() == .data)
        #expect(bench.relayed() == "")
        bench.childWrites(" done\nthird\n")
        #expect(bench.relay.readOnce() == .data)
        #expect(bench.relayed() == "web | second half done\nweb | third\n")
    }

    @Test func reportsTheStreamOpenWhenNothingIsWaiting() throws {
        let bench = try RelayBench()
        #expect(bench.relay.readOnce() == .wouldBlock)
        #expect(bench.relayed() == "")
    }

    @Test func reportsTheEndOfTheStreamOnceTheChildClosedIt() throws {
        let bench = try RelayBench()
        bench.childCloses()
        #expect(bench.relay.readOnce() == .ended)
        #expect(bench.relayed() == "")
    }

    @Test func flushesAFinalPartialLineWithANewlineAtEndOfStream() throws {
        let bench = try RelayBench()
        bench.childWrites("done\nno newline at the end")
        bench.childCloses()
        #expect(bench.relayUntilEnd())
        #expect(bench.relayed() == "web | done\nweb | no newline at the end\n")
    }

    @Test func addsNothingAtEndOfStreamAfterACompleteLine() throws {
        let bench = try RelayBench()
        bench.childWrites("done\n")
        bench.childCloses()
        #expect(bench.relayUntilEnd())
        #expect(bench.relayed() == "web | done\n")
    }

    /// Issue 14, defect 1: one read per wake-up, however much is waiting, so a child that
    /// writes without pause cannot keep the loop in one relay. 100 KiB take two reads.
    @Test func readsAtMostOneChunkPerCall() throws {
        let bench = try RelayBench()
        try bench.enlargePipes()
        let line = Array(repeating: UInt8(ascii: "x"), count: 99) + [UInt8(ascii: "\n")]
        for _ in 0..<1024 { bench.childWrites(line) }
        #expect(bench.relay.readOnce() == .data)
        #expect(bench.relayedBytes().count == 655 * 106, "the first read takes 64 KiB: 655 whole lines of 100 bytes, prefixed")
        #expect(bench.relay.readOnce() == .data)
        #expect(bench.relayedBytes().count == 369 * 106)
        #expect(bench.relay.readOnce() == .wouldBlock)
    }

    @Test func flushEmitsThePendingPartialLineOnce() throws {
        let bench = try RelayBench()
        bench.childWrites("partial")
        #expect(bench.relay.readOnce() == .data)
        bench.relay.flush()
        bench.relay.flush()
        #expect(bench.relayed() == "web | partial\n")
    }

    @Test func flushWithNothingPendingWritesNothing() throws {
        let bench = try RelayBench()
        bench.relay.flush()
        bench.childWrites("line\n")
        _ = bench.relay.readOnce()
        bench.relay.flush()
        #expect(bench.relayed() == "web | line\n")
    }

    @Test func cutsLinesLongerThan4096BytesIntoPrefixedPieces() throws {
        let bench = try RelayBench()
        let line = String(repeating: "a", count: 4096) + String(repeating: "b", count: 4096) + String(repeating: "c", count: 1808)
        bench.childWrites(line + "\nshort\n")
        #expect(bench.relay.readOnce() == .data)
        #expect(bench.relayed() == "web | " + String(repeating: "a", count: 4096) + "\n"
                + "web | " + String(repeating: "b", count: 4096) + "\n"
                + "web | " + String(repeating: "c", count: 1808) + "\n"
                + "web | short\n")
    }

    @Test func keepsALineOfExactly4096BytesWhole() throws {
        let bench = try RelayBench()
        let line = String(repeating: "x", count: 4096)
        bench.childWrites(line + "\n")
        #expect(bench.relay.readOnce() == .data)
        #expect(bench.relayed() == "web | " + line + "\n")
    }

    @Test func keepsALineOf4097BytesAsTwoPieces() throws {
        let bench = try RelayBench()
        bench.childWrites(String(repeating: "x", count: 4096) + "y\n")
        #expect(bench.relay.readOnce() == .data)
        #expect(bench.relayed() == "web | " + String(repeating: "x", count: 4096) + "\nweb | y\n")
    }

    @Test func cutsALongUnfinishedLineWithoutWaitingForItsEnd() throws {
        let bench = try RelayBench()
        bench.childWrites(String(repeating: "z", count: 5000))
        #expect(bench.relay.readOnce() == .data)
        #expect(bench.relayed() == "web | " + String(repeating: "z", count: 4096) + "\n")
        bench.childWrites("!\n")
        #expect(bench.relay.readOnce() == .data)
        #expect(bench.relayed() == "web | " + String(repeating: "z", count: 904) + "!\n")
    }

    /// A 4096-byte line is not "over 4 KiB": it stays one line even when its newline comes
    /// in a later write, rather than becoming a piece followed by an empty prefixed line.
    @Test func keepsA4096ByteLineWholeWhenItsNewlineArrivesLater() throws {
        let bench = try RelayBench()
        let line = String(repeating: "x", count: 4096)
        bench.childWrites(line)
        #expect(bench.relay.readOnce() == .data)
        bench.childWrites("\nnext\n")
        #expect(bench.relay.readOnce() == .data)
        #expect(bench.relayed() == "web | " + line + "\nweb | next\n")
    }

    @Test func passesBytesThroughUnchangedEvenWhenTheyAreNotUTF8() throws {
        let bench = try RelayBench()
        bench.childWrites([0xff, 0xfe, 0x00, 0x1b, 0x5b, 0x6d, 0x0d, 0x0a])
        #expect(bench.relay.readOnce() == .data)
        #expect(bench.relayedBytes() == Array("web | ".utf8) + [0xff, 0xfe, 0x00, 0x1b, 0x5b, 0x6d, 0x0d, 0x0a])
    }

    @Test func usesTheGivenPrefix() throws {
        let bench = try RelayBench(prefix: "php-fpm.2 | ")
        bench.childWrites("ready\n")
        _ = bench.relay.readOnce()
        #expect(bench.relayed() == "php-fpm.2 | ready\n")
    }

    @Test func losesNothingWhenLinesArriveInArbitraryPieces() throws {
        let bench = try RelayBench()
        let lines = (0..<2000).map { i in "line \(i) " + String(repeating: "#", count: (i * 37) % 300) }
        let stream = Array(lines.joined(separator: "\n").utf8) + Array("\nend".utf8)
        let expected = lines.map { "web | \($0)\n" }.joined() + "web | end\n"
        var relayed: [UInt8] = []
        var offset = 0
        var size = 1
        while offset < stream.count {
            let end = min(stream.count, offset + size)
            bench.childWrites(Array(stream[offset..<end]))
            #expect(bench.relay.readOnce() == .data)
            relayed += bench.relayedBytes()
            offset = end
            size = size * 7 % 5003 + 1   // piece sizes from 1 byte to ~5 KiB
        }
        bench.childCloses()
        #expect(bench.relayUntilEnd())
        relayed += bench.relayedBytes()
        #expect(String(decoding: relayed, as: UTF8.self) == expected)
    }
}
