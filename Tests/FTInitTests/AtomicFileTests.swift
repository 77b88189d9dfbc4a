import Foundation
import Glibc
import Testing
@testable import FTInit

/// Files written next to their destination and renamed over it: readers see the old file or
/// the new one, never a part, and an abandoned write leaves nothing behind.
@Suite struct AtomicFileTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// The temporary files of `directory`: what a crash or an abandoned write would leave.
    static func temporaries(_ directory: TemporaryDirectory, _ sub: String = "") -> [String] {
        directory.entries(sub).filter { $0.contains(".ftinit-") }
    }

    @Test func nothingVisibleChangesBeforeCommit() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("app.conf")
        try writeFile(path, "old\n")
        let file = try AtomicFile(path: path, bytes: Self.bytes("new\n"), mode: 0o644)
        #expect(contents(of: path) == "old\n")
        // The new content waits, complete, in a hidden temporary file of the same directory.
        let pending = Self.temporaries(directory)
        #expect(pending.count == 1)
        #expect(pending.first?.hasPrefix(".app.conf.ftinit-") == true)
        #expect(pending.first.flatMap { contents(of: directory.file($0)) } == "new\n")
        withExtendedLifetime(file) {}
    }

    @Test func commitReplacesTheFileByRenaming() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("app.conf")
        try writeFile(path, "a much longer old content\n")
        let before = inode(of: path)
        let file = try AtomicFile(path: path, bytes: Self.bytes("new\n"), mode: 0o644)
        try file.commit()
        #expect(contents(of: path) == "new\n")
        #expect(inode(of: path) != before, "rewritten in place: a reader could see part of it")
        #expect(directory.entries() == ["app.conf"])
    }

    @Test func commitCreatesAFileThatDidNotExist() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("new.conf")
        try AtomicFile(path: path, bytes: Self.bytes("hello"), mode: 0o600).commit()
        #expect(contents(of: path) == "hello")
        #expect(directory.entries() == ["new.conf"])
    }

    @Test func aSecondCommitChangesNothing() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("app.conf")
        let file = try AtomicFile(path: path, bytes: Self.bytes("one\n"), mode: 0o644)
        try file.commit()
        try writeFile(path, "changed since\n")
        try file.commit()
        #expect(contents(of: path) == "changed since\n")
    }

    @Test func discardLeavesTheOldFileAndNoTemporary() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("app.conf")
        try writeFile(path, "old\n")
        let before = inode(of: path)
        let file = try AtomicFile(path: path, bytes: Self.bytes("new\n"), mode: 0o644)
        file.discard()
        #expect(contents(of: path) == "old\n")
        #expect(inode(of: path) == before)
        #expect(directory.entries() == ["app.conf"])
        try file.commit()  // nothing left to commit
        #expect(contents(of: path) == "old\n")
    }

    @Test func releasingWithoutCommitLeavesTheOldFileAndNoTemporary() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("app.conf")
        try writeFile(path, "old\n")
        do {
            let file = try AtomicFile(path: path, bytes: Self.bytes("new\n"), mode: 0o644)
            #expect(Self.temporaries(directory).count == 1)
            withExtendedLifetime(file) {}
        }
        #expect(contents(of: path) == "old\n")
        #expect(directory.entries() == ["app.conf"])
    }

    @Test func releasingWithoutCommitCreatesNothing() throws {
        let directory = try TemporaryDirectory()
        _ = try AtomicFile(path: directory.file("never.conf"), bytes: Self.bytes("x"), mode: 0o644)
        #expect(directory.entries() == [])
    }

    @Test func createsMissingParentDirectories() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("etc/nginx/http.d/default.conf")
        try AtomicFile(path: path, bytes: Self.bytes("server {}\n"), mode: 0o644).commit()
        #expect(contents(of: path) == "server {}\n")
        var isDirectory: ObjCBool = false
        for sub in ["etc", "etc/nginx", "etc/nginx/http.d"] {
            #expect(FileManager.default.fileExists(atPath: directory.file(sub), isDirectory: &isDirectory) && isDirectory.boolValue, "\(sub)")
        }
        #expect(directory.entries("etc/nginx/http.d") == ["default.conf"])
    }

    @Test(arguments: [0o644, 0o600, 0o640, 0o400, 0o755, 0o666, 0o4755] as [UInt32])
    func appliesTheModeWhateverTheUmask(mode: UInt32) throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("f")
        try AtomicFile(path: path, bytes: Self.bytes("x"), mode: mode).commit()
        #expect(permissions(of: path) == mode)
    }

    @Test func replacingAFileTakesTheNewMode() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("key.pem")
        try writeFile(path, "old key\n")
        chmod(path, 0o644)
        try AtomicFile(path: path, bytes: Self.bytes("new key\n"), mode: 0o600).commit()
        #expect(permissions(of: path) == 0o600)
    }

    @Test func writesLargeAndBinaryContentExactly() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("blob")
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        try AtomicFile(path: path, bytes: bytes, mode: 0o644).commit()
        #expect(FileManager.default.contents(atPath: path).map(Array.init) == bytes)
    }

    @Test func writesAnEmptyFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("empty")
        try writeFile(path, "not empty")
        try AtomicFile(path: path, bytes: [], mode: 0o644).commit()
        #expect(contents(of: path) == "")
    }

    @Test func twoFilesPreparedTogetherChangeOnlyWhenEachIsCommitted() throws {
        let directory = try TemporaryDirectory()
        let key = directory.file("key.pem"), cert = directory.file("cert.pem")
        try writeFile(key, "old key")
        try writeFile(cert, "old cert")
        let keyFile = try AtomicFile(path: key, bytes: Self.bytes("new key"), mode: 0o600)
        let certFile = try AtomicFile(path: cert, bytes: Self.bytes("new cert"), mode: 0o644)
        #expect(Self.temporaries(directory).count == 2)
        try keyFile.commit()
        #expect(contents(of: key) == "new key")
        #expect(contents(of: cert) == "old cert")
        try certFile.commit()
        #expect(contents(of: cert) == "new cert")
        #expect(directory.entries() == ["cert.pem", "key.pem"])
    }

    @Test func failsWithoutLeavingAnythingWhenTheDirectoryCannotBeMade() throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("blocker"), "a file, not a directory")
        let path = directory.file("blocker/sub/app.conf")
        #expect(throws: SystemError.self) {
            try AtomicFile(path: path, bytes: Self.bytes("x"), mode: 0o644)
        }
        #expect(directory.entries() == ["blocker"])
        #expect(contents(of: directory.file("blocker")) == "a file, not a directory")
    }

    @Test func aCommitOverADirectoryFailsAndCleansUp() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("taken")
        try FileManager.default.createDirectory(atPath: path + "/inside", withIntermediateDirectories: true)
        let file = try AtomicFile(path: path, bytes: Self.bytes("x"), mode: 0o644)
        #expect(throws: SystemError.self) { try file.commit() }
        #expect(directory.entries() == ["taken"])
        #expect(directory.entries("taken") == ["inside"])
    }

    @Test(.enabled(if: getuid() == 0, "chown needs root"))
    func appliesTheOwner() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("key.pem")
        try AtomicFile(path: path, bytes: Self.bytes("k"), mode: 0o600, owner: (uid: 4242, gid: 4343)).commit()
        var info = stat()
        try #require(stat(path, &info) == 0)
        #expect(info.st_uid == 4242 && info.st_gid == 4343)
        #expect(permissions(of: path) == 0o600)
    }

    // MARK: no symbolic link on the way, no directory another user can change (issue 14, defect 11)

    /// A directory of the destination swapped for a link (by a user who can write its parent)
    /// would send root's write anywhere: refused, naming the link; its target is untouched.
    @Test(arguments: ["conf.d", "etc"])
    func aSymbolicLinkOnTheWayIsRefused(linked: String) throws {
        let directory = try TemporaryDirectory()
        let elsewhere = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("etc"), withIntermediateDirectories: true)
        let link = directory.file(linked == "etc" ? "etc" : "etc/conf.d")
        if linked == "etc" { try FileManager.default.removeItem(atPath: link) }
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: elsewhere.path)
        let path = directory.file(linked == "etc" ? "etc/app.conf" : "etc/conf.d/app.conf")
        let error = #expect(throws: SystemError.self) {
            try AtomicFile(path: path, bytes: Self.bytes("x"), mode: 0o644)
        }
        #expect(error?.description.hasPrefix("unable to write \(path): \(link) is a symbolic link") == true, "\(String(describing: error))")
        #expect(elsewhere.entries() == [], "written through the link")
    }

    /// The destination itself may be a link: the rename replaces the link, never its target.
    @Test func aLinkAtTheDestinationIsReplacedNotFollowed() throws {
        let directory = try TemporaryDirectory()
        let elsewhere = try TemporaryDirectory()
        try writeFile(elsewhere.file("target"), "precious\n")
        let path = directory.file("app.conf")
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: elsewhere.file("target"))
        try AtomicFile(path: path, bytes: Self.bytes("new\n"), mode: 0o644).commit()
        #expect(contents(of: elsewhere.file("target")) == "precious\n")
        #expect(contents(of: path) == "new\n")
        var info = stat()
        #expect(lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG)
    }

    /// A directory every user may write (minikube's hostPath volumes are 0777), or one a
    /// group other than root's may write: refused, naming it and why.
    @Test(arguments: [(0o777, "every user may write it (mode 0777)"), (0o775, "group 4343 may write it (mode 0775)")] as [(mode_t, String)])
    func aDirectoryOthersCanChangeIsRefused(mode: mode_t, reason: String) throws {
        let directory = try TemporaryDirectory()
        let shared = directory.file("shared")
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        if mode & S_IWGRP != 0 && mode & S_IWOTH == 0 {
            guard getuid() == 0 else { print("skipped: chgrp to a foreign group needs root"); return }
            try #require(chown(shared, 0, 4343) == 0)
        }
        try #require(chmod(shared, mode) == 0)
        let path = shared + "/app.conf"
        let error = #expect(throws: SystemError.self) {
            try AtomicFile(path: path, bytes: Self.bytes("x"), mode: 0o644)
        }
        #expect(error?.description == "unable to write \(path): its directory \(shared) can be changed by another user: \(reason)")
        #expect(directory.entries("shared") == [])
    }

    /// A sticky directory (/tmp) is safe to write into: other users may add names there but
    /// cannot rename or remove what ftinit wrote.
    @Test func aStickyDirectoryEveryUserMayWriteIsTrusted() throws {
        let directory = try TemporaryDirectory()
        let shared = directory.file("shared")
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        try #require(chmod(shared, 0o1777) == 0)
        try AtomicFile(path: shared + "/app.conf", bytes: Self.bytes("x"), mode: 0o644).commit()
        #expect(contents(of: shared + "/app.conf") == "x")
    }

    @Test(.enabled(if: getuid() == 0, "chown needs root"))
    func aDirectoryOfAnotherUserIsRefused() throws {
        let directory = try TemporaryDirectory()
        let theirs = directory.file("theirs")
        try FileManager.default.createDirectory(atPath: theirs, withIntermediateDirectories: true)
        try #require(chown(theirs, 4242, 4242) == 0 && chmod(theirs, 0o755) == 0)
        let error = #expect(throws: SystemError.self) {
            try AtomicFile(path: theirs + "/app.conf", bytes: Self.bytes("x"), mode: 0o644)
        }
        #expect(error?.description == "unable to write \(theirs)/app.conf: its directory \(theirs) can be changed by another user: it belongs to uid 4242")
        #expect(directory.entries("theirs") == [])
    }

    /// Only the directory written into must be ftinit's: one of ftinit's own inside a 0777
    /// volume is trusted (no other user can rename or replace a root-owned 0755 directory).
    @Test func aDirectoryOfItsOwnInsideASharedOneIsTrusted() throws {
        let directory = try TemporaryDirectory()
        let volume = directory.file("volume")
        try FileManager.default.createDirectory(atPath: volume, withIntermediateDirectories: true)
        try #require(chmod(volume, 0o777) == 0)
        let path = volume + "/tls/cert.pem"
        try AtomicFile(path: path, bytes: Self.bytes("x"), mode: 0o644).commit()
        #expect(contents(of: path) == "x")
        #expect(permissions(of: volume + "/tls").map { $0 & 0o022 } == 0, "ftinit's directory is writable by others")
    }

    @Test(arguments: [
        ("/etc/app.conf", "/etc", "app.conf"),
        ("/app.conf", "/", "app.conf"),
        ("/a/b/c", "/a/b", "c"),
        ("relative/file", "relative", "file"),
        ("file", ".", "file"),
    ])
    func splitsAPathIntoDirectoryAndName(path: String, directory: String, name: String) {
        #expect(parentDirectory(of: path) == directory)
        #expect(baseName(of: path) == name)
    }
}
