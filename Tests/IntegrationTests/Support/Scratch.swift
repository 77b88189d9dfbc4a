import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A fresh temporary directory for one test: its config file and the marker files its
/// services write. Mode 0777 (sticky) so services running as `nobody` can write there too.
/// Call `remove()` in a `defer`.
struct Scratch: Sendable {
    let path: String

    init() throws {
        var template = Array("/tmp/ftinit-it-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw SpawnError.system("mkdtemp", errno) }
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        chmod(path, 0o1777)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Absolute path of `name` inside the directory.
    func file(_ name: String) -> String { "\(path)/\(name)" }

    /// Writes `text` to `name` and returns its absolute path.
    @discardableResult
    func write(_ name: String, _ text: String, mode: mode_t = 0o644) throws -> String {
        let target = file(name)
        try text.write(toFile: target, atomically: false, encoding: .utf8)
        chmod(target, mode)
        return target
    }

    /// Writes the config (`ftinit.conf`) and returns its path.
    @discardableResult
    func config(_ text: String) throws -> String {
        try write("ftinit.conf", text)
    }

    func read(_ name: String) -> String? {
        FileManager.default.contents(atPath: file(name)).map { String(decoding: $0, as: UTF8.self) }
    }

    func exists(_ name: String) -> Bool {
        access(file(name), F_OK) == 0
    }

    /// Waits until `name` exists (services write markers to say "I am ready").
    func waitFor(_ name: String, timeout: Duration = .seconds(5), sourceLocation: SourceLocation = #_sourceLocation, report: @autoclosure () -> String = "") throws {
        let appeared = Poll.until(timeout: timeout) { exists(name) }
        try #require(appeared, "\(file(name)) did not appear within \(timeout)\(report())", sourceLocation: sourceLocation)
    }

    /// The lines of `name` (empty when it does not exist).
    func lines(_ name: String) -> [String] {
        (read(name) ?? "").split(separator: "\n").map(String.init)
    }
}
