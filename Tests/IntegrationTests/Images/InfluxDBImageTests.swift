import Foundation
import Testing

/// images/influxdb run with Debian's InfluxDB 1.x: /ping answers, the bootstrap made the admin
/// user and the metrics database, auth is enforced, points written can be queried back, and
/// a killed influxd ends the image.
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(["ip", "influxd", "curl"]), what: "influxdb image tests"))
    struct InfluxDBImage {
        static let secrets = ["INFLUXDB_ADMIN_USER": "admin", "INFLUXDB_ADMIN_PASSWORD": "in'flux\"$pw\\"]

        /// curl inside the namespace; `-w` appends the status code as the last line.
        static func curl(_ network: ImageNetwork, _ arguments: [String], authenticated: Bool = true) throws -> (status: String, body: String) {
            let auth = authenticated ? ["-u", "admin:in'flux\"$pw\\"] : []
            let result = try network.run(["curl", "-s", "-w", "\n%{http_code}"] + auth + arguments)
            let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            return (String(lines.last ?? ""), lines.dropLast().joined(separator: "\n"))
        }

        /// Runs `body` with the image healthy and its bootstrap done (users and database made).
        static func withInfluxDB(_ body: (_ network: ImageNetwork, _ ftinit: FTInit) throws -> Void) throws {
            let network = try ImageNetwork()
            defer { network.remove() }
            let root = try Scratch()
            defer { root.remove() }
            let ftinit = try ImageUnderTest.launch("influxdb", network: network, root: root, environment: Self.secrets)
            defer { ftinit.stop() }
            try ftinit.waitUntilHealthy(timeout: .seconds(60))
            _ = try ftinit.requireEvent("exited", subject: "influxdb-init", timeout: .seconds(30))
            #expect(ftinit.events("exited", subject: "influxdb-init").first?["code"] == "0", "\(ftinit.report)")
            try body(network, ftinit)
        }

        @Test func pingWriteAndQueryWorkWithAuthEnforced() throws {
            try Self.withInfluxDB { network, ftinit in
                #expect(try Self.curl(network, ["http://influxdb:8086/ping"], authenticated: false).status == "204")
                let anonymous = try Self.curl(network, ["http://influxdb:8086/query", "--data-urlencode", "q=SHOW DATABASES"], authenticated: false)
                #expect(anonymous.status == "401", "a query without credentials must be refused: \(anonymous)")

                let databases = try Self.curl(network, ["http://influxdb:8086/query", "--data-urlencode", "q=SHOW DATABASES"])
                #expect(databases.status == "200" && databases.body.contains("\"ftservices\""), "\(databases)\(ftinit.report)")
                let write = try Self.curl(network, ["-XPOST", "http://influxdb:8086/write?db=ftservices", "--data-binary",
                                                    "cpu,service=mysql value=0.25 1700000000000000000"])
                #expect(write.status == "204", "\(write)")
                let query = try Self.curl(network, ["-G", "http://influxdb:8086/query?db=ftservices", "--data-urlencode",
                                                    "q=SELECT value FROM cpu WHERE service='mysql'"])
                #expect(query.status == "200" && query.body.contains("0.25"), "\(query)")

                try ftinit.send(SIGTERM)
                #expect(try ftinit.exitCode(timeout: .seconds(30)) == 0, "\(ftinit.report)")
            }
        }

        /// The image's own [metrics] pushes into its own influxd with the writer account that
        /// influxdb-init created, which may write but not read.
        @Test func itsOwnMetricsArriveThroughTheWriterAccount() throws {
            try Self.withInfluxDB { network, ftinit in
                let select = "q=SELECT last(healthy) FROM ftinit_process WHERE service='influxdb' AND process='influxd'"
                var answer = (status: "", body: "")
                let deadline = ContinuousClock.now + .seconds(40)  // the first push comes one interval (10 s) after the start
                while ContinuousClock.now < deadline {
                    answer = try Self.curl(network, ["-G", "http://influxdb:8086/query?db=ftservices", "--data-urlencode", select])
                    if answer.body.contains("\"last\"") { break }
                    Thread.sleep(forTimeInterval: 1)
                }
                #expect(answer.status == "200" && answer.body.contains(",1]]"), "\(answer)\(ftinit.report)")

                let account = ImageUnderTest.metricsAccount
                let asWriter = try network.run(["curl", "-s", "-w", "\n%{http_code}", "-u",
                                                "\(account["INFLUXDB_METRICS_USER"]!):\(account["INFLUXDB_METRICS_PASSWORD"]!)",
                                                "-G", "http://influxdb:8086/query?db=ftservices", "--data-urlencode", select])
                #expect(asWriter.stdout.contains("not authorized") || asWriter.stdout.hasSuffix("403"), "the writer must not read: \(asWriter)")
            }
        }

        @Test func killingEachDaemonEndsTheImage() throws {
            let network = try ImageNetwork()
            defer { network.remove() }
            try ImageFaults.expectEachKilledServiceEndsTheImage("influxdb", network: network, environment: Self.secrets)
        }
    }
}
