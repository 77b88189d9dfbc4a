import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// images/mysql under a continuous write load (docs/faults.md, "MariaDB under load"):
/// SIGTERM to ftinit mid-load is a clean InnoDB shutdown (the next start does no crash
/// recovery) that loses no committed row; kill -9 of mariadbd mid-load loses no committed row
/// either (InnoDB's crash recovery replays them at the next start).
///
/// One test, three boots of one data dir, so the slow first initialisation is paid once:
/// boot 1 (load, SIGTERM) → boot 2 (no crash recovery, rows checked, load, kill -9 mariadbd)
/// → boot 3 (crash recovery seen, which also proves the "no recovery" check can see one;
/// every committed row checked).
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(["ip", "sh", "mariadb", "mariadbd", "mariadb-install-db"]),
                     what: "MariaDB write load tests"))
    struct MariaDBWriteLoad {
        /// What MariaDB 10.11 writes at a start that replays the redo log after a crash
        /// (`[Note] InnoDB: Starting crash recovery from checkpoint LSN=...`), and at the end of a
        /// clean InnoDB shutdown (`[Note] Shutdown completed; log sequence number N; transaction
        /// id N`, without an `InnoDB:` prefix). Checked against mariadbd 10.11.19: a kill -9
        /// makes the next start log the first; a SIGTERM logs the second, and the next start
        /// does not log the first.
        static let crashRecovery = "InnoDB: Starting crash recovery"
        static let cleanShutdown = "Shutdown completed; log sequence number"

        /// The first line of ftinit's stderr containing `text`, from the service `mariadb` only
        /// (`mariadb | ...`) or from any program (the `mysql-init` task's mariadb-install-db
        /// runs a server too, on a first boot).
        static func logLine(_ ftinit: FTInit, containing text: String, serviceOnly: Bool = false) -> String? {
            ftinit.stderr.lines.first { $0.text.contains(text) && (!serviceOnly || $0.text.hasPrefix("mariadb | ")) }?.text
        }

        /// One long-lived `mariadb` client fed by a shell loop: each `INSERT` (autocommit, so
        /// committed and flushed when it returns) is followed by `SELECT id`, which the client
        /// prints (unbuffered) only once the INSERT succeeded. So every id on the writer's stdout
        /// is a committed row. The client stops at the first error (batch mode): when the
        /// server goes away.
        final class Writer {
            let process: SpawnedProcess

            init(network: ImageNetwork, firstId: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
                let ip = try #require(Prerequisites.which("ip"), sourceLocation: sourceLocation)
                let loop = "i=\(firstId); while :; do echo \"INSERT INTO load_rows (id) VALUES ($i); SELECT $i;\"; i=$((i+1)); done"
                let client = "mariadb --protocol=tcp -h mysql -P 3306 -u wp -pwp-secret --batch --skip-column-names --unbuffered wordpress"
                process = try SpawnedProcess(executable: ip, arguments: ["netns", "exec", network.name, "sh", "-c", "\(loop) | \(client)"],
                                             environment: ["PATH": Prerequisites.path], directory: nil)
            }

            /// The committed ids printed so far (complete lines only).
            var committed: [Int] { process.stdout.lines.compactMap { Int($0.text) } }

            /// Waits until at least `count` rows were committed.
            func waitForCommitted(_ count: Int, timeout: Duration = .seconds(30), sourceLocation: SourceLocation = #_sourceLocation) throws {
                let enough = Poll.until(timeout: timeout, interval: .milliseconds(20)) { committed.count >= count || process.ended != nil }
                try #require(enough && committed.count >= count,
                             "the writer committed \(committed.count) rows, expected \(count)\n\(process.stderr.tail(20))",
                             sourceLocation: sourceLocation)
            }

            /// Waits for the client to notice the server is gone; returns every committed id.
            func finish(sourceLocation: SourceLocation = #_sourceLocation) -> [Int] {
                if process.waitForExit(timeout: .seconds(15)) == nil {
                    Issue.record("the writer did not stop when the server went away", sourceLocation: sourceLocation)
                    kill(-process.pid, SIGKILL)
                    _ = process.waitForExit(timeout: .seconds(5))
                }
                process.stdout.waitForEOF(timeout: .seconds(2))
                return committed
            }

            func stop() {
                if process.ended == nil { kill(-process.pid, SIGKILL); _ = process.waitForExit(timeout: .seconds(5)) }
            }
        }

        static func boot(_ network: ImageNetwork, _ root: Scratch, sourceLocation: SourceLocation = #_sourceLocation) throws -> FTInit {
            try ImageUnderTest.boot("mysql", network: network, root: root, environment: MysqlImage.secrets, healthyWithin: .seconds(90),
                                    sourceLocation: sourceLocation)
        }

        /// Every id in `committed` is a row of load_rows.
        static func expectAllPresent(_ committed: [Int], _ network: ImageNetwork, _ ftinit: FTInit,
                                     sourceLocation: SourceLocation = #_sourceLocation) throws {
            let select = try MysqlImage.sql("SELECT id FROM load_rows", network: network)
            try #require(select.succeeded, "\(select)\(ftinit.report)", sourceLocation: sourceLocation)
            let present = Set(select.stdout.split(separator: "\n").compactMap { Int($0) })
            let lost = committed.filter { !present.contains($0) }
            #expect(lost.isEmpty, "\(lost.count) committed rows lost, first \(lost.prefix(10)); \(present.count) rows present",
                    sourceLocation: sourceLocation)
        }

        @Test func sigtermMidLoadShutsDownCleanlyAndKill9MidLoadLosesNoCommittedRow() throws {
            let network = try ImageNetwork()
            defer { network.remove() }
            let root = try Scratch()
            defer { root.remove() }

            // Boot 1: load, then SIGTERM to ftinit in the middle of it.
            let first = try Self.boot(network, root)
            defer { first.stop() }
            let create = try MysqlImage.sql("CREATE TABLE load_rows (id INT PRIMARY KEY, at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB",
                                            network: network)
            try #require(create.succeeded, "\(create)\(first.report)")
            let load1 = try Writer(network: network, firstId: 1)
            defer { load1.stop() }
            try load1.waitForCommitted(100)
            let termAt = ContinuousClock.now
            try first.send(SIGTERM)
            let termCode = try first.exitCode(timeout: .seconds(30))
            let stopTime = try #require(first.exitTime) - termAt
            let committed1 = load1.finish()
            #expect(termCode == 0, "SIGTERM mid-load must be a clean stop\(first.report)")
            #expect(Self.logLine(first, containing: Self.cleanShutdown, serviceOnly: true) != nil,
                    "no `mariadb | ... \(Self.cleanShutdown)` in the service's log\(first.report)")
            #expect(first.events("killed").isEmpty, "mariadbd needed SIGKILL\(first.report)")

            // Boot 2: the same data dir starts without crash recovery and has every row.
            let second = try Self.boot(network, root)
            defer { second.stop() }
            #expect(Self.logLine(second, containing: Self.crashRecovery) == nil, "crash recovery after a SIGTERM stop\(second.report)")
            try Self.expectAllPresent(committed1, network, second)

            // Load again, then kill -9 mariadbd in the middle of it.
            let load2 = try Writer(network: network, firstId: (committed1.max() ?? 0) + 1_000_000)
            defer { load2.stop() }
            try load2.waitForCommitted(100)
            let mariadbd = try #require(second.startedServices().first { $0.name == "mariadb" }, "\(second.report)")
            let killedAt = ContinuousClock.now
            kill(mariadbd.pid, SIGKILL)
            let killCode = try second.exitCode(timeout: .seconds(10))
            let killExit = try #require(second.exitTime) - killedAt
            let committed2 = load2.finish()
            #expect(killCode == 137, "ftinit exits 128+9 when mariadbd is killed\(second.report)")
            #expect(killExit < .seconds(2), "ftinit took \(killExit) to exit after mariadbd was killed")

            // Boot 3: InnoDB recovers; every row committed by either load is there.
            let third = try Self.boot(network, root)
            defer { third.stop() }
            #expect(Self.logLine(third, containing: Self.crashRecovery) != nil, "no crash recovery logged after kill -9 (the check of boot 2 would be blind)\(third.report)")
            try Self.expectAllPresent(committed1 + committed2, network, third)
            print("MariaDBWriteLoad: boot 1 logged `\(Self.logLine(first, containing: Self.cleanShutdown, serviceOnly: true) ?? "-")`; "
                  + "boot 3 logged `\(Self.logLine(third, containing: Self.crashRecovery) ?? "-")`")
            print("MariaDBWriteLoad: SIGTERM after \(committed1.count) committed rows, stopped in \(stopTime); "
                  + "kill -9 after \(committed2.count) more, ftinit exited \(killCode) in \(killExit)")
            try third.send(SIGTERM)
            #expect(try third.exitCode(timeout: .seconds(30)) == 0, "\(third.report)")
        }
    }
}
