#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file written next to its destination and renamed over it: readers see the old file or
/// the new one, never a part. Two files that must change together (a key and its
/// certificate) are both prepared before either is committed. Every step after the walk to
/// the directory (see `WritableDirectory`) is relative to that directory's descriptor.
public final class AtomicFile {
    public let path: String
    private let directory: WritableDirectory
    private let name: String
    private var temporaryName: String?

    /// Writes `bytes` to a temporary file in the destination's directory (created if
    /// missing), with `mode` and `owner`, flushed to disk. Nothing visible changes yet.
    public init(path: String, bytes: [UInt8], mode: UInt32, owner: (uid: UInt32, gid: UInt32)? = nil) throws {
        self.path = path
        name = baseName(of: path)
        directory = try WritableDirectory(parentDirectory(of: path), for: path)
        let (fd, temporary) = try Self.createTemporary(for: name, in: directory.fd, path: path)
        temporaryName = temporary
        do {
            defer { close(fd) }
            // Errors name the destination: the temporary name means nothing to the reader.
            try syscall("set mode of the new \(path)") { fchmod(fd, mode_t(mode)) }
            if let owner { try syscall("set owner of the new \(path)") { fchown(fd, owner.uid, owner.gid) } }
            var offset = 0
            while offset < bytes.count {
                let n = try syscall("write the new \(path)") {
                    bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
                }
                offset += n
            }
            try syscall("flush the new \(path)") { fsync(fd) }
        } catch {
            discard()
            throw error
        }
    }

    /// `.NAME.ftinit-XXXXXX`, created exclusively (never an existing file or link).
    private static func createTemporary(for name: String, in directory: Int32, path: String) throws -> (Int32, String) {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        while true {
            let temporary = ".\(name).ftinit-" + String((0..<6).map { _ in alphabet.randomElement()! })
            let fd = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 { return (fd, temporary) }
            if errno != EEXIST && errno != EINTR { throw SystemError("create a temporary file for \(path)") }
        }
    }

    /// Renames the temporary file over the destination and flushes the directory entry.
    public func commit() throws {
        guard let temporary = temporaryName else { return }
        do {
            try syscall("rename \(directory.path)/\(temporary) to \(path)") {
                renameat(directory.fd, temporary, directory.fd, name)
            }
        } catch {
            discard()
            throw error
        }
        temporaryName = nil
        directory.flush()
    }

    /// Removes the temporary file; the destination stays as it was.
    public func discard() {
        if let temporary = temporaryName { unlinkat(directory.fd, temporary, 0) }
        temporaryName = nil
    }

    deinit { discard() }
}

func parentDirectory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

func baseName(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
}

/// `mkdir -p` with mode 0755.
func makeDirectories(_ path: String) throws {
    var info = stat()
    if stat(path, &info) == 0 { return }
    let parent = parentDirectory(of: path)
    if parent != path { try makeDirectories(parent) }
    if mkdir(path, 0o755) != 0 && errno != EEXIST { throw SystemError("create directory \(path)") }
}
