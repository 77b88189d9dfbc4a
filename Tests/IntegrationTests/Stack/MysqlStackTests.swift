import Foundation
import Testing

/// images/mysql as a container on the stack's network with its data on a named volume, as its
/// Deployment runs it on a PVC: committed rows survive a kill -9 of mariadbd and a new container
/// on the same volume, whose data is not re-initialised; an unset INFLUXDB_URL pushes metrics to
/// influxdb, an empty one turns them off; and each daemon killed ends the container.
extension Integration {
    @Suite(.requires(.root, .dockerDaemon, .alpineMinirootfs, .tools(["docker", "unshare", "mariadb", "kubectl", "python3"]), what: "mysql container tests"))
    struct MysqlStack {
        static let name = "ft-test-mysql"
        static let volume = "ft-test-mysql-data"

        /// A mysql container of its own on `volume` (a pod of the Deployment on its PVC).
        static func start(_ extraEnvironment: [String: String] = [:]) throws -> Container {
            try Stack.startExtra(name, image: "mysql", environment: Stack.environment(of: "mysql").merging(extraEnvironment) { $1 },
                                 extra: ["-v", "\(volume):/var/lib/mysql"])
        }

        /// How long from `docker start`/`run` until the probe counts mariadbd healthy (polled
        /// every 100 ms through `docker exec`, so a little more than ftinit's own figure).
        static func timeToHealthy(_ container: Container, since started: ContinuousClock.Instant) throws -> Duration {
            try container.waitHealthy(within: .seconds(90))
            return ContinuousClock.now - started
        }

        /// Issue 17: root logs in from inside the container only (no root@'%', even with the
        /// right password); server-side files only in the server's own directory; the WordPress
        /// user holds its database and nothing else (no FILE, no GRANT OPTION); mariadbd itself
        /// holds no password in its environment.
        @Test func rootOnlyFromInsideAndTheWordPressUserOnItsDatabaseOnly() throws {
            try Stack.require("mysql")
            let remoteRoot = try StackClients.tcpSQL("SELECT 1", user: "root", password: Stack.secret("MYSQL_ROOT_PASSWORD"))
            #expect(!remoteRoot.succeeded && remoteRoot.stderr.contains("Access denied for user 'root'"), "\(remoteRoot)")
            #expect(try StackClients.query("SELECT CURRENT_USER()", asRoot: true) == "root@localhost")
            #expect(try StackClients.query("SELECT COUNT(*) FROM mysql.global_priv WHERE User = 'root' AND Host <> 'localhost'", asRoot: true) == "0")
            #expect(try StackClients.query("SELECT @@secure_file_priv", asRoot: true) == "/var/lib/mysql-files/")
            let grants = try StackClients.query("SHOW GRANTS").split(separator: "\n").map { String($0) }
            let user = Stack.secret("WP_DB_USER"), database = Stack.secret("WP_DB_NAME")
            #expect(grants.count == 2 && grants[0].hasPrefix("GRANT USAGE ON *.* TO `\(user)`@`%`")
                    && grants[1] == "GRANT ALL PRIVILEGES ON `\(database)`.* TO `\(user)`@`%`", "\(grants)")
            let outfile = try StackClients.sql("SELECT 1 INTO OUTFILE '/tmp/ft-probe'")
            #expect(!outfile.succeeded && outfile.stderr.contains("Access denied"), "\(outfile)")
            // mariadbd holds no password of the pod in its environment (env-clear): an account
            // with FILE could read /proc/self/environ.
            let mysql = Stack.container("mysql")
            let pid = try #require(mysql.pid(of: "mariadb"), "\(mysql.report)")
            // Read as mysql, the process's own user: root in the container lacks CAP_SYS_PTRACE.
            let read = try DockerHost.run(["exec", "-u", "mysql", mysql.name, "cat", "/proc/\(pid)/environ"])
            try #require(read.succeeded, "\(read)")
            let environ = read.stdout
            #expect(!environ.isEmpty && !environ.contains("PASSWORD"), "mariadbd's environment: \(environ.replacingOccurrences(of: "\0", with: " "))")
        }

        @Test func rowsSurviveAKilledMariadbdAndANewContainerOnTheSameVolume() throws {
            try Stack.require("influxdb")
            _ = try? DockerHost.run(["rm", "-f", Self.name])
            _ = try? DockerHost.run(["volume", "rm", "-f", Self.volume])
            defer { _ = try? DockerHost.run(["rm", "-f", Self.name]); _ = try? DockerHost.run(["volume", "rm", "-f", Self.volume]) }

            var launched = ContinuousClock.now
            let first = try Self.start()
            let emptyVolume = try Self.timeToHealthy(first, since: launched)
            let host = first.address
            let create = try StackClients.sql("""
                CREATE TABLE rows_kept (id INT PRIMARY KEY, note VARCHAR(40)) ENGINE=InnoDB;
                START TRANSACTION;
                INSERT INTO rows_kept VALUES \((1...500).map { "(\($0), 'row \($0)')" }.joined(separator: ","));
                COMMIT;
                """, host: host)
            try #require(create.succeeded, "\(create)\(first.report)")
            #expect(first.logs.contains("metrics pushing url=http://influxdb:8086/"), "INFLUXDB_URL unset: no default\(first.report)")

            let mariadbd = try #require(first.pid(of: "mariadb"), "no pid of mariadb\(first.report)")
            _ = try first.exec(["kill", "-9", mariadbd])
            #expect(DockerHost.eventually(.seconds(5)) { (try? DockerHost.inspect(first.name, "{{.State.Running}}")) == "false" },
                    "the container still runs after mariadbd was killed\(first.report)")
            #expect(try DockerHost.inspect(first.name, "{{.State.ExitCode}}") != "0", "\(first.report)")

            // A new container on the same volume, INFLUXDB_URL set but empty: metrics off (issue
            // 15; the `${INFLUXDB_URL:-…}` of before gave the default back and kept pushing).
            launched = .now
            let second = try Self.start(["INFLUXDB_URL": ""])
            let afterKill = try Self.timeToHealthy(second, since: launched)
            #expect(second.logs.contains("metrics off reason=\"url is empty\""), "INFLUXDB_URL empty: metrics not off\(second.report)")
            let count = try StackClients.query("SELECT COUNT(*), MAX(note) FROM rows_kept", host: second.address)
            #expect(count == "500\trow 99", "\(count)\(second.report)")
            let output = second.serviceOutput
            #expect(output.contains("existing data in /var/lib/mysql: not re-initialising") && !output.contains("initialising with mariadb-install-db"),
                    "\(output)")

            let stopped = try DockerHost.run(["stop", "-t", "30", second.name], timeout: .seconds(40))
            let stopCode = try DockerHost.inspect(second.name, "{{.State.ExitCode}}")
            #expect(stopped.succeeded && stopCode == "0", "docker stop: exit \(stopCode)\(second.report)")

            // A warm start after a clean stop: what a rolled pod or a restarted container sees.
            launched = .now
            try #require(try DockerHost.run(["start", second.name]).succeeded)
            let warm = try Self.timeToHealthy(second, since: launched)
            print("MysqlStack: start to healthy (docker run/start to the probe's answer, polled): empty volume \(emptyVolume), "
                  + "after kill -9 \(afterKill), warm after a clean stop \(warm)")
        }

        @Test func killingEachDaemonEndsTheContainer() throws {
            let mysql = try Stack.startExtra("ft-test-mysql-faults", image: "mysql", environment: Stack.environment(of: "mysql"))
            defer { mysql.remove() }
            try mysql.waitHealthy(within: .seconds(90))
            try mysql.expectEachKilledServiceEndsIt()
        }
    }
}
