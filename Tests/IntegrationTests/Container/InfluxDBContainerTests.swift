import Foundation
import Testing

/// images/influxdb built from its own Dockerfile (on the alpine:3.22 stand-in) and run as a
/// container (issue 15). Its Dockerfile downloads InfluxDB's static build and checks its
/// SHA-256: here the download is a tarball of Debian's InfluxDB in the release's layout,
/// served on this machine's loopback (the build runs with `--network host`), and its own
/// checksum is passed, so the checksum step still runs. Then: /ping, auth enforced, points
/// written and read back by the admin, the metrics account may write but not read, and a
/// killed influxd ends the container.
extension Integration {
    @Suite(.requires(.root, .dockerDaemon, .alpineMinirootfs, .tools(["docker", "nsenter", "curl", "python3", "tar", "influxd", "influx"]),
                     what: "influxdb container tests"))
    struct InfluxDBContainer {
        static let secrets = ["INFLUXDB_ADMIN_USER": "admin", "INFLUXDB_ADMIN_PASSWORD": "in'flux\"$pw\\",
                              "INFLUXDB_METRICS_USER": "metrics", "INFLUXDB_METRICS_PASSWORD": "w'r\"ite"]

        /// Builds the image from a tarball of Debian's influxd and influx served on 127.0.0.1.
        static func build() throws -> String {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let version = "1.6.7"
            let bin = scratch.file("influxdb-\(version)-1/usr/bin")
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            for program in ["influxd", "influx"] {
                try FileManager.default.copyItem(atPath: try #require(Prerequisites.which(program)), toPath: "\(bin)/\(program)")
            }
            let tarball = "influxdb-\(version)-static_linux_amd64.tar.gz"
            let packed = try Tool.run(["tar", "-czf", tarball, "influxdb-\(version)-1"], directory: scratch.path)
            try #require(packed.succeeded, "\(packed)")
            let sum = try Tool.run(["sha256sum", scratch.file(tarball)])
            let sha256 = String(sum.stdout.prefix(64))
            // Port 0: the server takes a free one and says which on its first line.
            let python = try #require(Prerequisites.which("python3"))
            let server = try SpawnedProcess(executable: python, arguments: ["-u", "-m", "http.server", "--bind", "127.0.0.1", "0"],
                                            environment: ["PATH": Prerequisites.path], directory: scratch.path)
            defer { server.killAndWait() }
            var port: Int?
            Poll.until(timeout: .seconds(10)) {
                let words = server.stdout.text.split(separator: " ")
                port = words.firstIndex(of: "port").flatMap { words.indices.contains($0 + 1) ? Int(words[$0 + 1]) : nil }
                return port != nil
            }
            let served = try #require(port, "python3 -m http.server did not say its port: \(server.stdout.text)")
            return try ImageBuild.require("influxdb", arguments: [
                "--network", "host",
                "--build-arg", "INFLUXDB_VERSION=\(version)",
                "--build-arg", "INFLUXDB_URL=http://127.0.0.1:\(served)/\(tarball)",
                "--build-arg", "INFLUXDB_SHA256=\(sha256)",
            ])
        }

        /// curl in the container's network namespace; the status code is the last line.
        static func curl(_ container: Container, _ arguments: [String], user: String? = "admin:in'flux\"$pw\\") throws -> (status: String, body: String) {
            let result = try container.inNetwork(["curl", "-s", "-w", "\n%{http_code}"] + (user.map { ["-u", $0] } ?? []) + arguments)
            let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            return (String(lines.last ?? ""), lines.dropLast().joined(separator: "\n"))
        }

        @Test func authWritesQueriesTheWriterAccountAndAKilledInfluxd() throws {
            let tag = try Self.build()
            let container = try Container.start("ft-test-influxdb", tag: tag, environment: Self.secrets, extra: ["--network", "none"])
            defer { container.remove() }
            try container.waitHealthy(within: .seconds(60))
            #expect(try DockerHost.eventually(.seconds(30)) { container.logs.contains("exited task=influxdb-init pid=") },
                    "influxdb-init did not finish\(container.report)")
            #expect(container.logs.contains("exited task=influxdb-init") && container.events("exited", subject: "influxdb-init").first?["code"] == "0",
                    "\(container.report)")

            #expect(try Self.curl(container, ["http://127.0.0.1:8086/ping"], user: nil).status == "204")
            let anonymous = try Self.curl(container, ["http://127.0.0.1:8086/query", "--data-urlencode", "q=SHOW DATABASES"], user: nil)
            #expect(anonymous.status == "401", "a query without credentials must be refused: \(anonymous)")
            let write = try Self.curl(container, ["-XPOST", "http://127.0.0.1:8086/write?db=ftservices", "--data-binary",
                                                  "cpu,service=mysql value=0.25 1700000000000000000"])
            #expect(write.status == "204", "\(write)")
            let query = try Self.curl(container, ["-G", "http://127.0.0.1:8086/query?db=ftservices", "--data-urlencode",
                                                  "q=SELECT value FROM cpu WHERE service='mysql'"])
            #expect(query.status == "200" && query.body.contains("0.25"), "\(query)")
            let writer = "metrics:w'r\"ite"
            let asWriter = try Self.curl(container, ["-XPOST", "http://127.0.0.1:8086/write?db=ftservices", "--data-binary",
                                                     "cpu,service=nginx value=0.5 1700000000000000000"], user: writer)
            #expect(asWriter.status == "204", "the writer must write: \(asWriter)")
            let readByWriter = try Self.curl(container, ["-G", "http://127.0.0.1:8086/query?db=ftservices", "--data-urlencode",
                                                         "q=SELECT value FROM cpu"], user: writer)
            #expect(readByWriter.body.contains("not authorized") || readByWriter.status == "403", "the writer must not read: \(readByWriter)")

            try container.expectEachKilledServiceEndsIt()
        }
    }
}
