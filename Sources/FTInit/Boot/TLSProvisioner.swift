#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import COpenSSL

/// Makes sure the `[tls]` pair exists and is fit for use, regenerating it only when needed:
/// a pair is kept when the key matches the certificate, the key is of the configured type,
/// it does not expire within `renew-before`, and its subjectAltName covers every name and IP.
public enum TLSProvisioner {
    public enum Outcome: Equatable, CustomStringConvertible {
        case generated(reason: String)
        case kept(reason: String)

        public var description: String {
            switch self {
            case .generated(let reason): return "generated: \(reason)"
            case .kept(let reason): return "kept: \(reason)"
            }
        }
    }

    public static func ensure(_ spec: TLSSpec, owner: Identity?) throws(BootError) -> Outcome {
        let ownerIDs = owner.map { (uid: $0.uid, gid: $0.gid) }
        switch inspect(spec) {
        case .fit(let reason):
            try fixKeyPermissions(spec.key, owner: ownerIDs)
            return .kept(reason: reason)
        case .unfit(let reason):
            try write(spec, owner: ownerIDs)
            return .generated(reason: reason)
        }
    }

    /// The owner or mode of a kept key may differ from the config (the owner changed since it
    /// was written): fix them, touching the file only when they differ, so a fitting pair on
    /// a read-only volume is kept without a write. On the open file, never by path: a key
    /// swapped for a symbolic link (by a user who can write its directory) would have ftinit,
    /// as root, hand the link's target to the key's owner. Such a key is refused.
    static func fixKeyPermissions(_ path: String, owner: (uid: UInt32, gid: UInt32)?) throws(BootError) {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ELOOP {
                throw .write("unable to use \(path) as the TLS key: it is a symbolic link (ftinit sets owner and mode only on a key file itself)")
            }
            throw .write("\(SystemError("open \(path)"))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .write("\(SystemError("inspect \(path)"))") }
        if let owner, info.st_uid != owner.uid || info.st_gid != owner.gid, fchown(fd, owner.uid, owner.gid) != 0 {
            throw .write("\(SystemError("set owner of \(path)"))")
        }
        if info.st_mode & 0o7777 != 0o600, fchmod(fd, 0o600) != 0 {
            throw .write("\(SystemError("set mode of \(path)"))")
        }
    }

    /// New key and certificate, both fully written to temporary files before either is
    /// renamed into place. A crash between the two renames leaves a key that does not match
    /// the certificate, which the next boot detects and replaces before anything reads it.
    static func write(_ spec: TLSSpec, owner: (uid: UInt32, gid: UInt32)?) throws(BootError) {
        let key = try Certificate.generateKey(spec.keyType)
        defer { EVP_PKEY_free(key) }
        let cert = try Certificate.makeCertificate(key: key, names: spec.names, ips: spec.ips, days: spec.days)
        defer { X509_free(cert) }
        let keyPEM = try Certificate.keyPEM(key)
        let certPEM = try Certificate.certificatePEM(cert)
        do {
            let keyFile = try AtomicFile(path: spec.key, bytes: keyPEM, mode: 0o600, owner: owner)
            let certFile = try AtomicFile(path: spec.cert, bytes: certPEM, mode: 0o644)
            try keyFile.commit()
            try certFile.commit()
        } catch {
            throw .write("\(error)")
        }
    }

    enum Verdict: Equatable {
        case fit(String)
        case unfit(String)
    }

    /// Whether the pair on disk can be kept, and why (or why not).
    static func inspect(_ spec: TLSSpec, now: time_t = time(nil)) -> Verdict {
        guard let certText = readFile(spec.cert) else { return .unfit("no certificate at \(spec.cert)") }
        guard let keyText = readFile(spec.key) else { return .unfit("no key at \(spec.key)") }
        guard let cert = Certificate.fromPEM(certText, { PEM_read_bio_X509($0, nil, nil, nil) }) else {
            return .unfit("\(spec.cert) holds no readable certificate")
        }
        defer { X509_free(cert) }
        guard let key = Certificate.fromPEM(keyText, { PEM_read_bio_PrivateKey($0, nil, nil, nil) }) else {
            return .unfit("\(spec.key) holds no readable key")
        }
        defer { EVP_PKEY_free(key) }

        guard X509_check_private_key(cert, key) == 1 else {
            ERR_clear_error()
            return .unfit("the key does not match the certificate")
        }
        let actualType = keyType(of: key)
        guard actualType == spec.keyType.rawValue else {
            return .unfit("the key is \(actualType), the config wants \(spec.keyType.rawValue)")
        }
        var threshold = now + time_t(spec.renewBefore.milliseconds / 1000)
        let notAfter = X509_get0_notAfter(cert)
        guard X509_cmp_time(notAfter, &threshold) > 0 else {
            return .unfit("it expires \(timeText(notAfter)), within renew-before (\(spec.renewBefore))")
        }
        let (dnsNames, ipAddresses) = subjectAltNames(cert)
        let missing = spec.names.filter { !dnsNames.contains($0.lowercased()) }.map { "DNS:\($0)" }
            + spec.ips.filter { !ipAddresses.contains(addressBytes($0)) }.map { "IP:\($0)" }
        guard missing.isEmpty else {
            return .unfit("subjectAltName lacks \(missing.joined(separator: ", "))")
        }
        return .fit("valid until \(timeText(notAfter)), key matches, covers every name and IP")
    }

    static func keyType(of key: OpaquePointer) -> String {
        let bits = EVP_PKEY_get_bits(key)
        switch EVP_PKEY_get_base_id(key) {
        case EVP_PKEY_EC: return bits == 256 ? "ec-p256" : "ec-\(bits)"
        case EVP_PKEY_RSA: return "rsa\(bits)"
        default: return "an unsupported key type"
        }
    }

    /// The DNS names (lowercased) and IP addresses (raw bytes) of the certificate's subjectAltName.
    static func subjectAltNames(_ cert: OpaquePointer) -> (dns: [String], ips: [[UInt8]]) {
        guard let raw = X509_get_ext_d2i(cert, NID_subject_alt_name, nil, nil) else { return ([], []) }
        let names = OpaquePointer(raw)
        defer { ftinit_general_names_free(names) }
        var dns: [String] = []
        var ips: [[UInt8]] = []
        for i in 0..<ftinit_general_names_count(names) {
            guard let name = ftinit_general_name_at(names, i) else { continue }
            switch name.pointee.type {
            case GEN_DNS: dns.append(String(decoding: bytes(of: name.pointee.d.dNSName), as: UTF8.self).lowercased())
            case GEN_IPADD: ips.append(bytes(of: name.pointee.d.iPAddress))
            default: break
            }
        }
        return (dns, ips)
    }

    private static func bytes(of string: UnsafeMutablePointer<ASN1_STRING>?) -> [UInt8] {
        guard let string, let data = ASN1_STRING_get0_data(string) else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(string))))
    }

    /// The 4 or 16 bytes of a literal IPv4/IPv6 address (empty when it is none).
    static func addressBytes(_ text: String) -> [UInt8] {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return []
    }

    /// `Nov 26 20:00:00 2027 GMT`
    static func timeText(_ time: UnsafePointer<ASN1_TIME>?) -> String {
        guard let time, let bio = BIO_new(BIO_s_mem()) else { return "?" }
        defer { BIO_free(bio) }
        guard ASN1_TIME_print(bio, time) == 1 else { return "?" }
        var data: UnsafeMutablePointer<CChar>?
        let count = ftinit_bio_mem_data(bio, &data)
        guard count > 0, let data else { return "?" }
        return data.withMemoryRebound(to: UInt8.self, capacity: count) {
            String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
        }
    }
}
