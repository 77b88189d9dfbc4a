import Foundation
import Testing

/// What the real `openssl` CLI says about a certificate or key: the tests never trust ftinit's
/// own reading of what it wrote.
struct CertificateInfo: Sendable {
    /// `openssl x509 -noout -text`.
    let text: String
    /// Upper-case hex, no colons (`openssl x509 -serial`).
    let serialHex: String
    let notBefore: Date
    let notAfter: Date
    /// `AB:CD:...` (`openssl x509 -fingerprint -sha256`).
    let fingerprint: String
    let subject: String

    /// Reads `path` with `openssl x509`; fails the test when openssl cannot.
    static func read(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> CertificateInfo {
        let text = try OpenSSL.run(["x509", "-in", path, "-noout", "-text"], sourceLocation: sourceLocation)
        let facts = try OpenSSL.run(["x509", "-in", path, "-noout", "-serial", "-startdate", "-enddate",
                                     "-fingerprint", "-sha256", "-subject", "-nameopt", "RFC2253"], sourceLocation: sourceLocation)
        var values: [String: String] = [:]
        for line in facts.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals]).trimmingCharacters(in: .whitespaces)] = String(line[line.index(after: equals)...])
                .trimmingCharacters(in: .whitespaces)
        }
        let serial = try #require(values["serial"], "no serial in\n\(facts)", sourceLocation: sourceLocation)
        let notBefore = try #require(values["notBefore"].flatMap(OpenSSL.date), "no notBefore in\n\(facts)", sourceLocation: sourceLocation)
        let notAfter = try #require(values["notAfter"].flatMap(OpenSSL.date), "no notAfter in\n\(facts)", sourceLocation: sourceLocation)
        let fingerprint = try #require(values.first { $0.key.hasSuffix("Fingerprint") }?.value, "no fingerprint in\n\(facts)",
                                       sourceLocation: sourceLocation)
        return CertificateInfo(text: text, serialHex: serial, notBefore: notBefore, notAfter: notAfter,
                               fingerprint: fingerprint, subject: values["subject"] ?? "")
    }

    /// The line(s) under an extension's heading in the text dump, and whether it is critical:
    /// `X509v3 Key Usage: critical` / `    Digital Signature, Key Encipherment`.
    func `extension`(_ heading: String) -> (critical: Bool, value: String)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let index = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix(heading + ":") }),
              index + 1 < lines.count else { return nil }
        let critical = lines[index].contains("critical")
        return (critical, lines[index + 1].trimmingCharacters(in: .whitespaces))
    }

    /// subjectAltName entries as openssl prints them: `DNS:web.test`, `IP Address:127.0.0.1`.
    var subjectAltNames: [String] {
        guard let value = `extension`("X509v3 Subject Alternative Name")?.value else { return [] }
        return value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// The `Signature Algorithm:` of the certificate.
    var signatureAlgorithm: String? {
        text.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("Signature Algorithm:") }
            .map { $0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces) }
    }
}

enum OpenSSL {
    /// `openssl ARGS`; its stdout, failing the test when it does not exit 0.
    @discardableResult
    static func run(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let result = try Tool.run(["openssl"] + arguments, timeout: .seconds(30), sourceLocation: sourceLocation)
        try #require(result.succeeded, "openssl failed:\n\(result)", sourceLocation: sourceLocation)
        return result.stdout
    }

    /// The public key (PEM) of a private key file, per `openssl pkey -pubout`.
    static func publicKey(ofKey path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try run(["pkey", "-in", path, "-pubout"], sourceLocation: sourceLocation)
    }

    /// The public key (PEM) in a certificate, per `openssl x509 -pubkey`.
    static func publicKey(ofCertificate path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try run(["x509", "-in", path, "-noout", "-pubkey"], sourceLocation: sourceLocation)
    }

    /// Whether the key at `key` belongs to the certificate at `cert`.
    static func keyMatches(cert: String, key: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Bool {
        try publicKey(ofKey: key, sourceLocation: sourceLocation) == publicKey(ofCertificate: cert, sourceLocation: sourceLocation)
    }

    /// A fresh P-256 key written by openssl (one that belongs to no certificate).
    static func makeKey(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path], sourceLocation: sourceLocation)
    }

    /// A self-signed P-256 pair made by openssl, valid for `days`, for `names`.
    static func makeSelfSigned(cert: String, key: String, days: Int, names: [String],
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
        let san = names.map { "DNS:\($0)" }.joined(separator: ",")
        try run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", key, "-out", cert, "-days", "\(days)", "-subj", "/CN=\(names[0])",
                 "-addext", "subjectAltName=\(san)"], sourceLocation: sourceLocation)
    }

    /// `Nov 26 19:17:00 2026 GMT` (day padded with a space below 10).
    static func date(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy zzz"
        let squeezed = text.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        return formatter.date(from: squeezed)
    }
}
