import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `ftinit cert` makes (or keeps) the same TLS pair `[tls]` does at boot (docs/ftinit.md,
/// "Boot: templates and the TLS pair"); everything it wrote is checked with the real `openssl` CLI.
extension Integration {
    @Suite(.requires(.tools(["openssl"]), what: "ftinit cert tests"))
    struct CertificateCommand {
        static let names = ["web.test", "localhost"]
        static let ips = ["127.0.0.1", "::1"]

        static func certArguments(_ scratch: Scratch, keyType: String = "ec-p256", days: Int = 365,
                                  names: [String] = names, ips: [String] = ips) -> [String] {
            ["cert", "--cert", scratch.file("cert.pem"), "--key", scratch.file("key.pem")]
                + names.flatMap { ["--name", $0] } + ips.flatMap { ["--ip", $0] }
                + ["--key-type", keyType, "--days", "\(days)"]
        }

        @Test(arguments: [
            ("ec-p256", "id-ecPublicKey", "ecdsa-with-SHA256"),
            ("rsa2048", "rsaEncryption", "sha256WithRSAEncryption"),
        ])
        func certMakesASelfSignedServerCertificateThatOpensslVerifies(keyType: String, keyAlgorithm: String, signature: String) throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let cert = scratch.file("cert.pem")
            let key = scratch.file("key.pem")

            let before = Date()
            let result = try Tool.ftinit(Self.certArguments(scratch, keyType: keyType, days: 30))
            #expect(result.code == 0, "\(result)")
            #expect(result.stdout.hasPrefix("\(cert), \(key): generated: ") && result.stdout.split(separator: "\n").count == 1,
                    "expected one line `CERT, KEY: generated: REASON`\n\(result)")

            let info = try CertificateInfo.read(cert)
            let dump = "\n\(info.text)"
            #expect(info.text.contains("Version: 3 (0x2)"), "not an X.509 v3 certificate\(dump)")
            #expect(info.subject == "CN=web.test", "CN must be the first name\(dump)")
            let sans = info.subjectAltNames
            #expect(sans.count == 4 && sans.contains("DNS:web.test") && sans.contains("DNS:localhost")
                    && sans.contains("IP Address:127.0.0.1")
                    && (sans.contains("IP Address:0:0:0:0:0:0:0:1") || sans.contains("IP Address:::1")),
                    "subjectAltName must hold every name and IP, got \(sans)\(dump)")
            let basic = info.extension("X509v3 Basic Constraints")
            #expect(basic?.critical == true && basic?.value == "CA:FALSE", "basicConstraints \(String(describing: basic))\(dump)")
            let usage = info.extension("X509v3 Key Usage")
            #expect(usage?.critical == true && usage?.value == "Digital Signature, Key Encipherment",
                    "keyUsage \(String(describing: usage))\(dump)")
            let extended = info.extension("X509v3 Extended Key Usage")
            #expect(extended?.value == "TLS Web Server Authentication", "extendedKeyUsage \(String(describing: extended))\(dump)")
            #expect(info.signatureAlgorithm == signature, "signature algorithm\(dump)")
            #expect(info.text.contains("Public Key Algorithm: \(keyAlgorithm)"), "key algorithm\(dump)")
            if keyType == "ec-p256" {
                #expect(info.text.contains("NIST CURVE: P-256"), "curve\(dump)")
            } else {
                #expect(info.text.contains("Public-Key: (2048 bit)"), "RSA size\(dump)")
            }
            // A random 128-bit serial: 16 bytes, 32 hex digits, positive.
            #expect(info.serialHex.count == 32 && info.serialHex.allSatisfy(\.isHexDigit), "serial \(info.serialHex)")
            #expect(info.serialHex.first.map { "01234567".contains($0) } == true, "serial \(info.serialHex) is not positive")
            // Valid from one hour ago (clock skew) for `days`.
            let validFrom = before.timeIntervalSince(info.notBefore)
            #expect(abs(validFrom - 3600) < 300, "notBefore is \(validFrom) s before now, expected about 3600 s\(dump)")
            let validFor = info.notAfter.timeIntervalSince(before)
            #expect(abs(validFor - 30 * 86_400) < 300, "notAfter is \(validFor) s from now, expected 30 days\(dump)")

            // The certificate verifies against itself, and the key belongs to it.
            let verify = try Tool.run(["openssl", "verify", "-CAfile", cert, cert])
            #expect(verify.code == 0 && verify.stdout.contains("\(cert): OK"), "\(verify)")
            #expect(try OpenSSL.keyMatches(cert: cert, key: key), "the key does not belong to the certificate")

            #expect(FileFacts.of(key)?.mode == 0o600, "key mode \(String(describing: FileFacts.of(key)))")
            #expect(FileFacts.of(cert)?.mode == 0o644, "cert mode \(String(describing: FileFacts.of(cert)))")
            #expect(scratch.entries() == ["cert.pem", "key.pem"], "temporary files left: \(scratch.entries())")
        }

        @Test func certKeepsAFitPairAndRegeneratesForANewIPOrKeyType() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let cert = scratch.file("cert.pem")
            let key = scratch.file("key.pem")

            let first = try Tool.ftinit(Self.certArguments(scratch))
            try #require(first.code == 0, "\(first)")
            let made = try #require(FileFacts.of(cert))
            let madeKey = try #require(FileFacts.of(key))
            let firstSerial = try CertificateInfo.read(cert).serialHex

            // Same request: kept, both files untouched. (Valid 365 days: with --days 30 or less the
            // pair would always expire within the default renew-before of 30 days.)
            let again = try Tool.ftinit(Self.certArguments(scratch))
            #expect(again.code == 0 && again.stdout.hasPrefix("\(cert), \(key): kept: "), "\(again)")
            #expect(FileFacts.of(cert) == made && FileFacts.of(key) == madeKey, "a kept pair was rewritten")

            // A subset of the names is still covered: kept.
            let subset = try Tool.ftinit(Self.certArguments(scratch, names: ["localhost"], ips: ["127.0.0.1"]))
            #expect(subset.code == 0 && subset.stdout.hasPrefix("\(cert), \(key): kept: "), "\(subset)")

            // One more IP: regenerated, and the new certificate covers everything.
            let moreIPs = Self.ips + ["10.9.8.7"]
            let widened = try Tool.ftinit(Self.certArguments(scratch, ips: moreIPs))
            #expect(widened.code == 0 && widened.stdout.hasPrefix("\(cert), \(key): generated: "), "\(widened)")
            let info = try CertificateInfo.read(cert)
            #expect(info.subjectAltNames.contains("IP Address:10.9.8.7") && info.subjectAltNames.contains("DNS:web.test"),
                    "\(info.subjectAltNames)")
            #expect(info.serialHex != firstSerial, "a new certificate has the old serial: not random")
            #expect(try OpenSSL.keyMatches(cert: cert, key: key))

            // Another key type: regenerated with an RSA key.
            let rsa = try Tool.ftinit(Self.certArguments(scratch, keyType: "rsa2048", ips: moreIPs))
            #expect(rsa.code == 0 && rsa.stdout.hasPrefix("\(cert), \(key): generated: "), "\(rsa)")
            #expect(try CertificateInfo.read(cert).text.contains("Public-Key: (2048 bit)"))
            #expect(try OpenSSL.keyMatches(cert: cert, key: key))
            #expect(scratch.entries() == ["cert.pem", "key.pem"], "temporary files left: \(scratch.entries())")
        }

        /// The certificate's directory cannot exist (its parent is a regular file): exit 73, a
        /// message naming the path, and the key that was already there is left as it was,
        /// with no temporary file next to it.
        @Test func certThatCannotBeWrittenExits73AndLeavesTheOldKeyAlone() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            try scratch.write("not-a-directory", "a regular file\n")
            let keys = scratch.file("keys")
            try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: false)
            let key = "\(keys)/key.pem"
            try OpenSSL.makeKey(key)
            chmod(key, 0o600)
            let oldKey = try #require(FileFacts.of(key))
            let cert = scratch.file("not-a-directory/cert.pem")

            let result = try Tool.ftinit(["cert", "--cert", cert, "--key", key, "--name", "web.test"])

            #expect(result.code == 73, "expected EX_CANTCREAT (73)\n\(result)")
            #expect(result.stderr.contains(cert) || result.stderr.contains(scratch.file("not-a-directory")),
                    "the error should name the path it could not write\n\(result)")
            #expect(FileFacts.of(key) == oldKey, "the existing key was changed")
            #expect((try? FileManager.default.contentsOfDirectory(atPath: keys)) == ["key.pem"],
                    "left behind: \(String(describing: try? FileManager.default.contentsOfDirectory(atPath: keys)))")
        }

        @Test(arguments: [
            ["cert", "--cert", "/tmp/ftinit-it-never/c.pem", "--key", "/tmp/ftinit-it-never/k.pem"],
            ["cert", "--cert", "/tmp/ftinit-it-never/c.pem", "--name", "a.test"],
            ["cert", "--cert", "/tmp/ftinit-it-never/c.pem", "--key", "/tmp/ftinit-it-never/k.pem", "--ip", "999.1.2.3"],
            ["cert", "--cert", "/tmp/ftinit-it-never/c.pem", "--key", "/tmp/ftinit-it-never/k.pem", "--name", "a.test", "--key-type", "dsa"],
        ])
        func certWithBadArgumentsIsAUsageError(arguments: [String]) throws {
            let result = try Tool.ftinit(arguments)
            #expect(result.code == 64, "\(result)")
            #expect(access("/tmp/ftinit-it-never", F_OK) != 0, "a usage error wrote files")
        }
    }
}
