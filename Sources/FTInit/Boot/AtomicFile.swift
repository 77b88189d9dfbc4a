#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file written next to its destination and renamed over it: readers see the old file or
/// the new one, never a part. Two files that must change together (a key and its
/// certificate) are both prepared before either is committed.
public final class AtomicFile {
    public let path: String
    private var temporaryPath: String?

    /// Writes `bytes` to a temporary file in the destination's directory (created if
    /// missing), with `mode` and `owner`, flushed to disk. Nothing visible changes yet.
    public init(path: String, bytes: [UInt8], mode: UInt32, owner: (uid: UInt32, gid: UInt32)? = nil) throws {
        self.path = path
        let directory = parentDirectory(of: path)
        try makeDirectories(directory)
        var template = Array("\(directory)/.\(baseName(of: path)).ftinit-XXXXXX".utf8CString)
        // mkstemp has no close-on-exec flag; ftinit is single-threaded, so no fork can come
        // between it and the close below.
        let fd = try syscall("create a temporary file for \(path)") { mkstemp(&template) }
        let temporary = string(fromNulTerminated: template)
        temporaryPath = temporary
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

    /// Renames the temporary file over the destination and flushes the directory entry.
    public func commit() throws {
        guard let temporary = temporaryPath else { return }
        do {
            try syscall("rename \(temporary) to \(path)") { rename(temporary, path) }
        } catch {
            discard()
            throw error
        }
        temporaryPath = nil
        let directory = open(parentDirectory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 { fsync(directory); close(directory) }
    }

    /// Removes the temporary file; the destination stays as it was.
    public func discard() {
        if let temporary = temporaryPath { unlink(temporary) }
        temporaryPath = nil
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
