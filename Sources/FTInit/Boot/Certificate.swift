#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import COpenSSL

/// Self-signed server certificates with libcrypto: key generation, signing, PEM in and out,
/// and reading back what an existing certificate says.
public enum Certificate {
    /// The newest OpenSSL error as a BootError, for messages.
    static func opensslError(_ what: String) -> BootError {
        .crypto("unable to \(what)" + (takeOpenSSLError().map { ": " + $0 } ?? ""))
    }

    /// A new private key of `type`.
    static func generateKey(_ type: KeyType) throws(BootError) -> OpaquePointer {
        let ctx = EVP_PKEY_CTX_new_id(type == .ecP256 ? EVP_PKEY_EC : EVP_PKEY_RSA, nil)
        guard let ctx else { throw opensslError("create a key context") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_keygen_init(ctx) == 1 else { throw opensslError("start key generation") }
        let configured: Int32
        switch type {
        case .ecP256: configured = EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, NID_X9_62_prime256v1)
        case .rsa2048: configured = EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048)
        case .rsa3072: configured = EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 3072)
        case .rsa4096: configured = EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 4096)
        }
        guard configured > 0 else { throw opensslError("set the key parameters") }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen(ctx, &key) == 1, let key else { throw opensslError("generate a \(type.rawValue) key") }
        return key
    }

    /// A self-signed X.509 v3 server certificate for `key`: SHA-256, random 128-bit serial,
    /// CN = first name, every name and IP in subjectAltName, CA:FALSE, serverAuth.
    static func makeCertificate(key: OpaquePointer, names: [String], ips: [String], days: Int) throws(BootError) -> OpaquePointer {
        guard let cert = X509_new() else { throw opensslError("allocate a certificate") }
        do throws(BootError) {
            guard X509_set_version(cert, 2) == 1 else { throw opensslError("set the certificate version") }
            try setRandomSerial(cert)
            // Back-dated an hour so a node whose clock lags a little still accepts it.
            guard X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != nil,
                  X509_gmtime_adj(X509_getm_notAfter(cert), days * 86_400) != nil
            else { throw opensslError("set the validity period") }
            let subject = X509_get_subject_name(cert)
            let commonName = names.first ?? ips.first ?? "ftinit"
            guard X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, commonName, -1, -1, 0) == 1,
                  X509_set_issuer_name(cert, subject) == 1,
                  X509_set_pubkey(cert, key) == 1
            else { throw opensslError("set the subject") }
            let altNames = (names.map { "DNS:\($0)" } + ips.map { "IP:\($0)" }).joined(separator: ",")
            try addExtension(cert, NID_subject_alt_name, altNames)
            try addExtension(cert, NID_basic_constraints, "critical,CA:FALSE")
            try addExtension(cert, NID_key_usage, "critical,digitalSignature,keyEncipherment")
            try addExtension(cert, NID_ext_key_usage, "serverAuth")
            guard X509_sign(cert, key, EVP_sha256()) > 0 else { throw opensslError("sign the certificate") }
            return cert
        } catch {
            X509_free(cert)
            throw error
        }
    }

    private static func setRandomSerial(_ cert: OpaquePointer) throws(BootError) {
        var bytes = [UInt8](repeating: 0, count: 16)
        guard RAND_bytes(&bytes, 16) == 1 else { throw opensslError("draw a random serial") }
        bytes[0] &= 0x7f  // positive, and never more than 16 bytes once DER-encoded
        bytes[0] |= 0x40  // and never shorter: always a full 128-bit-sized serial
        guard let number = BN_bin2bn(bytes, 16, nil) else { throw opensslError("make the serial") }
        defer { BN_free(number) }
        guard let serial = BN_to_ASN1_INTEGER(number, nil) else { throw opensslError("encode the serial") }
        defer { ASN1_INTEGER_free(serial) }
        guard X509_set_serialNumber(cert, serial) == 1 else { throw opensslError("set the serial") }
    }

    private static func addExtension(_ cert: OpaquePointer, _ nid: Int32, _ value: String) throws(BootError) {
        var ctx = X509V3_CTX()
        X509V3_set_ctx(&ctx, cert, cert, nil, nil, 0)
        let made = value.withCString { X509V3_EXT_conf_nid(nil, &ctx, nid, $0) }
        guard let made else { throw opensslError("make extension \(String(cString: OBJ_nid2sn(nid)))") }
        defer { X509_EXTENSION_free(made) }
        guard X509_add_ext(cert, made, -1) == 1 else { throw opensslError("add an extension") }
    }

    // MARK: PEM

    static func pem(_ write: (OpaquePointer) -> Int32) throws(BootError) -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw opensslError("allocate a buffer") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw opensslError("write PEM") }
        var data: UnsafeMutablePointer<CChar>?
        let count = ftinit_bio_mem_data(bio, &data)
        guard count > 0, let data else { throw opensslError("read PEM") }
        return data.withMemoryRebound(to: UInt8.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) }
    }

    static func keyPEM(_ key: OpaquePointer) throws(BootError) -> [UInt8] {
        try pem { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) }
    }

    static func certificatePEM(_ cert: OpaquePointer) throws(BootError) -> [UInt8] {
        try pem { PEM_write_bio_X509($0, cert) }
    }

    /// Parses PEM text with `read`; nil when it holds nothing readable.
    static func fromPEM(_ text: String, _ read: (OpaquePointer) -> OpaquePointer?) -> OpaquePointer? {
        var text = text
        return text.withUTF8 { bytes in
            guard let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else { return nil }
            defer { BIO_free(bio) }
            let result = read(bio)
            ERR_clear_error()
            return result
        }
    }
}

/// The newest OpenSSL error as text (nil when there is none); clears OpenSSL's error queue.
func takeOpenSSLError() -> String? {
    let code = ERR_get_error()
    ERR_clear_error()
    guard code != 0 else { return nil }
    var buffer = [CChar](repeating: 0, count: 256)
    ERR_error_string_n(code, &buffer, buffer.count)
    return string(fromNulTerminated: buffer)
}
