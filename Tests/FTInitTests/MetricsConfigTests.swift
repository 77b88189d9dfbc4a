import Testing
@testable import FTInit

/// The `[metrics]` section (docs/metrics.md).
@Suite struct MetricsConfigTests {
    static func load(_ text: String, environment: [String: String] = [:]) throws -> MetricsSpec? {
        try ConfigLoader.load(text: text, file: "/etc/ftinit.conf", environment: environment).get().metrics
    }

    @Test func everyKeyLandsInTheTypedModel() throws {
        let spec = try #require(try Self.load("""
            [metrics]
            url = http://${INFLUX_HOST}:8087/influx/
            database = ft services
            username = writer
            password = ${PASSWORD}
            service = nginx
            container = pod-1
            tags = env=prod zone=a,rack=r1
            disk = /var/lib/mysql /tmp
            interval = 30s
            timeout = 3s
            buffer = 100
            """, environment: ["INFLUX_HOST": "influxdb", "PASSWORD": "p$w d"]))
        var expected = MetricsSpec(line: 1)
        expected.target = HTTPTarget(url: "http://influxdb:8087/influx/")
        expected.database = "ft services"
        expected.username = "writer"
        expected.password = "p$w d"
        expected.service = "nginx"
        expected.container = "pod-1"
        expected.tags = [MetricsTag(key: "env", value: "prod"), MetricsTag(key: "zone", value: "a"), MetricsTag(key: "rack", value: "r1")]
        expected.disks = ["/var/lib/mysql", "/tmp"]
        expected.interval = .seconds(30)
        expected.timeout = .seconds(3)
        expected.bufferPoints = 100
        #expect(spec == expected)
    }

    @Test func theDocumentedDefaults() throws {
        let spec = try #require(try Self.load("[metrics]\nurl = http://influxdb:8086\ndatabase = db\nservice = web"))
        #expect(spec.target == HTTPTarget(url: "http://influxdb:8086"))
        #expect(spec.username == nil && spec.password == nil && spec.container == nil)
        #expect(spec.tags.isEmpty && spec.disks.isEmpty)
        #expect(spec.interval == .seconds(10) && spec.timeout == .seconds(5) && spec.bufferPoints == 5000)
    }

    @Test func aShortIntervalAlsoBoundsTheDefaultTimeout() throws {
        let spec = try #require(try Self.load("[metrics]\nurl = http://i:8086\ndatabase = db\nservice = web\ninterval = 2s"))
        #expect(spec.timeout == .seconds(2))
    }

    @Test func anEmptyURLTurnsMetricsOff() throws {
        let spec = try #require(try Self.load("[metrics]\nurl = ${INFLUX_URL:-}\ndatabase = db\nservice = web"))
        #expect(spec.target == nil)
    }

    @Test func noSectionMeansNoMetrics() throws {
        #expect(try Self.load("[service web]\nrun = web") == nil)
    }

    static let keys = "url, database, username, password, service, container, tags, disk, interval, timeout, buffer"

    static let malformed: [MalformedConfig] = [
        MalformedConfig(label: "https (no verification would be possible)",
                        text: "[metrics]\nurl = https://influxdb:8086\ndatabase = db\nservice = web",
                        diagnostics: ["/etc/ftinit.conf:2: url must be http://HOST[:PORT][/PREFIX] (InfluxDB 1.x), got 'https://influxdb:8086'"]),
        MalformedConfig(label: "not a URL", text: "[metrics]\nurl = influxdb:8086\ndatabase = db\nservice = web",
                        diagnostics: ["/etc/ftinit.conf:2: url must be http://HOST[:PORT][/PREFIX] (InfluxDB 1.x), got 'influxdb:8086'"]),
        MalformedConfig(label: "the required keys missing", text: "[metrics]\ninterval = 10s",
                        diagnostics: ["/etc/ftinit.conf:1: [metrics] has no 'url' key",
                                      "/etc/ftinit.conf:1: [metrics] has no 'database' key",
                                      "/etc/ftinit.conf:1: [metrics] has no 'service' key"]),
        MalformedConfig(label: "a username without a password",
                        text: "[metrics]\nurl = http://i\ndatabase = db\nservice = web\nusername = u",
                        diagnostics: ["/etc/ftinit.conf:1: [metrics] needs both 'username' and 'password', or neither"]),
        MalformedConfig(label: "a password that expands to nothing",
                        text: "[metrics]\nurl = http://i\ndatabase = db\nservice = web\nusername = u\npassword = ${PW:-}",
                        diagnostics: ["/etc/ftinit.conf:6: password is empty"]),
        MalformedConfig(label: "an unset password variable",
                        text: "[metrics]\nurl = http://i\ndatabase = db\nservice = web\nusername = u\npassword = ${PW}",
                        diagnostics: ["/etc/ftinit.conf:6: password: undefined variable ${PW} (set it, or write ${PW:-default})"]),
        MalformedConfig(label: "tags that are not key=value, a reserved one, a repeated one",
                        text: "[metrics]\nurl = http://i\ndatabase = db\nservice = web\ntags = a=1 b = =c d= service=x a=2",
                        diagnostics: [
                            "/etc/ftinit.conf:5: tags must be key=value pairs, got 'b'",
                            "/etc/ftinit.conf:5: tags must be key=value pairs, got '='",
                            "/etc/ftinit.conf:5: tags must be key=value pairs, got '=c'",
                            "/etc/ftinit.conf:5: tags must be key=value pairs, got 'd='",
                            "/etc/ftinit.conf:5: tags: 'service' is set by ftinit itself (reserved: container, path, process, service)",
                            "/etc/ftinit.conf:5: tags: 'a' is given twice",
                        ]),
        MalformedConfig(label: "a relative disk path", text: "[metrics]\nurl = http://i\ndatabase = db\nservice = web\ndisk = /ok data",
                        diagnostics: ["/etc/ftinit.conf:5: disk: 'data' is not an absolute path"]),
        MalformedConfig(label: "an interval under a second and a zero timeout",
                        text: "[metrics]\nurl = http://i\ndatabase = db\nservice = web\ninterval = 500ms\ntimeout = 0",
                        diagnostics: ["/etc/ftinit.conf:5: interval must be at least 1s, got 500ms",
                                      "/etc/ftinit.conf:6: timeout must be more than 0"]),
        MalformedConfig(label: "a timeout longer than the interval",
                        text: "[metrics]\nurl = http://i\ndatabase = db\nservice = web\ninterval = 5s\ntimeout = 6s",
                        diagnostics: ["/etc/ftinit.conf:1: timeout (6s) must not be longer than interval (5s)"]),
        MalformedConfig(label: "a buffer that is not a count", text: "[metrics]\nurl = http://i\ndatabase = db\nservice = web\nbuffer = 0",
                        diagnostics: ["/etc/ftinit.conf:5: buffer must be a number of points from 1 to 1000000, got '0'"]),
        MalformedConfig(label: "an unknown key and a name", text: "[metrics influx]\nurl = http://i\ndatabase = db\nservice = web\nhost = i",
                        diagnostics: ["/etc/ftinit.conf:1: [metrics] takes no name",
                                      "/etc/ftinit.conf:5: unknown key 'host' in [metrics] (expected \(keys))"]),
        MalformedConfig(label: "two sections", text: "[metrics]\nurl = http://i\ndatabase = db\nservice = web\n[metrics]\nurl = http://j",
                        diagnostics: ["/etc/ftinit.conf:5: duplicate section [metrics] (first defined on line 1)"]),
    ]

    @Test(arguments: malformed)
    func rejectsWithFileLineAndReason(_ example: MalformedConfig) {
        #expect(diagnostics(of: example.text, environment: example.environment) == example.diagnostics)
    }
}
