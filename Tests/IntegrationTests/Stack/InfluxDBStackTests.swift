import Foundation
import Testing

/// images/influxdb as a container of the stack: /ping answers, the bootstrap made the admin user
/// and the metrics database, auth is enforced, points written are read back, the stack's own
/// metrics arrive through the writer account, which may write but not read, grafana's reader
/// may only read, and a killed
/// influxd ends the container.
extension Integration {
    @Suite(.requires(.root, .dockerDaemon, .alpineMinirootfs, .tools(["docker", "unshare", "curl", "influxd", "influx", "tar", "kubectl", "python3"]),
                     what: "influxdb container tests"))
    struct InfluxDBStack {
        static var admin: String { "\(Stack.secret("INFLUXDB_ADMIN_USER")):\(Stack.secret("INFLUXDB_ADMIN_PASSWORD"))" }
        static var writer: String { "\(Stack.secret("INFLUXDB_METRICS_USER")):\(Stack.secret("INFLUXDB_METRICS_PASSWORD"))" }
        static var reader: String { "\(Stack.secret("INFLUXDB_READER_USER")):\(Stack.secret("INFLUXDB_READER_PASSWORD"))" }

        /// curl to influxdb:8086 as `user` (none: anonymous); the status code is the last line.
        static func curl(_ arguments: [String], user: String? = admin) throws -> (status: String, body: String) {
            let result = try Stack.run(["curl", "-s", "-w", "\n%{http_code}"] + (user.map { ["-u", $0] } ?? []) + arguments)
            let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            return (String(lines.last ?? ""), lines.dropLast().joined(separator: "\n"))
        }

        @Test func pingWriteAndQueryWorkWithAuthEnforced() throws {
            let influxdb = try Stack.require("influxdb")
            // influxdb-init runs once influxd is healthy: its end may follow the probe's answer.
            let initEnded = DockerHost.eventually(.seconds(30)) { !influxdb.events("exited", subject: "influxdb-init").isEmpty }
            #expect(initEnded && influxdb.events("exited", subject: "influxdb-init").first?["code"] == "0", "\(influxdb.report)")
            #expect(try Self.curl(["http://influxdb:8086/ping"], user: nil).status == "204")
            let anonymous = try Self.curl(["http://influxdb:8086/query", "--data-urlencode", "q=SHOW DATABASES"], user: nil)
            #expect(anonymous.status == "401", "a query without credentials must be refused: \(anonymous)")

            let databases = try Self.curl(["http://influxdb:8086/query", "--data-urlencode", "q=SHOW DATABASES"])
            #expect(databases.status == "200" && databases.body.contains("\"ftservices\""), "\(databases)\(influxdb.report)")
            let write = try Self.curl(["-XPOST", "http://influxdb:8086/write?db=ftservices", "--data-binary",
                                       "probe,service=test value=0.25 1700000000000000000"])
            #expect(write.status == "204", "\(write)")
            let query = try Self.curl(["-G", "http://influxdb:8086/query?db=ftservices", "--data-urlencode",
                                       "q=SELECT value FROM probe WHERE service='test'"])
            #expect(query.status == "200" && query.body.contains("0.25"), "\(query)")
        }

        /// The image's own [metrics] pushes into its own influxd (INFLUXDB_URL unset: the default
        /// http://influxdb:8086, its own service name) with the writer account influxdb-init
        /// made, which may write but not read.
        @Test func itsOwnMetricsArriveThroughTheWriterAccount() throws {
            let influxdb = try Stack.require("influxdb")
            let select = "q=SELECT last(healthy) FROM ftinit_process WHERE service='influxdb' AND process='influxd'"
            var answer = (status: "", body: "")
            // The first push comes one interval (10 s) after the start.
            _ = try DockerHost.eventually(.seconds(40)) {
                answer = try Self.curl(["-G", "http://influxdb:8086/query?db=ftservices", "--data-urlencode", select])
                return answer.body.contains("\"last\"")
            }
            #expect(answer.status == "200" && answer.body.contains(",1]]"), "\(answer)\(influxdb.report)")

            let asWriter = try Self.curl(["-XPOST", "http://influxdb:8086/write?db=ftservices", "--data-binary",
                                          "probe,service=writer value=0.5 1700000000000000000"], user: Self.writer)
            #expect(asWriter.status == "204", "the writer must write: \(asWriter)")
            let readByWriter = try Self.curl(["-G", "http://influxdb:8086/query?db=ftservices", "--data-urlencode", select], user: Self.writer)
            #expect(readByWriter.body.contains("not authorized") || readByWriter.status == "403", "the writer must not read: \(readByWriter)")
        }

        /// Every container of the stack pushes its processes' metrics to influxdb:8086, found by
        /// the service name through Docker's DNS, with the writer account of its Secret.
        @Test func metricsArriveFromEveryContainer() throws {
            let names = Stack.services.keys.sorted()
            for name in names { try Stack.require(name) }
            let select = "q=SHOW TAG VALUES FROM ftinit_process WITH KEY = \"service\""
            var answer = (status: "", body: "")
            let all = try DockerHost.eventually(.seconds(40)) {
                answer = try Self.curl(["-G", "http://influxdb:8086/query?db=ftservices", "--data-urlencode", select])
                return names.allSatisfy { answer.body.contains("[\"service\",\"\($0)\"]") }
            }
            #expect(all, "services whose metrics arrived: \(answer)")
        }

        /// Issue 17: with auth on and no user yet, InfluxDB lets anyone create the first admin.
        /// A client hammering port 8086 of a container starting on an empty volume from its
        /// first moment never gets to: the accounts exist before influxd proper listens (made
        /// by a temporary daemon on 127.0.0.1). And /debug/pprof is not served.
        /// Grafana's account (issue 17): reads the metrics, and nothing else: no write, no other
        /// database, no users, no DROP.
        @Test func grafanasReaderMayOnlyRead() throws {
            let influxdb = try Stack.require("influxdb")
            let initEnded = DockerHost.eventually(.seconds(30)) { !influxdb.events("exited", subject: "influxdb-init").isEmpty }
            try #require(initEnded, "\(influxdb.report)")
            let point = try Self.curl(["-XPOST", "http://influxdb:8086/write?db=ftservices", "--data-binary",
                                       "probe,service=reader value=0.75 1700000000000000000"])
            try #require(point.status == "204", "\(point)")
            let read = try Self.curl(["-G", "http://influxdb:8086/query?db=ftservices", "--data-urlencode",
                                      "q=SELECT value FROM probe WHERE service='reader'"], user: Self.reader)
            #expect(read.status == "200" && read.body.contains("0.75"), "the reader must read: \(read)")
            let write = try Self.curl(["-XPOST", "http://influxdb:8086/write?db=ftservices", "--data-binary",
                                       "probe,service=reader value=1 1700000000000000000"], user: Self.reader)
            #expect(write.status == "403", "the reader must not write: \(write)")
            for statement in ["CREATE USER intruder WITH PASSWORD 'x' WITH ALL PRIVILEGES", "DROP DATABASE ftservices",
                              "CREATE DATABASE other", "SHOW USERS"] {
                let refused = try Self.curl(["-XPOST", "http://influxdb:8086/query", "--data-urlencode", "q=\(statement)"], user: Self.reader)
                #expect(refused.status == "403" || refused.body.contains("not authorized"), "\(statement) as the reader: \(refused)")
            }
            let databases = try Self.curl(["http://influxdb:8086/query", "--data-urlencode", "q=SHOW DATABASES"])
            #expect(databases.body.contains("\"ftservices\"") && !databases.body.contains("\"other\""), "\(databases)")
        }

        @Test func nobodyClaimsTheFirstAdminAndNoProfilesAreServed() throws {
            let influxdb = try Stack.startExtra("ft-test-influxdb-claim", image: "influxdb",
                                                environment: Stack.environment(of: "influxdb").merging(["INFLUXDB_URL": ""]) { $1 })
            defer { influxdb.remove() }
            let address = influxdb.address
            let claim = "q=CREATE USER intruder WITH PASSWORD 'x' WITH ALL PRIVILEGES"
            var first = ""
            let answered = try DockerHost.eventually(.seconds(60)) {
                first = try Tool.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", "-XPOST",
                                      "http://\(address):8086/query", "--data-urlencode", claim]).stdout
                return first != "000"
            }
            #expect(answered && first == "401", "the first answer of port 8086 to an unauthenticated CREATE USER: \(first)\(influxdb.report)")
            try influxdb.waitHealthy(within: .seconds(60))
            let users = try Tool.run(["curl", "-s", "-u", Self.admin, "http://\(address):8086/query", "--data-urlencode", "q=SHOW USERS"])
            #expect(users.stdout.contains("\"admin\"") && !users.stdout.contains("intruder"), "\(users)")
            let order = influxdb.logs.split(separator: "\n").map(String.init)
            let made = order.firstIndex { $0.contains("exited task=influxdb-first-admin") && $0.contains("code=0") }
            let opened = order.firstIndex { $0.contains("started service=influxd") }
            #expect(made != nil && opened != nil && made! < opened!, "the accounts must come first\(influxdb.report)")
            let pprof = try Tool.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", Self.admin, "http://\(address):8086/debug/pprof/"])
            #expect(pprof.stdout == "404", "/debug/pprof/: \(pprof)")
        }

        @Test func killingEachDaemonEndsTheContainer() throws {
            let influxdb = try Stack.startExtra("ft-test-influxdb-faults", image: "influxdb",
                                                environment: Stack.environment(of: "influxdb").merging(["INFLUXDB_URL": ""]) { $1 })
            defer { influxdb.remove() }
            try influxdb.waitHealthy(within: .seconds(60))
            try influxdb.expectEachKilledServiceEndsIt()
        }
    }
}
