import Testing
@testable import FTInit

/// The `[tls]` section (docs/ftinit.md, "Sections and keys" and "Boot: templates and the TLS pair").
@Suite struct TLSConfigTests {
    /// A `[tls]` spec as the loader must type it, with the documented defaults unless given.
    static func tls(
        cert: String = "/etc/ssl/ft/cert.pem", key: String = "/etc/ssl/ft/key.pem",
        names: [String] = [], ips: [String] = [], keyType: KeyType = .ecP256, days: Int = 365,
        owner: Located<String>? = nil, renewBefore: TimeSpan = TimeSpan(parsing: "30d")!, line: Int = 1
    ) -> TLSSpec {
        var spec = TLSSpec(cert: cert, key: key, names: names, ips: ips, line: line)
        spec.keyType = keyType
        spec.days = days
        spec.owner = owner
        spec.renewBefore = renewBefore
        return spec
    }

    struct Example: Sendable, CustomTestStringConvertible {
        let label: String
        let text: String
        var environment: [String: String] = [:]
        let tls: TLSSpec

        var testDescription: String { label }
    }

    static let valid: [Example] = [
        Example(
            label: "the reference example of docs/ftinit.md, with LB_IP set",
            text: """
                [tls]
                cert = /etc/ssl/ft/cert.pem
                key = /etc/ssl/ft/key.pem
                names = nginx localhost
                ips = ${LB_IP}
                owner = nginx
                """,
            environment: ["LB_IP": "192.168.49.2"],
            tls: tls(names: ["nginx", "localhost"], ips: ["192.168.49.2"], owner: at("nginx", 6))),
        Example(
            label: "only names: every other key takes its default",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = example.com",
            tls: tls(cert: "/c.pem", key: "/k.pem", names: ["example.com"])),
        Example(
            label: "only ips, IPv4 and IPv6",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nips = 10.0.0.1 ::1 fe80::1:2",
            tls: tls(cert: "/c.pem", key: "/k.pem", ips: ["10.0.0.1", "::1", "fe80::1:2"])),
        Example(
            label: "names and ips separated by blanks, tabs or commas",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = a.example,b.example, c.example\td.example\nips = 10.0.0.1,10.0.0.2 ,10.0.0.3",
            tls: tls(cert: "/c.pem", key: "/k.pem", names: ["a.example", "b.example", "c.example", "d.example"],
                     ips: ["10.0.0.1", "10.0.0.2", "10.0.0.3"])),
        Example(
            label: "an LB_IP holding several addresses",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nips = 127.0.0.1 ${LB_IP}",
            environment: ["LB_IP": "192.168.49.2,192.168.49.3"],
            tls: tls(cert: "/c.pem", key: "/k.pem", ips: ["127.0.0.1", "192.168.49.2", "192.168.49.3"])),
        Example(
            label: "an empty LB_IP with a default",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = web\nips = ${LB_IP:-127.0.0.1}",
            environment: ["LB_IP": ""],
            tls: tls(cert: "/c.pem", key: "/k.pem", names: ["web"], ips: ["127.0.0.1"])),
        Example(
            label: "an LB_IP that is set but empty leaves names alone",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = web\nips = ${LB_IP}",
            environment: ["LB_IP": ""],
            tls: tls(cert: "/c.pem", key: "/k.pem", names: ["web"])),
        Example(
            label: "every key set, paths from variables",
            text: """
                # TLS for the FTP server
                [tls]
                cert = ${SSL_DIR:-/etc/ssl}/ftps.crt
                key = ${SSL_DIR:-/etc/ssl}/ftps.key
                names = ftps
                key-type = rsa3072
                days = 36500
                owner = vsftpd:ftp
                renew-before = 1d12h
                """,
            tls: tls(cert: "/etc/ssl/ftps.crt", key: "/etc/ssl/ftps.key", names: ["ftps"], keyType: .rsa3072,
                     days: 36500, owner: at("vsftpd:ftp", 8), renewBefore: TimeSpan(parsing: "36h")!, line: 2)),
        Example(
            label: "a validity shorter than 60 days renews, by default, at half of it",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = a\ndays = 10",
            tls: tls(cert: "/c.pem", key: "/k.pem", names: ["a"], days: 10, renewBefore: TimeSpan(parsing: "5d")!)),
        Example(
            label: "an explicit renew-before shorter than days is kept",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = a\ndays = 10\nrenew-before = 9d23h",
            tls: tls(cert: "/c.pem", key: "/k.pem", names: ["a"], days: 10, renewBefore: TimeSpan(parsing: "9d23h")!)),
        Example(
            label: "days 1 and renew-before 0",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = a\ndays = 1\nrenew-before = 0",
            tls: tls(cert: "/c.pem", key: "/k.pem", names: ["a"], days: 1, renewBefore: .zero)),
    ]

    @Test(arguments: valid)
    func loadsTlsIntoTheTypedModel(_ example: Example) throws {
        let result = ConfigLoader.load(text: example.text, file: "/etc/ftinit.conf", environment: example.environment)
        let config = try #require(try? result.get(), "diagnostics: \(diagnostics(of: example.text, environment: example.environment))")
        #expect(config.tls == example.tls)
    }

    @Test(arguments: KeyType.allCases)
    func acceptsEveryDocumentedKeyType(_ type: KeyType) throws {
        let text = "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = a\nkey-type = \(type.rawValue)"
        let config = try ConfigLoader.load(text: text, file: "f", environment: [:]).get()
        #expect(config.tls?.keyType == type)
    }

    @Test func theDocumentedKeyTypesAreExactlyThese() {
        #expect(KeyType.allCases.map(\.rawValue) == ["ec-p256", "rsa2048", "rsa3072", "rsa4096"])
    }

    @Test(arguments: [
        (365, "30d"), (60, "30d"), (61, "30d"), (59, "29d12h"), (10, "5d"), (2, "1d"), (1, "12h"),
    ] as [(Int, String)])
    func theDefaultRenewBeforeIs30DaysOrHalfTheValidity(days: Int, renewBefore: String) {
        #expect(TLSSpec.defaultRenewBefore(days: days) == TimeSpan(parsing: renewBefore))
    }

    @Test func aConfigWithoutTlsHasNone() throws {
        let config = try ConfigLoader.load(text: "[service web]\nrun = web", file: "f", environment: [:]).get()
        #expect(config.tls == nil)
    }

    // MARK: malformed

    static let keys = "cert, key, names, ips, key-type, days, owner, renew-before"

    static let malformed: [MalformedConfig] = [
        MalformedConfig(
            label: "an IPv4 address out of range",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = a\nips = 10.0.0.300",
            diagnostics: ["/etc/ftinit.conf:5: ips: '10.0.0.300' is not an IPv4 or IPv6 address"]),
        MalformedConfig(
            label: "a host name in ips",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = a\nips = localhost",
            diagnostics: ["/etc/ftinit.conf:5: ips: 'localhost' is not an IPv4 or IPv6 address"]),
        MalformedConfig(
            label: "every bad address of ips is reported",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nips = 1.2.3.4 [::1] 10.0.0.1/24",
            diagnostics: [
                "/etc/ftinit.conf:4: ips: '[::1]' is not an IPv4 or IPv6 address",
                "/etc/ftinit.conf:4: ips: '10.0.0.1/24' is not an IPv4 or IPv6 address",
            ]),
        MalformedConfig(
            label: "a bad address coming from LB_IP",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = a\nips = ${LB_IP}",
            environment: ["LB_IP": "pending"],
            diagnostics: ["/etc/ftinit.conf:5: ips: 'pending' is not an IPv4 or IPv6 address"]),
        MalformedConfig(
            label: "an undefined LB_IP",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = a\nips = ${LB_IP}",
            diagnostics: ["/etc/ftinit.conf:5: ips: undefined variable ${LB_IP} (set it, or write ${LB_IP:-default})"]),
        MalformedConfig(
            label: "an unknown key-type",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = a\nkey-type = ed25519",
            diagnostics: ["/etc/ftinit.conf:5: unknown key-type 'ed25519' (expected ec-p256, rsa2048, rsa3072, rsa4096)"]),
        MalformedConfig(
            label: "a key-type in capitals",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = a\nkey-type = RSA2048",
            diagnostics: ["/etc/ftinit.conf:5: unknown key-type 'RSA2048' (expected ec-p256, rsa2048, rsa3072, rsa4096)"]),
        MalformedConfig(
            label: "days 0",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = a\ndays = 0",
            diagnostics: ["/etc/ftinit.conf:5: days must be a whole number from 1 to 36500, got '0'"]),
        MalformedConfig(
            label: "days past 36500",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = a\ndays = 36501",
            diagnostics: ["/etc/ftinit.conf:5: days must be a whole number from 1 to 36500, got '36501'"]),
        MalformedConfig(
            label: "days as a duration",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = a\ndays = 365d",
            diagnostics: ["/etc/ftinit.conf:5: days must be a whole number from 1 to 36500, got '365d'"]),
        MalformedConfig(
            label: "a bad renew-before",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = a\nrenew-before = 30",
            diagnostics: ["/etc/ftinit.conf:5: bad duration '30' for renew-before (expected e.g. 500ms, 10s, 1m30s)"]),
        MalformedConfig(
            label: "renew-before as long as days",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = a\ndays = 30\nrenew-before = 30d",
            diagnostics: ["/etc/ftinit.conf:1: days (30d) must be longer than renew-before (30d), or every boot makes a new pair"]),
        MalformedConfig(
            label: "renew-before longer than days",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = a\ndays = 10\nrenew-before = 30d",
            diagnostics: ["/etc/ftinit.conf:1: days (10d) must be longer than renew-before (30d), or every boot makes a new pair"]),
        MalformedConfig(
            label: "renew-before longer than the default days",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = a\nrenew-before = 400d",
            diagnostics: ["/etc/ftinit.conf:1: days (365d) must be longer than renew-before (400d), or every boot makes a new pair"]),
        MalformedConfig(
            label: "no cert",
            text: "[init]\n\n[tls]\nkey = /k.pem\nnames = a",
            diagnostics: ["/etc/ftinit.conf:3: [tls] has no 'cert' key"]),
        MalformedConfig(
            label: "no key",
            text: "[tls]\ncert = /c.pem\nnames = a",
            diagnostics: ["/etc/ftinit.conf:1: [tls] has no 'key' key"]),
        MalformedConfig(
            label: "an empty section: no cert, no key, no names or ips",
            text: "[tls]",
            diagnostics: [
                "/etc/ftinit.conf:1: [tls] has no 'cert' key",
                "/etc/ftinit.conf:1: [tls] has no 'key' key",
                "/etc/ftinit.conf:1: [tls] needs at least one of 'names' or 'ips'",
            ]),
        MalformedConfig(
            label: "empty cert and key values",
            text: "[tls]\ncert =\nkey = ${KEY_PATH:-}\nnames = a",
            diagnostics: ["/etc/ftinit.conf:2: cert is empty", "/etc/ftinit.conf:3: key is empty"]),
        MalformedConfig(
            label: "neither names nor ips",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem",
            diagnostics: ["/etc/ftinit.conf:1: [tls] needs at least one of 'names' or 'ips'"]),
        MalformedConfig(
            label: "names and ips that are both empty",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames =\nips = ${LB_IP:-}",
            diagnostics: ["/etc/ftinit.conf:1: [tls] needs at least one of 'names' or 'ips'"]),
        MalformedConfig(
            label: "[tls] with a name",
            text: "[tls web]\ncert = /c.pem\nkey = /k.pem\nnames = a",
            diagnostics: ["/etc/ftinit.conf:1: [tls] takes no name"]),
        MalformedConfig(
            label: "two [tls] sections",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = a\n[tls]\ncert = /d.pem\nkey = /l.pem\nnames = b",
            diagnostics: ["/etc/ftinit.conf:5: duplicate section [tls] (first defined on line 1)"]),
        MalformedConfig(
            label: "an unknown key",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = a\nca = /ca.pem",
            diagnostics: ["/etc/ftinit.conf:5: unknown key 'ca' in [tls] (expected \(keys))"]),
        MalformedConfig(
            label: "a duplicate key",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\ncert = /d.pem\nnames = a",
            diagnostics: ["/etc/ftinit.conf:4: duplicate key 'cert' (first set on line 2)"]),
        MalformedConfig(
            label: "an empty owner",
            text: "[tls]\ncert = /c.pem\nkey = /k.pem\nnames = a\nowner =",
            diagnostics: ["/etc/ftinit.conf:5: owner is empty"]),
        MalformedConfig(
            label: "every error of a [tls] section at once, in line order",
            text: "[tls]\nkey-type = dsa\ndays = -1\nips = nowhere\nrenew-before = 1y",
            diagnostics: [
                "/etc/ftinit.conf:1: [tls] has no 'cert' key",
                "/etc/ftinit.conf:1: [tls] has no 'key' key",
                "/etc/ftinit.conf:1: [tls] needs at least one of 'names' or 'ips'",
                "/etc/ftinit.conf:2: unknown key-type 'dsa' (expected ec-p256, rsa2048, rsa3072, rsa4096)",
                "/etc/ftinit.conf:3: days must be a whole number from 1 to 36500, got '-1'",
                "/etc/ftinit.conf:4: ips: 'nowhere' is not an IPv4 or IPv6 address",
                "/etc/ftinit.conf:5: bad duration '1y' for renew-before (expected e.g. 500ms, 10s, 1m30s)",
            ]),
    ]

    @Test(arguments: malformed)
    func rejectsMalformedTlsWithExactDiagnostics(_ example: MalformedConfig) {
        #expect(diagnostics(of: example.text, environment: example.environment) == example.diagnostics)
    }
}
