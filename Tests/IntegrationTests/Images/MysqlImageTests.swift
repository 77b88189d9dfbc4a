import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// images/mysql run with Debian's MariaDB: first boot initialises and creates the WordPress
/// database and user, committed rows survive a kill -9 of mariadbd, and a second boot never
/// re-initialises the data.
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(["ip", "mariadb", "mariadbd", "mariadb-install-db"]), what: "mysql image tests"))
    struct MysqlImage {
        static let secrets = ["MYSQL_ROOT_PASSWORD": "root-secret", "WP_DB_NAME": "wordpress", "WP_DB_USER": "wp",
                              "WP_DB_PASSWORD": "wp-secret"]

        /// Runs SQL as the WordPress user over TCP, as the wordpress and phpmyadmin pods do.
        static func sql(_ statement: String, network: ImageNetwork) throws -> ToolResult {
            try network.run(["mariadb", "--protocol=tcp", "-h", "mysql", "-P", "3306", "-u", "wp", "-pwp-secret",
                             "--batch", "--skip-column-names", "wordpress", "-e", statement])
        }

        @Test func committedRowsSurviveAKilledMariadbdAndTheDataIsNotReinitialised() throws {
            let network = try ImageNetwork()
            defer { network.remove() }
            let root = try Scratch()
            defer { root.remove() }

            let firstLaunched = ContinuousClock.now
            let first = try ImageUnderTest.launch("mysql", network: network, root: root, environment: Self.secrets)
            defer { first.stop() }
            try first.waitUntilHealthy(timeout: .seconds(90))
            let create = try Self.sql("""
                CREATE TABLE rows_kept (id INT PRIMARY KEY, note VARCHAR(40)) ENGINE=InnoDB;
                START TRANSACTION;
                INSERT INTO rows_kept VALUES \((1...500).map { "(\($0), 'row \($0)')" }.joined(separator: ","));
                COMMIT;
                """, network: network)
            try #require(create.succeeded, "\(create)\(first.report)")

            let mariadbd = try #require(first.startedServices().first, "no service started\(first.report)")
            let killedAt = ContinuousClock.now
            kill(mariadbd.pid, SIGKILL)
            let code = try first.exitCode(timeout: .seconds(10))
            #expect(code != 0, "ftinit exited 0 after mariadbd was killed\(first.report)")
            #expect(try #require(first.exitTime) - killedAt < .seconds(2), "\(first.report)")

            // The second boot also turns metrics off: INFLUXDB_URL set but empty (issue 15; the
            // `${INFLUXDB_URL:-…}` of before gave the default back and kept pushing).
            let secondLaunched = ContinuousClock.now
            let second = try ImageUnderTest.launch("mysql", network: network, root: root,
                                                   environment: Self.secrets.merging(["INFLUXDB_URL": ""]) { $1 })
            defer { second.stop() }
            try second.waitUntilHealthy(timeout: .seconds(90))
            #expect(first.stderr.text.contains("metrics pushing url=http://influxdb:8086/"), "INFLUXDB_URL unset: no default\(first.report)")
            #expect(second.stderr.text.contains("metrics off reason=\"url is empty\""), "INFLUXDB_URL empty: metrics not off\(second.report)")
            let count = try Self.sql("SELECT COUNT(*), MAX(note) FROM rows_kept", network: network)
            #expect(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "500\trow 99", "\(count)\(second.report)")

            try second.send(SIGTERM)
            #expect(try second.exitCode(timeout: .seconds(30)) == 0, "\(second.report)")

            // A warm start after a clean stop: what a rolled pod or a restarted container sees.
            let thirdLaunched = ContinuousClock.now
            let third = try ImageUnderTest.launch("mysql", network: network, root: root, environment: Self.secrets)
            defer { third.stop() }
            try third.waitUntilHealthy(timeout: .seconds(90))
            func startToHealthy(_ ftinit: FTInit, since launched: ContinuousClock.Instant) -> String {
                ftinit.events("healthy", subject: "mariadb").first.map { "\($0.time - launched)" } ?? "-"
            }
            print("MysqlImage: start to healthy: empty volume \(startToHealthy(first, since: firstLaunched)), "
                  + "after kill -9 \(startToHealthy(second, since: secondLaunched)), "
                  + "warm after a clean stop \(startToHealthy(third, since: thirdLaunched))")
        }

        @Test func killingEachDaemonEndsTheImage() throws {
            let network = try ImageNetwork()
            defer { network.remove() }
            try ImageFaults.expectEachKilledServiceEndsTheImage("mysql", network: network, environment: Self.secrets)
        }
    }
}
