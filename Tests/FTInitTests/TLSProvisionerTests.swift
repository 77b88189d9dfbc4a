import COpenSSL
import Foundation
import Glibc
import Testing
@testable import FTInit

/// The `[tls]` pair: made with libcrypto, kept while fit, regenerated otherwise
/// (docs/ftinit.md, "Boot: templates and the TLS pair", step 2).
@Suite struct TLSProvisionerTests {
    static func spec(_ directory: TemporaryDirectory, names: [String] = ["web.example", "localhost"],
                     ips: [String] = ["127.0.0.1", "::1"], keyType: KeyType = .ecP256, days: Int = 365,
                     renewBefore: TimeSpan = TimeSpan(parsing: "30d")!) -> TLSSpec {
        var spec = TLSSpec(cert: directory.file("tls/cert.pem"), key: directory.file("tls/key.pem"),
                           names: names, ips: ips, line: 1)
        spec.keyType = keyType
        spec.days = days
        spec.renewBefore = renewBefore
        return spec
    }

    static func ensure(_ spec: TLSSpec, owner: Identity? = nil) throws -> TLSProvisioner.Outcome {
        try TLSProvisioner.ensure(spec, owner: owner)
    }

    /// The reason of a `.generated` outcome; nil for `.kept`.
    static func generatedReason(_ outcome: TLSProvisioner.Outcome) -> String? {
        if case .generated(let reason) = outcome { return reason }
        return nil
    }

    static func keptReason(_ outcome: TLSProvisioner.Outcome) -> String? {
        if case .kept(let reason) = outcome { return reason }
        return nil
    }

    /// The certificate at `path`, parsed by libcrypto; freed after `body`.
    static func withCertificate<T>(_ path: String, _ body: (OpaquePointer) throws -> T) throws -> T {
        let text = try #require(readFile(path))
        let cert = try #require(Certificate.fromPEM(text) { PEM_read_bio_X509($0, nil, nil, nil) })
        defer { X509_free(cert) }
        return try body(cert)
    }

    static func pair(_ spec: TLSSpec) -> (cert: String?, key: String?) {
        (contents(of: spec.cert), contents(of: spec.key))
    }

    // MARK: generate, then keep

    @Test func generatesAMissingPairThenKeepsIt() throws {
        let directory = try TemporaryDirectory()
        let spec = Self.spec(directory)
        let first = try Self.ensure(spec)
        #expect(first == .generated(reason: "no certificate at \(spec.cert)"))
        #expect(first.description == "generated: no certificate at \(spec.cert)")
        let written = Self.pair(spec)
        #expect(written.cert?.hasPrefix("-----BEGIN CERTIFICATE-----\n") == true)
        #expect(written.key?.hasPrefix("-----BEGIN PRIVATE KEY-----\n") == true)

        let second = try Self.ensure(spec)
        let reason = try #require(Self.keptReason(second), "\(second)")
        #expect(reason.hasPrefix("valid until "))
        #expect(reason.hasSuffix(" GMT, key matches, covers every name and IP"))
        #expect(second.description == "kept: \(reason)")
        #expect(Self.pair(spec) == written)
    }

    @Test func writesTheKeyAs0600AndTheCertificateAs0644WithNoTemporaryLeft() throws {
        let directory = try TemporaryDirectory()
        let spec = Self.spec(directory)
        _ = try Self.ensure(spec)
        #expect(permissions(of: spec.key) == 0o600)
        #expect(permissions(of: spec.cert) == 0o644)
        #expect(directory.entries("tls") == ["cert.pem", "key.pem"])
    }

    /// A fitting pair on a read-only volume must be kept: keeping it writes nothing at all,
    /// not even a chmod (which would change the inode's ctime).
    @Test func keepingAFittingPairTouchesNoFile() throws {
        let directory = try TemporaryDirectory()
        let spec = Self.spec(directory)
        _ = try Self.ensure(spec)
        func changed(_ path: String) -> String {
            var info = stat()
            return stat(path, &info) == 0 ? "\(info.st_ino) \(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)" : "missing"
        }
        let before = (changed(spec.key), changed(spec.cert), changed(directory.file("tls")))
        usleep(20_000)  // a change now would show in ctime
        #expect(Self.keptReason(try Self.ensure(spec)) != nil)
        let after = (changed(spec.key), changed(spec.cert), changed(directory.file("tls")))
        #expect(after == before)
    }

    @Test func aKeptKeyGetsMode0600Back() throws {
        let directory = try TemporaryDirectory()
        let spec = Self.spec(directory)
        _ = try Self.ensure(spec)
        chmod(spec.key, 0o644)
        #expect(Self.keptReason(try Self.ensure(spec)) != nil)
        #expect(permissions(of: spec.key) == 0o600)
    }

    @Test(.enabled(if: getuid() == 0, "chown needs root"))
    func theKeyBelongsToTheOwnerWhetherGeneratedOrKept() throws {
        let directory = try TemporaryDirectory()
        let spec = Self.spec(directory)
        func owner(_ path: String) -> String {
            var info = stat()
            return stat(path, &info) == 0 ? "\(info.st_uid):\(info.st_gid)" : "missing"
        }
        _ = try Self.ensure(spec, owner: Identity(uid: 4242, gid: 4343, groups: [], home: nil, userName: nil))
        #expect(owner(spec.key) == "4242:4343")
        #expect(owner(spec.cert) == "0:0")
        // The owner changed in the config: the kept key follows.
        let kept = try Self.ensure(spec, owner: Identity(uid: 5151, gid: 5252, groups: [], home: nil, userName: nil))
        #expect(Self.keptReason(kept) != nil)
        #expect(owner(spec.key) == "5151:5252")
    }

    // MARK: regenerate

    @Test func aNewIpRegenerates() throws {
        let directory = try TemporaryDirectory()
        var spec = Self.spec(directory, ips: ["127.0.0.1"])
        _ = try Self.ensure(spec)
        let old = Self.pair(spec)
        spec.ips = ["127.0.0.1", "192.168.49.2"]
        #expect(try Self.ensure(spec) == .generated(reason: "subjectAltName lacks IP:192.168.49.2"))
        let new = Self.pair(spec)
        #expect(new.cert != old.cert && new.key != old.key)
        #expect(Self.keptReason(try Self.ensure(spec)) != nil)
    }

    @Test func aNewNameRegenerates() throws {
        let directory = try TemporaryDirectory()
        var spec = Self.spec(directory, names: ["web"], ips: [])
        _ = try Self.ensure(spec)
        spec.names = ["web", "web.default.svc", "localhost"]
        #expect(try Self.ensure(spec) == .generated(reason: "subjectAltName lacks DNS:web.default.svc, DNS:localhost"))
    }

    @Test func everyMissingNameAndIpIsNamed() throws {
        let directory = try TemporaryDirectory()
        var spec = Self.spec(directory, names: ["a"], ips: ["10.0.0.1"])
        _ = try Self.ensure(spec)
        spec.names = ["b", "a"]
        spec.ips = ["10.0.0.2", "10.0.0.1", "fd00::1"]
        #expect(try Self.ensure(spec) == .generated(reason: "subjectAltName lacks DNS:b, IP:10.0.0.2, IP:fd00::1"))
    }

    @Test func aPairCoveringMoreThanTheConfigIsKept() throws {
        let directory = try TemporaryDirectory()
        var spec = Self.spec(directory, names: ["a", "b"], ips: ["10.0.0.1", "10.0.0.2"])
        _ = try Self.ensure(spec)
        spec.names = ["b"]
        spec.ips = ["10.0.0.2"]
        #expect(Self.keptReason(try Self.ensure(spec)) != nil)
    }

    @Test func namesCompareWithoutCaseAndAddressesByValue() throws {
        let directory = try TemporaryDirectory()
        var spec = Self.spec(directory, names: ["Web.Example"], ips: ["::1", "2001:db8::1"])
        _ = try Self.ensure(spec)
        spec.names = ["web.EXAMPLE"]
        spec.ips = ["0:0:0:0:0:0:0:1", "2001:0db8:0000::0001"]
        #expect(Self.keptReason(try Self.ensure(spec)) != nil)
    }

    @Test func anotherKeyTypeRegenerates() throws {
        let directory = try TemporaryDirectory()
        var spec = Self.spec(directory, keyType: .ecP256)
        _ = try Self.ensure(spec)
        spec.keyType = .rsa2048
        #expect(try Self.ensure(spec) == .generated(reason: "the key is ec-p256, the config wants rsa2048"))
        #expect(Self.keptReason(try Self.ensure(spec)) != nil)
        spec.keyType = .ecP256
        #expect(try Self.ensure(spec) == .generated(reason: "the key is rsa2048, the config wants ec-p256"))
    }

    @Test func aCertificateExpiringWithinRenewBeforeIsRegeneratedEveryTime() throws {
        let directory = try TemporaryDirectory()
        let spec = Self.spec(directory, days: 10, renewBefore: TimeSpan(parsing: "30d")!)
        #expect(try Self.ensure(spec) == .generated(reason: "no certificate at \(spec.cert)"))
        let reason = try #require(Self.generatedReason(try Self.ensure(spec)))
        #expect(reason.hasPrefix("it expires "))
        #expect(reason.hasSuffix(" GMT, within renew-before (30d)"))
    }

    @Test func renewBeforeIsMeasuredFromNow() throws {
        let directory = try TemporaryDirectory()
        var spec = Self.spec(directory, days: 10)
        spec.renewBefore = TimeSpan(parsing: "9d")!
        _ = try Self.ensure(spec)
        let now = time(nil)
        guard case .fit = TLSProvisioner.inspect(spec, now: now) else { Issue.record("not kept today"); return }
        // Two days later, the certificate has 8 days left: within renew-before.
        let later = TLSProvisioner.inspect(spec, now: now + 2 * 86_400)
        guard case .unfit(let reason) = later else { Issue.record("kept two days later: \(later)"); return }
        #expect(reason.hasSuffix(", within renew-before (9d)"))
        // Past its end, whatever renew-before says.
        spec.renewBefore = .zero
        guard case .unfit = TLSProvisioner.inspect(spec, now: now + 11 * 86_400) else { Issue.record("kept when expired"); return }
    }

    /// A crash between the two renames leaves the new key next to the old certificate.
    @Test func aKeyThatDoesNotMatchTheCertificateRegeneratesBoth() throws {
        let directory = try TemporaryDirectory()
        let spec = Self.spec(directory)
        _ = try Self.ensure(spec)
        let other = try TemporaryDirectory()
        let otherSpec = Self.spec(other)
        _ = try Self.ensure(otherSpec)
        try FileManager.default.removeItem(atPath: spec.key)
        try FileManager.default.copyItem(atPath: otherSpec.key, toPath: spec.key)
        #expect(try Self.ensure(spec) == .generated(reason: "the key does not match the certificate"))
        #expect(Self.keptReason(try Self.ensure(spec)) != nil)
    }

    @Test func aMissingKeyRegenerates() throws {
        let directory = try TemporaryDirectory()
        let spec = Self.spec(directory)
        _ = try Self.ensure(spec)
        unlink(spec.key)
        #expect(try Self.ensure(spec) == .generated(reason: "no key at \(spec.key)"))
        #expect(directory.entries("tls") == ["cert.pem", "key.pem"])
    }

    @Test(arguments: ["", "garbage\n", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"])
    func anUnreadableCertificateRegenerates(text: String) throws {
        let directory = try TemporaryDirectory()
        let spec = Self.spec(directory)
        _ = try Self.ensure(spec)
        try writeFile(spec.cert, text)
        #expect(try Self.ensure(spec) == .generated(reason: "\(spec.cert) holds no readable certificate"))
        #expect(Self.keptReason(try Self.ensure(spec)) != nil)
    }

    @Test(arguments: ["", "garbage\n", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"])
    func anUnreadableKeyRegenerates(text: String) throws {
        let directory = try TemporaryDirectory()
        let spec = Self.spec(directory)
        _ = try Self.ensure(spec)
        try writeFile(spec.key, text)
        #expect(try Self.ensure(spec) == .generated(reason: "\(spec.key) holds no readable key"))
        #expect(Self.keptReason(try Self.ensure(spec)) != nil)
    }

    @Test func theCertificateInTheKeyFileIsNotAKey() throws {
        let directory = try TemporaryDirectory()
        let spec = Self.spec(directory)
        _ = try Self.ensure(spec)
        try FileManager.default.removeItem(atPath: spec.key)
        try FileManager.default.copyItem(atPath: spec.cert, toPath: spec.key)
        #expect(try Self.ensure(spec) == .generated(reason: "\(spec.key) holds no readable key"))
    }

    @Test func anUnwritableDestinationIsAWriteError() throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("tls"), "a file where the directory should be")
        let spec = Self.spec(directory)
        let error = #expect(throws: BootError.self) { try Self.ensure(spec) }
        guard case .write? = error else { Issue.record("not a write error: \(String(describing: error))"); return }
        #expect(error?.exitCode == 73)
        #expect(contents(of: directory.file("tls")) == "a file where the directory should be")
    }

    // MARK: inspect

    @Test func inspectNamesWhatIsMissingFirst() throws {
        let directory = try TemporaryDirectory()
        let spec = Self.spec(directory)
        #expect(TLSProvisioner.inspect(spec) == .unfit("no certificate at \(spec.cert)"))
        try FileManager.default.createDirectory(atPath: directory.file("tls"), withIntermediateDirectories: true)
        try writeFile(spec.cert, "garbage")
        #expect(TLSProvisioner.inspect(spec) == .unfit("no key at \(spec.key)"))
        try writeFile(spec.key, "garbage")
        #expect(TLSProvisioner.inspect(spec) == .unfit("\(spec.cert) holds no readable certificate"))
    }

    @Test func inspectChangesNothing() throws {
        let directory = try TemporaryDirectory()
        var spec = Self.spec(directory)
        _ = try Self.ensure(spec)
        let before = Self.pair(spec)
        spec.names = ["other"]
        #expect(TLSProvisioner.inspect(spec) == .unfit("subjectAltName lacks DNS:other"))
        #expect(Self.pair(spec) == before)
    }

    // MARK: what the certificate says

    @Test func subjectAltNamesHoldEveryNameAndTheBytesOfEveryIp() throws {
        let directory = try TemporaryDirectory()
        let spec = Self.spec(directory, names: ["web.example", "Localhost"], ips: ["192.168.49.2", "::1"])
        _ = try Self.ensure(spec)
        let (dns, ips) = try Self.withCertificate(spec.cert) { TLSProvisioner.subjectAltNames($0) }
        #expect(dns == ["web.example", "localhost"])
        #expect(ips == [[192, 168, 49, 2], [UInt8](repeating: 0, count: 15) + [1]])
    }

    @Test(arguments: [
        ("10.0.0.1", [10, 0, 0, 1]),
        ("255.255.255.255", [255, 255, 255, 255]),
        ("::1", [UInt8](repeating: 0, count: 15) + [1]),
        ("2001:db8::ff", [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [0xff]),
        ("not an address", []),
        ("10.0.0.256", []),
    ] as [(String, [UInt8])])
    func addressBytesOfALiteralAddress(text: String, bytes: [UInt8]) {
        #expect(TLSProvisioner.addressBytes(text) == bytes)
    }

    @Test func anIpOnlyPairIsMadeAndKept() throws {
        let directory = try TemporaryDirectory()
        let spec = Self.spec(directory, names: [], ips: ["10.1.2.3"])
        _ = try Self.ensure(spec)
        let (dns, ips) = try Self.withCertificate(spec.cert) { TLSProvisioner.subjectAltNames($0) }
        #expect(dns == [] && ips == [[10, 1, 2, 3]])
        #expect(Self.keptReason(try Self.ensure(spec)) != nil)
    }

    @Test(arguments: [KeyType.ecP256, .rsa2048])
    func theKeyHasTheConfiguredType(type: KeyType) throws {
        let directory = try TemporaryDirectory()
        let spec = Self.spec(directory, keyType: type)
        _ = try Self.ensure(spec)
        let text = try #require(readFile(spec.key))
        let key = try #require(Certificate.fromPEM(text) { PEM_read_bio_PrivateKey($0, nil, nil, nil) })
        defer { EVP_PKEY_free(key) }
        #expect(TLSProvisioner.keyType(of: key) == type.rawValue)
    }

    @Test func everyPairHasItsOwnKeyAndSerial() throws {
        let a = try TemporaryDirectory(), b = try TemporaryDirectory()
        _ = try Self.ensure(Self.spec(a))
        _ = try Self.ensure(Self.spec(b))
        #expect(contents(of: a.file("tls/key.pem")) != contents(of: b.file("tls/key.pem")))
        let serialA = try Self.withCertificate(a.file("tls/cert.pem")) { Self.serialHex($0) }
        let serialB = try Self.withCertificate(b.file("tls/cert.pem")) { Self.serialHex($0) }
        #expect(serialA != serialB)
        #expect(serialA.count == 32, "a 128-bit serial is 16 bytes: \(serialA)")
    }

    static func serialHex(_ cert: OpaquePointer) -> String {
        guard let serial = X509_get_serialNumber(cert), let number = ASN1_INTEGER_to_BN(serial, nil) else { return "" }
        defer { BN_free(number) }
        guard let hex = BN_bn2hex(number) else { return "" }
        defer { CRYPTO_free(hex, nil, 0) }
        return String(cString: hex)
    }

    // MARK: checked by the openssl command line tool

    static func openssl(_ arguments: String...) throws -> (status: Int32, output: String) {
        try runTool(try #require(opensslTool), arguments)
    }

    @Test(.enabled(if: opensslTool != nil, "needs the openssl command"), arguments: [KeyType.ecP256, .rsa2048])
    func opensslReadsTheDocumentedCertificate(type: KeyType) throws {
        let directory = try TemporaryDirectory()
        let spec = Self.spec(directory, names: ["web.example", "localhost"], ips: ["127.0.0.1", "192.168.49.2", "::1"],
                             keyType: type, days: 90)
        _ = try Self.ensure(spec)
        let (status, text) = try Self.openssl("x509", "-in", spec.cert, "-noout", "-text")
        try #require(status == 0, "\(text)")
        for expected in [
            "Version: 3 (0x2)",
            type == .ecP256 ? "Signature Algorithm: ecdsa-with-SHA256" : "Signature Algorithm: sha256WithRSAEncryption",
            type == .ecP256 ? "ASN1 OID: prime256v1" : "Public-Key: (2048 bit)",
            "Issuer: CN = web.example",
            "Subject: CN = web.example",
            "X509v3 Subject Alternative Name: \n                DNS:web.example, DNS:localhost, IP Address:127.0.0.1, IP Address:192.168.49.2, IP Address:0:0:0:0:0:0:0:1\n",
            "X509v3 Basic Constraints: critical\n                CA:FALSE\n",
            "X509v3 Key Usage: critical\n                Digital Signature, Key Encipherment\n",
            "X509v3 Extended Key Usage: \n                TLS Web Server Authentication\n",
        ] {
            #expect(text.contains(expected), "missing: \(expected)")
        }
    }

    @Test(.enabled(if: opensslTool != nil, "needs the openssl command"))
    func opensslFindsARandom128BitSerial() throws {
        let directory = try TemporaryDirectory()
        let spec = Self.spec(directory)
        _ = try Self.ensure(spec)
        let (status, output) = try Self.openssl("x509", "-in", spec.cert, "-noout", "-serial")
        try #require(status == 0, "\(output)")
        let hex = output.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
        #expect(hex.count == 32, "\(hex)")
        #expect(hex.first.map { "4567".contains($0) } == true, "positive with its top bits set as 01: \(hex)")
    }

    @Test(.enabled(if: opensslTool != nil, "needs the openssl command"))
    func opensslSeesTheValidityFromAnHourAgoForDays() throws {
        let directory = try TemporaryDirectory()
        let spec = Self.spec(directory, days: 2)
        let start = Date()
        _ = try Self.ensure(spec)
        // Valid for more than a day from now, not for more than two.
        #expect(try Self.openssl("x509", "-in", spec.cert, "-noout", "-checkend", "\(86_400 + 3_600)").status == 0)
        #expect(try Self.openssl("x509", "-in", spec.cert, "-noout", "-checkend", "\(2 * 86_400 + 60)").status == 1)
        let (_, output) = try Self.openssl("x509", "-in", spec.cert, "-noout", "-startdate", "-enddate")
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy zzz"
        var dates: [String: Date] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let text = parts[1].split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            dates[String(parts[0])] = formatter.date(from: text)
        }
        let notBefore = try #require(dates["notBefore"], "\(output)")
        let notAfter = try #require(dates["notAfter"], "\(output)")
        #expect(abs(notBefore.timeIntervalSince(start) + 3600) < 60, "notBefore \(notBefore), started \(start)")
        #expect(abs(notAfter.timeIntervalSince(start) - 2 * 86_400) < 60, "notAfter \(notAfter), started \(start)")
    }

    @Test(.enabled(if: opensslTool != nil, "needs the openssl command"))
    func opensslVerifiesTheCertificateAgainstItselfAndMatchesTheKey() throws {
        let directory = try TemporaryDirectory()
        let spec = Self.spec(directory)
        _ = try Self.ensure(spec)
        let verify = try Self.openssl("verify", "-CAfile", spec.cert, spec.cert)
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.output == "\(spec.cert): OK\n")
        let certKey = try Self.openssl("x509", "-in", spec.cert, "-noout", "-pubkey")
        let keyKey = try Self.openssl("pkey", "-in", spec.key, "-pubout")
        #expect(certKey.status == 0 && keyKey.status == 0)
        #expect(certKey.output == keyKey.output)
    }
}
