import Testing
@testable import FTInit

/// `HOST:PORT` and `http(s)://HOST[:PORT][/PATH]`: the targets of `check = tcp` and `check = http`.
@Suite struct HTTPTargetTests {
    // MARK: splitHostPort

    @Test(arguments: [
        ("127.0.0.1:80", nil, "127.0.0.1", 80),
        ("localhost:5432", nil, "localhost", 5432),
        ("db.svc.cluster.local:3306", nil, "db.svc.cluster.local", 3306),
        ("host:1", nil, "host", 1),
        ("host:65535", nil, "host", 65535),
        ("[::1]:21", nil, "::1", 21),
        ("[fe80::1%eth0]:8080", nil, "fe80::1%eth0", 8080),
        ("[2001:db8::1]:443", nil, "2001:db8::1", 443),
        ("localhost", 80, "localhost", 80),
        ("10.0.0.1", 443, "10.0.0.1", 443),
        ("[::1]", 443, "::1", 443),
        ("[::1]:8443", 443, "::1", 8443),
        ("example.com:8080", 80, "example.com", 8080),
    ] as [(String, UInt16?, String, UInt16)])
    func splitsHostAndPort(text: String, defaultPort: UInt16?, host: String, port: UInt16) throws {
        let split = try #require(splitHostPort(Substring(text), defaultPort: defaultPort))
        #expect(split.0 == host)
        #expect(split.1 == port)
    }

    @Test(arguments: [
        ("", nil), ("", 80),
        (":80", nil), (":80", 80),
        ("host", nil),
        ("host:", nil), ("host:", 80),
        ("host:0", nil),
        ("host:65536", nil),
        ("host:-1", nil),
        ("host:http", nil),
        ("host:80x", nil),
        ("host:8 0", nil),
        ("my host:80", nil),
        ("[::1]", nil),
        ("[::1", nil), ("[::1", 80),
        ("[::1]80", nil),
        ("[::1]:", nil),
        ("[::1]:0", nil),
        ("[]:80", nil), ("[]", 80),
    ] as [(String, UInt16?)])
    func rejectsMalformedHostPort(text: String, defaultPort: UInt16?) {
        #expect(splitHostPort(Substring(text), defaultPort: defaultPort) == nil)
    }

    @Test func worksOnASubstringInsideALongerString() throws {
        let line = "check tcp 127.0.0.1:9000 now"
        let part = line.split(separator: " ")[2]
        let split = try #require(splitHostPort(part, defaultPort: nil))
        #expect(split.0 == "127.0.0.1" && split.1 == 9000)
    }

    // MARK: HTTPTarget

    @Test(arguments: [
        ("http://127.0.0.1/", false, "127.0.0.1", 80, "/"),
        ("http://127.0.0.1", false, "127.0.0.1", 80, "/"),
        ("https://127.0.0.1/", true, "127.0.0.1", 443, "/"),
        ("https://localhost", true, "localhost", 443, "/"),
        ("http://localhost:8080/healthz", false, "localhost", 8080, "/healthz"),
        ("https://web:8443/a/b/c.php?x=1&y=2", true, "web", 8443, "/a/b/c.php?x=1&y=2"),
        ("http://[::1]/", false, "::1", 80, "/"),
        ("https://[::1]:9443/ping", true, "::1", 9443, "/ping"),
        ("http://[2001:db8::7]:8080", false, "2001:db8::7", 8080, "/"),
        ("http://127.0.0.1:80/", false, "127.0.0.1", 80, "/"),
        ("https://127.0.0.1:80/", true, "127.0.0.1", 80, "/"),
        ("http://h//double", false, "h", 80, "//double"),
    ] as [(String, Bool, String, UInt16, String)])
    func parsesAnHttpOrHttpsURL(url: String, secure: Bool, host: String, port: UInt16, path: String) throws {
        let target = try #require(HTTPTarget(url: url))
        #expect(target.secure == secure)
        #expect(target.host == host)
        #expect(target.port == port)
        #expect(target.path == path)
    }

    @Test(arguments: [
        "",
        "127.0.0.1/",
        "ftp://127.0.0.1/",
        "http:/127.0.0.1/",
        "http:127.0.0.1",
        "http://",
        "https://",
        "http:///healthz",
        "http://:8080/",
        "http://host:/",
        "http://host:0/",
        "http://host:65536/",
        "http://host:port/",
        "http://[::1/",
        "http://[::1]x/",
        "http://my host/",
        " http://host/",
    ])
    func rejectsWhatIsNotAnHttpURL(url: String) {
        #expect(HTTPTarget(url: url) == nil)
    }
}
