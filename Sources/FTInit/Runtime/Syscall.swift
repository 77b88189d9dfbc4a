#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed system call: what ftinit was trying to do and the errno it got.
public struct SystemError: Error, CustomStringConvertible {
    public let operation: String
    public let message: String

    public init(_ operation: String, errno: Int32 = Glibc.errno) {
        self.operation = operation
        self.message = errorString(errno)
    }

    /// For failures whose reason is not an errno (a resolver's, say).
    public init(operation: String, message: String) {
        self.operation = operation
        self.message = message
    }

    /// One message form everywhere: "unable to OPERATION: reason".
    public var description: String { "unable to \(operation): \(message)" }
}

/// `strerror(3)` as a Swift string.
public func errorString(_ code: Int32) -> String {
    String(cString: strerror(code))
}

/// Runs a libc call, retrying on EINTR, and throws `SystemError` when it returns -1.
/// Never used for `close`: retrying a close after EINTR may close a reused descriptor.
@discardableResult
func syscall<T: FixedWidthInteger>(_ operation: @autoclosure () -> String, _ body: () -> T) throws -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        if errno == EINTR { continue }
        throw SystemError(operation())
    }
}

/// Sets O_NONBLOCK (and keeps the other status flags).
func setNonBlocking(_ fd: Int32) throws {
    let flags = try syscall("read flags of fd \(fd)") { fcntl(fd, F_GETFL) }
    try syscall("set O_NONBLOCK on fd \(fd)") { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
}

/// Writes all of `bytes` to `fd`, waiting when the descriptor is non-blocking and full: for
/// the command-line clients, a control client's few bytes and a forked helper's answer.
/// PID 1's own stdout and stderr go through `OutputSink`, which never waits.
func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) {
    var offset = 0
    while offset < bytes.count {
        let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n > 0 {
            offset += n
        } else if n < 0 && errno == EINTR {
            continue
        } else if n < 0 && errno == EAGAIN {
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&pfd, 1, 100)
        } else {
            return  // EPIPE or a closed stream: nobody reads this output any more.
        }
    }
}

/// What one read of a non-blocking descriptor gave. Every reader in the loop reads through
/// `readOnce`, so each decides on these four answers and nothing else (EINTR is retried).
enum ReadResult: Equatable { case bytes(Int), wouldBlock, endOfStream, failed(Int32) }

func readOnce(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> ReadResult {
    while true {
        let n = read(fd, buffer.baseAddress, buffer.count)
        if n > 0 { return .bytes(n) }
        if n == 0 { return .endOfStream }
        if errno == EINTR { continue }
        return errno == EAGAIN ? .wouldBlock : .failed(errno)
    }
}

/// How a read of everything a non-blocking descriptor holds ended.
enum DrainEnd: Equatable { case wouldBlock, endOfStream, failed(Int32) }

/// Reads what non-blocking `fd` holds now, handing each chunk to `take`, at most `budget`
/// reads of 4 KiB: a child that keeps writing cannot hold the loop. `.wouldBlock` also when
/// the budget ran out; the level-triggered loop calls again while more is waiting.
func drain(_ fd: Int32, budget: Int = 16, _ take: (ArraySlice<UInt8>) -> Void) -> DrainEnd {
    var buffer = [UInt8](repeating: 0, count: 4096)
    for _ in 0..<budget {
        switch buffer.withUnsafeMutableBytes({ readOnce(fd, into: $0) }) {
        case .bytes(let n): take(buffer[..<n])
        case .wouldBlock: return .wouldBlock
        case .endOfStream: return .endOfStream
        case .failed(let code): return .failed(code)
        }
    }
    return .wouldBlock
}

func writeAll(_ fd: Int32, _ text: String) {
    var text = text
    text.withUTF8 { writeAll(fd, UnsafeRawBufferPointer($0)) }
}

/// The text a C function wrote into `buffer`, up to its NUL (all of it when there is none).
func string(fromNulTerminated buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

extension Array where Element == UInt8 {
    /// Where `needle` first starts: `firstRange(of:)` lives in StringProcessing, which ftinit
    /// does not import (Package.swift, leanSwift).
    func firstIndex(ofBytes needle: [UInt8]) -> Int? {
        guard count >= needle.count else { return nil }
        return (0...(count - needle.count)).first { self[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
