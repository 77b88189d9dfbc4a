import Foundation
import Testing
@testable import FTInit

/// How `run`'s first word becomes the file to exec: PATH search like execvp, 127 vs 126.
@Suite struct ResolveExecutableTests {
    /// A fresh directory holding `files` (name -> executable?).
    static func directory(_ files: [String: Bool]) throws -> String {
        let path = NSTemporaryDirectory() + "ftinit-resolve-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, executable) in files {
            let file = path + "/" + name
            #expect(FileManager.default.createFile(atPath: file, contents: Data("#!/bin/sh\n".utf8)))
            try FileManager.default.setAttributes([.posixPermissions: executable ? 0o755 : 0o644], ofItemAtPath: file)
        }
        return path
    }

    static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    enum Outcome: Equatable {
        case success(String)
        case failure(exitCode: Int32)
    }

    static func resolved(_ name: String, _ searchPath: String) -> Outcome {
        switch resolveExecutable(name, searchPath: searchPath) {
        case .success(let path): return .success(path)
        case .failure(let error): return .failure(exitCode: error.exitCode)
        }
    }

    @Test func searchesEveryDirectoryOfPathInOrder() throws {
        let first = try Self.directory(["other": true])
        let second = try Self.directory(["tool": true])
        let third = try Self.directory(["tool": true])
        defer { [first, second, third].forEach(Self.remove) }
        #expect(Self.resolved("tool", "\(first):\(second):\(third)") == .success(second + "/tool"))
    }

    @Test func skipsANonExecutableMatchForALaterExecutableOne() throws {
        let first = try Self.directory(["tool": false])
        let second = try Self.directory(["tool": true])
        defer { [first, second].forEach(Self.remove) }
        #expect(Self.resolved("tool", "\(first):\(second)") == .success(second + "/tool"))
    }

    @Test func skipsDirectoriesNamedLikeTheCommand() throws {
        let first = try Self.directory([:])
        let second = try Self.directory(["tool": true])
        defer { [first, second].forEach(Self.remove) }
        try FileManager.default.createDirectory(atPath: first + "/tool", withIntermediateDirectories: false)
        #expect(Self.resolved("tool", "\(first):\(second)") == .success(second + "/tool"))
    }

    @Test func aCommandFoundNowhereIs127() throws {
        let empty = try Self.directory([:])
        defer { Self.remove(empty) }
        #expect(Self.resolved("no-such-command-ftinit", "\(empty):/usr/bin:/bin") == .failure(exitCode: 127))
    }

    @Test func aCommandFoundOnlyWithoutExecutePermissionIs126() throws {
        let dir = try Self.directory(["tool": false])
        defer { Self.remove(dir) }
        #expect(Self.resolved("tool", dir) == .failure(exitCode: 126))
    }

    @Test func findsSystemCommandsOnTheDefaultPath() {
        guard case .success(let path) = Self.resolved("sh", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") else {
            Issue.record("sh not found")
            return
        }
        #expect(path.hasSuffix("/sh"))
        #expect(FileManager.default.isExecutableFile(atPath: path))
    }

    @Test func aNameWithASlashIsUsedAsItIsWithoutSearching() throws {
        let dir = try Self.directory(["tool": true, "data": false])
        defer { Self.remove(dir) }
        #expect(Self.resolved(dir + "/tool", "/nonexistent") == .success(dir + "/tool"))
        #expect(Self.resolved("/bin/sh", "") == .success("/bin/sh"))
        #expect(Self.resolved(dir + "/missing", "/usr/bin:/bin") == .failure(exitCode: 127))
        #expect(Self.resolved(dir + "/data", "/usr/bin:/bin") == .failure(exitCode: 126))
        #expect(Self.resolved(dir + "/tool/below", "/usr/bin:/bin") == .failure(exitCode: 127))   // ENOTDIR
    }
}
