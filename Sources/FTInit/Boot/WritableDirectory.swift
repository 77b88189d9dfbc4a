#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux

/// The directory a file of ftinit's goes into, opened by walking its path one component at a
/// time without following symbolic links, and trusted only when no other user can change it.
///
/// ftinit writes as root. Resolved by path, a link planted on the way (by a service user who
/// can write one of those directories, a volume minikube made 0777 say) would send root's
/// write, owner and mode anywhere. Walked with `openat(O_NOFOLLOW | O_DIRECTORY)`, a link is
/// an error naming it; every later step (temporary file, rename, flush) is relative to the
/// descriptor, so nothing can be swapped between the check and the write. The descriptors are
/// O_PATH: a directory ftinit cannot read is still named in a refusal, not a Permission denied.
final class WritableDirectory {
    let fd: Int32
    let path: String

    /// Opens `path`, making missing directories (0755) on the way. `file` is what will be
    /// written there, for the messages.
    init(_ path: String, for file: String) throws {
        let fd = try Self.walk(to: path, for: file)
        do {
            try Self.refuseIfOthersCanChange(fd, path, file: file)
        } catch {
            close(fd)
            throw error
        }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Flushes the directory's entries (a rename) to disk, where the directory can be read.
    func flush() {
        let readable = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard readable >= 0 else { return }
        fsync(readable)
        close(readable)
    }

    private static func walk(to path: String, for file: String) throws -> Int32 {
        var fd = open(path.hasPrefix("/") ? "/" : ".", FTINIT_O_PATH | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open the directory of \(file)") }
        var walked = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            walked += "/\(component)"
            let next = Self.openOrMake(String(component), in: fd)
            let failure = errno
            // O_DIRECTORY | O_NOFOLLOW on a link fails with ENOTDIR (ELOOP without O_DIRECTORY).
            let isLink = next < 0 && Self.isSymbolicLink(String(component), in: fd)
            close(fd)
            guard next >= 0 else {
                if isLink {
                    throw SystemError(operation: "write \(file)",
                                      message: "\(walked) is a symbolic link (ftinit follows none on the way to the files it writes: name the real directory)")
                }
                throw SystemError("open directory \(walked) for \(file)", errno: failure)
            }
            fd = next
        }
        return fd
    }

    private static func isSymbolicLink(_ name: String, in directory: Int32) -> Bool {
        var info = stat()
        return fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 && info.st_mode & S_IFMT == S_IFLNK
    }

    private static func openOrMake(_ name: String, in directory: Int32) -> Int32 {
        let flags = FTINIT_O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
        let fd = openat(directory, name, flags)
        guard fd < 0, errno == ENOENT else { return fd }
        guard mkdirat(directory, name, 0o755) == 0 || errno == EEXIST else { return -1 }
        return openat(directory, name, flags)
    }

    /// A directory that a user other than root (or ftinit's own) could change lets that user
    /// replace what ftinit writes there with files root's services then trust: refused,
    /// naming who could. A sticky one (/tmp's 1777) is not such a directory: others may add
    /// names to it, but not rename or remove the files ftinit put there.
    private static func refuseIfOthersCanChange(_ fd: Int32, _ path: String, file: String) throws {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SystemError("inspect directory \(path) for \(file)") }
        let mode = info.st_mode & 0o7777
        let reason: String?
        if info.st_uid != 0 && info.st_uid != geteuid() {
            reason = "it belongs to uid \(info.st_uid)"
        } else if mode & S_ISVTX != 0 {
            reason = nil  // sticky (/tmp): others may add entries, never rename or remove root's
        } else if mode & S_IWOTH != 0 {
            reason = "every user may write it (mode \(octal(mode)))"
        } else if mode & S_IWGRP != 0 && info.st_gid != 0 && info.st_gid != getegid() {
            reason = "group \(info.st_gid) may write it (mode \(octal(mode)))"
        } else {
            reason = nil
        }
        if let reason {
            throw SystemError(operation: "write \(file)",
                              message: "its directory \(path) can be changed by another user: \(reason)")
        }
    }
}

private func octal(_ mode: mode_t) -> String {
    "0" + String(mode, radix: 8)
}
