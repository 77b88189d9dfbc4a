import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// images/mysql under a continuous write load (docs/faults.md, "MariaDB under load"), as
/// containers on the stack's network, one after another on one named volume as pods of the
/// Deployment on its PVC: SIGTERM to ftinit mid-load (`docker stop`) is a clean InnoDB shutdown
/// (the next start does no crash recovery) that loses no committed row; kill -9 of mariadbd
/// mid-load loses no committed row either (InnoDB's crash recovery replays them at the next start).
///
/// One test, three containers on one volume, so the slow first initialisation is paid once:
/// container 1 (load, SIGTERM) → container 2 (no crash recovery, rows checked, load, kill -9
/// mariadbd) → container 3 (crash recovery seen, which also proves the "no recovery" check can
/// see one; every committed row checked).
extension Integration {
    @Suite(.requires(.root, .dockerDaemon, .alpineMinirootfs, .tools(["docker", "sh", "mariadb", "kubectl", "python3"]), what: "MariaDB write load tests"))
    struct MariaDBWriteLoad {
        /// What MariaDB 10.11 writes at a start that replays the redo log after a crash
        /// (`[Note] InnoDB: Starting crash recovery from checkpoint LSN=...`), and at the end of a
        /// clean InnoDB shutdown (`[Note] Shutdown completed; log sequence number N; transaction
        /// id N`, without an `InnoDB:` prefix). Checked against mariadbd 10.11.19: a kill -9
        /// makes the next start log the first; a SIGTERM logs the second, and the next start
        /// does not log the first.
        static let crashRecovery = "InnoDB: Starting crash recovery"
        static let cleanShutdown = "Shutdown completed; log sequence number"

        /// The first line of the container's output containing `text`, from the service
        /// `mariadb` only (`mariadb | ...`) or from any program (the `mysql-init` task's
        /// mariadb-install-db runs a server too, on a first start).
        static func logLine(_ container: Container, containing text: String, serviceOnly: Bool = false) -> String? {
            (container.serviceOutput + container.logs).split(separator: "\n").first {
                $0.contains(text) && (!serviceOnly || $0.hasPrefix("mariadb | "))
            }.map(String.init)
        }

        /// One long-lived `mariadb` client fed by a shell loop: each `INSERT` (autocommit, so
        /// committed and flushed when it returns) is followed by `SELECT id`, which the client
        /// prints (unbuffered) only once the INSERT succeeded. So every id on the writer's stdout
        /// is a committed row. The client stops at the first error (batch mode): when the
        /// server goes away.
        final class Writer {
            let process: SpawnedProcess

            init(host: String, firstId: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
                let shell = try #require(Prerequisites.which("sh"), sourceLocation: sourceLocation)
                let loop = "i=\(firstId); while :; do echo \"INSERT INTO load_rows (id) VALUES ($i); SELECT $i;\"; i=$((i+1)); done"
                let client = "mariadb --no-defaults --protocol=tcp -h \(host) -P 3306 -u \(Stack.secret("WP_DB_USER")) --batch "
                    + "--skip-column-names --unbuffered \(Stack.secret("WP_DB_NAME"))"
                // The password through the environment: it holds quotes and `$`.
                process = try SpawnedProcess(executable: shell, arguments: ["-c", "\(loop) | \(client)"],
                                             environment: ["PATH": Prerequisites.path, "MYSQL_PWD": Stack.secret("WP_DB_PASSWORD")],
                                             directory: nil)
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

        static let volume = "ft-test-mysql-load"

        /// A new mysql container on the volume, healthy.
        static func start(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Container {
            let container = try Stack.startExtra(name, image: "mysql", environment: Stack.environment(of: "mysql"),
                                                 extra: ["-v", "\(volume):/var/lib/mysql"], sourceLocation: sourceLocation)
            try container.waitHealthy(within: .seconds(90), sourceLocation: sourceLocation)
            return container
        }

        /// Every id in `committed` is a row of load_rows.
        static func expectAllPresent(_ committed: [Int], _ container: Container, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let select = try StackClients.sql("SELECT id FROM load_rows", host: container.address, sourceLocation: sourceLocation)
            try #require(select.succeeded, "\(select)\(container.report)", sourceLocation: sourceLocation)
            let present = Set(select.stdout.split(separator: "\n").compactMap { Int($0) })
            let lost = committed.filter { !present.contains($0) }
            #expect(lost.isEmpty, "\(lost.count) committed rows lost, first \(lost.prefix(10)); \(present.count) rows present",
                    sourceLocation: sourceLocation)
        }

        static func exitCode(_ container: Container) throws -> String { try DockerHost.inspect(container.name, "{{.State.ExitCode}}") }

        @Test func sigtermMidLoadShutsDownCleanlyAndKill9MidLoadLosesNoCommittedRow() throws {
            let names = ["ft-test-mysql-load-1", "ft-test-mysql-load-2", "ft-test-mysql-load-3"]
            func cleanUp() {
                for name in names { _ = try? DockerHost.run(["rm", "-f", name]) }
                _ = try? DockerHost.run(["volume", "rm", "-f", Self.volume])
            }
            cleanUp()
            defer { cleanUp() }

            // Container 1: load, then SIGTERM to ftinit (docker stop) in the middle of it.
            let first = try Self.start(names[0])
            let create = try StackClients.sql("CREATE TABLE load_rows (id INT PRIMARY KEY, at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB",
                                              host: first.address)
            try #require(create.succeeded, "\(create)\(first.report)")
            let load1 = try Writer(host: first.address, firstId: 1)
            defer { load1.stop() }
            try load1.waitForCommitted(100)
            let termAt = ContinuousClock.now
            _ = try DockerHost.run(["stop", "-t", "30", first.name], timeout: .seconds(40))
            let stopTime = ContinuousClock.now - termAt
            let committed1 = load1.finish()
            #expect(try Self.exitCode(first) == "0", "SIGTERM mid-load must be a clean stop\(first.report)")
            #expect(Self.logLine(first, containing: Self.cleanShutdown, serviceOnly: true) != nil,
                    "no `mariadb | ... \(Self.cleanShutdown)` in the service's log\(first.report)")
            #expect(first.events("killed").isEmpty, "mariadbd needed SIGKILL\(first.report)")

            // Container 2: the same volume starts without crash recovery and has every row.
            let second = try Self.start(names[1])
            #expect(Self.logLine(second, containing: Self.crashRecovery) == nil, "crash recovery after a SIGTERM stop\(second.report)")
            try Self.expectAllPresent(committed1, second)

            // Load again, then kill -9 mariadbd in the middle of it.
            let load2 = try Writer(host: second.address, firstId: (committed1.max() ?? 0) + 1_000_000)
            defer { load2.stop() }
            try load2.waitForCommitted(100)
            let mariadbd = try #require(second.pid(of: "mariadb"), "\(second.report)")
            let killedAt = ContinuousClock.now
            _ = try second.exec(["kill", "-9", mariadbd])
            let ended = DockerHost.eventually(.seconds(10)) { (try? DockerHost.inspect(second.name, "{{.State.Running}}")) == "false" }
            let killExit = ContinuousClock.now - killedAt
            let committed2 = load2.finish()
            let killCode = try Self.exitCode(second)
            #expect(ended && killCode == "137", "the container ends with 128+9 when mariadbd is killed\(second.report)")
            #expect(killExit < .seconds(2), "the container took \(killExit) to end after mariadbd was killed")

            // Container 3: InnoDB recovers; every row committed by either load is there.
            let third = try Self.start(names[2])
            #expect(Self.logLine(third, containing: Self.crashRecovery) != nil,
                    "no crash recovery logged after kill -9 (the check of container 2 would be blind)\(third.report)")
            try Self.expectAllPresent(committed1 + committed2, third)
            print("MariaDBWriteLoad: container 1 logged `\(Self.logLine(first, containing: Self.cleanShutdown, serviceOnly: true) ?? "-")`; "
                  + "container 3 logged `\(Self.logLine(third, containing: Self.crashRecovery) ?? "-")`")
            print("MariaDBWriteLoad: SIGTERM after \(committed1.count) committed rows, docker stop took \(stopTime); "
                  + "kill -9 after \(committed2.count) more, the container ended \(killCode) within \(killExit) (polled)")
            _ = try DockerHost.run(["stop", "-t", "30", third.name], timeout: .seconds(40))
            #expect(try Self.exitCode(third) == "0", "\(third.report)")
        }
    }
}
