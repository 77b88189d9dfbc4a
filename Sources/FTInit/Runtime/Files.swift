#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Files ftinit reads whole (configs, templates, PEM, /etc/passwd) are small; a larger one is
/// refused (EFBIG) rather than read until memory runs out (`--config /dev/zero`).
let maxFileSize = 16 << 20

/// A whole file as text, or nil (errno set).
func readFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n > 0 {
            bytes += buffer[..<n]
            if bytes.count > maxFileSize { errno = EFBIG; return nil }
            continue
        }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
