import Foundation
import Testing

/// images/mysql built from its Dockerfile (on the alpine:3.22 stand-in) and run as a container
/// with ftinit as PID 1 and its data on a named volume, as its Deployment runs it on a PVC:
/// committed rows survive a kill -9 of mariadbd and a new start of the container, whose data is
/// not re-initialised (issue 15, the first image moved to real containers).
extension Integration {
    @Suite(.requires(.root, .dockerDaemon, .alpineMinirootfs, .tools(["docker"]), what: "mysql container tests"))
    struct MysqlContainer {
        static let secrets = ["MYSQL_ROOT_PASSWORD": "root-secret", "WP_DB_NAME": "wordpress", "WP_DB_USER": "wp",
                              "WP_DB_PASSWORD": "wp-secret", "INFLUXDB_METRICS_USER": "metrics", "INFLUXDB_METRICS_PASSWORD": "x",
                              "INFLUXDB_URL": ""]

        /// SQL as the WordPress user over TCP, from inside the container.
        static func sql(_ container: Container, _ statement: String) throws -> ToolResult {
            try container.exec(["mariadb", "--protocol=tcp", "-h", "127.0.0.1", "-u", "wp", "-pwp-secret",
                                "--batch", "--skip-column-names", "wordpress", "-e", statement])
        }

        @Test func rowsSurviveAKilledMariadbdAndANewStartOfTheContainer() throws {
            let tag = try ImageBuild.require("mysql")
            let volume = "ft-test-mysql-data"
            _ = try? DockerHost.run(["volume", "rm", "-f", volume])
            defer { _ = try? DockerHost.run(["volume", "rm", "-f", volume]) }
            let container = try Container.start("ft-test-mysql", tag: tag, environment: Self.secrets,
                                                extra: ["--network", "none", "-v", "\(volume):/var/lib/mysql"])
            defer { container.remove() }
            try container.waitHealthy(within: .seconds(60))

            let create = try Self.sql(container, """
                CREATE TABLE rows_kept (id INT PRIMARY KEY, note VARCHAR(40)) ENGINE=InnoDB;
                INSERT INTO rows_kept VALUES \((1...500).map { "(\($0), 'row \($0)')" }.joined(separator: ","));
                """)
            try #require(create.succeeded, "\(create)\(container.report)")

            let mariadbd = try #require(container.pid(of: "mariadb"), "no pid of mariadb\(container.report)")
            _ = try container.exec(["kill", "-9", mariadbd])
            #expect(try DockerHost.eventually(.seconds(5)) { try DockerHost.inspect(container.name, "{{.State.Running}}") == "false" },
                    "the container still runs after mariadbd was killed\(container.report)")
            #expect(try DockerHost.inspect(container.name, "{{.State.ExitCode}}") == "137", "\(container.report)")

            try #require(try DockerHost.run(["start", container.name]).succeeded)
            try container.waitHealthy(within: .seconds(60))
            let count = try Self.sql(container, "SELECT COUNT(*), MAX(note) FROM rows_kept")
            #expect(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "500\trow 99", "\(count)\(container.report)")
            let output = container.serviceOutput  // the task's lines, relayed on ftinit's stdout
            #expect(output.contains("existing data in /var/lib/mysql: not re-initialising")
                    && output.components(separatedBy: "initialising with mariadb-install-db").count == 2, "\(output)")

            let stopped = try DockerHost.run(["stop", "-t", "30", container.name], timeout: .seconds(40))
            let exitCode = try DockerHost.inspect(container.name, "{{.State.ExitCode}}")
            #expect(stopped.succeeded && exitCode == "0", "docker stop: exit \(exitCode)\(container.report)")
            try container.expectEachKilledServiceEndsIt()
        }
    }
}
