#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The metrics target's name lookup as `ChildWork`: the child answers `A` + the address, or
/// `E` + the resolver's error.
enum NameLookup {
    static func work(host: String, port: UInt16) -> () -> [UInt8] {
        {
            switch SocketAddress.resolve(host: host, port: port) {
            case .success(var address):
                return [UInt8(ascii: "A")] + withUnsafeBytes(of: &address.storage) { Array($0.prefix(Int(address.length))) }
            case .failure(let error):
                return [UInt8(ascii: "E")] + Array(error.message.utf8)
            }
        }
    }

    static func decode(_ answer: Result<[UInt8], SystemError>, host: String, port: UInt16) -> Result<SocketAddress, SystemError> {
        let bytes: [UInt8]
        switch answer {
        case .success(let got): bytes = got
        case .failure(let error): return .failure(error)
        }
        let failed = { (message: String) in Result<SocketAddress, SystemError>.failure(SystemError(operation: "resolve \(host)", message: message)) }
        guard let kind = bytes.first else { return failed("the lookup ended without an answer") }
        let body = bytes.dropFirst()
        guard kind == UInt8(ascii: "A") else { return failed(String(decoding: body, as: UTF8.self)) }
        guard body.count <= MemoryLayout<sockaddr_storage>.size else { return failed("an answer too long for an address") }
        var address = SocketAddress(description: "\(host):\(port)")
        address.length = socklen_t(body.count)
        withUnsafeMutableBytes(of: &address.storage) { $0.copyBytes(from: body) }
        return .success(address)
    }
}
