import CLinux
import Glibc
import Testing
@testable import FTInit

/// ftinit's own output stream (issue 14, defect 2): writing into a pipe nobody reads never
/// blocks; what does not fit is queued up to a bound, then dropped, counted and reported once
/// the stream flows again.
@Suite struct OutputSinkTests {
    /// A pipe whose reader stalls: the sink writes into it.
    final class StalledPipe {
        var ends: [Int32] = [-1, -1]

        init() throws {
            try #require(ftinit_pipe_cloexec(&ends) == 0)
            try setNonBlocking(ends[0])
        }

        deinit { for fd in ends { close(fd) } }

        /// The reader wakes up with room for everything (F_SETPIPE_SZ to 1 MiB).
        func makeRoom() throws {
            try #require(fcntl(ends[1], 1031, 1 << 20) >= 1 << 20, "F_SETPIPE_SZ: \(errorString(errno))")
        }

        func readAll() -> String {
            var output: [UInt8] = []
            _ = drain(ends[0], budget: .max) { output += $0 }
            return String(decoding: output, as: UTF8.self)
        }
    }

    @Test func aStalledReaderNeverBlocksAndDroppedLinesAreReportedOnceItReads() throws {
        let pipe = try StalledPipe()
        let sink = OutputSink(pipe.ends[1], name: "test")
        let line = String(repeating: "x", count: 99) + "\n"
        // 64 KiB fill the pipe, 256 KiB the queue, the rest is dropped: none of it may block.
        let total = (64 * 1024 + OutputSink.capacity) / 100 + 500
        var congested = false
        for _ in 0..<total {
            sink.write(line)
            congested = congested || sink.isCongested
        }
        #expect(congested, "the queue never went over its high-water mark")

        try pipe.makeRoom()
        sink.flushAtExit(within: .seconds(1))
        let text = pipe.readAll()
        let lines = text.split(separator: "\n")
        let dropped = try #require(lines.last.flatMap { $0.split(separator: "=").last }.flatMap { Int($0) }, "no report: \(lines.last ?? "")")
        #expect(lines.last?.hasPrefix("ftinit: warn output-dropped stream=test lines=") == true)
        #expect(dropped >= 400 && dropped < total, "\(dropped) of \(total) dropped")
        #expect(lines.count - 1 + dropped == total, "every line is either out or counted")
        #expect(lines.dropLast().allSatisfy { $0.count == 99 }, "a line was cut or mixed")
    }

    @Test func aStreamThatFlowsWritesAtOnceAndQueuesNothing() throws {
        let pipe = try StalledPipe()
        let sink = OutputSink(pipe.ends[1], name: "test")
        sink.write("one\n")
        sink.write("two\n")
        #expect(!sink.isCongested)
        #expect(pipe.readAll() == "one\ntwo\n")
    }
}
