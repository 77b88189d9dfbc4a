import Foundation
import Testing

/// What the metrics tests (MetricsPush, Dashboards) share about where ftinit's `[metrics]`
/// points end up: Debian's InfluxDB 1.x in a `TestNetwork` of the test's own (`withInfluxDB`),
/// InfluxQL queries on its `ftservices` database, their answers as `Series`, and the contract
/// those points hold to, read from docs/metrics.md. (The influxdb image itself, its bootstrap
/// and its accounts are InfluxDBStack's.)
enum MetricsStore {
    // MARK: InfluxDB

    typealias Account = (user: String, password: String)
    /// The admin and the write-only account, as the influxdb image's bootstrap makes them, and
    /// the environment that names both as the images' Secrets do.
    static let admin: Account = ("admin", "admin-pw"), writer: Account = ("metrics", "metrics-pw")
    static let secrets = ["INFLUXDB_ADMIN_USER": admin.user, "INFLUXDB_ADMIN_PASSWORD": admin.password,
                          "INFLUXDB_METRICS_USER": writer.user, "INFLUXDB_METRICS_PASSWORD": writer.password]

    /// Runs `body` with influxd answering on port 8086 of a new network namespace, auth
    /// enforced, the `ftservices` database and both accounts made.
    static func withInfluxDB(_ body: (TestNetwork) throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let network = try TestNetwork(sourceLocation: sourceLocation)
        defer { network.remove() }
        let data = try Scratch()
        defer { data.remove() }
        try """
            reporting-disabled = true
            bind-address = "127.0.0.1:8088"
            [meta]
              dir = "\(data.path)/meta"
            [data]
              dir = "\(data.path)/data"
              wal-dir = "\(data.path)/wal"
              query-log-enabled = false
            [http]
              bind-address = ":8086"
              auth-enabled = true
              log-enabled = false
            """.write(toFile: data.file("influxdb.conf"), atomically: true, encoding: .utf8)
        let argv = network.prefix + [try #require(Prerequisites.which("influxd"), sourceLocation: sourceLocation), "-config", data.file("influxdb.conf")]
        let influxd = try SpawnedProcess(executable: argv[0], arguments: Array(argv.dropFirst()), environment: ["PATH": Prerequisites.path],
                                         directory: data.path)
        defer { influxd.killAndWait() }
        let up = Poll.until(timeout: .seconds(30), interval: .milliseconds(100)) {
            influxd.ended != nil || (try? curl(network, ["http://127.0.0.1:8086/ping"], as: nil).status) == "204"
        }
        try #require(up && influxd.ended == nil, "influxd did not answer within 30 s: \(influxd.stderr.text)", sourceLocation: sourceLocation)
        // With auth on and no user yet, InfluxDB takes exactly this first CREATE USER unauthenticated.
        for (statement, account) in [("CREATE USER \(admin.user) WITH PASSWORD '\(admin.password)' WITH ALL PRIVILEGES", nil as Account?),
                                     ("CREATE DATABASE ftservices", admin),
                                     ("CREATE USER \(writer.user) WITH PASSWORD '\(writer.password)'", admin),
                                     ("GRANT WRITE ON ftservices TO \(writer.user)", admin)] {
            let answer = try curl(network, ["-XPOST", "http://127.0.0.1:8086/query", "--data-urlencode", "q=\(statement)"], as: account)
            try #require(answer.status == "200" && !answer.body.contains("\"error\""), "\(statement): \(answer)", sourceLocation: sourceLocation)
        }
        try body(network)
    }

    /// curl inside `network` as `account` (nil: no credentials); `-w` appends the status code
    /// as the last line.
    static func curl(_ network: TestNetwork, _ arguments: [String], as account: Account? = admin) throws -> (status: String, body: String) {
        let auth = account.map { ["-u", "\($0.user):\($0.password)"] } ?? []
        let result = try network.run(["curl", "-s", "-w", "\n%{http_code}"] + auth + arguments)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (String(lines.last ?? ""), lines.dropLast().joined(separator: "\n"))
    }

    /// Runs one InfluxQL statement on the `ftservices` database; its series.
    static func query(_ network: TestNetwork, _ statement: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [Series] {
        let (status, body) = try curl(network, ["-G", "http://127.0.0.1:8086/query", "--data-urlencode", "db=ftservices",
                                                "--data-urlencode", "epoch=ms", "--data-urlencode", "q=\(statement)"])
        let json = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
        let results = json?["results"] as? [[String: Any]]
        try #require(status == "200" && results?.count == 1 && results?[0]["error"] == nil, "\(statement): HTTP \(status): \(body)",
                     sourceLocation: sourceLocation)
        return (results?[0]["series"] as? [[String: Any]] ?? []).map(Series.init)
    }

    /// One series of a query's answer.
    struct Series: CustomStringConvertible {
        let name: String
        let tags: [String: String]
        let columns: [String]
        let rows: [[Any]]

        init(_ json: [String: Any]) {
            name = json["name"] as? String ?? ""
            tags = json["tags"] as? [String: String] ?? [:]
            columns = json["columns"] as? [String] ?? []
            rows = json["values"] as? [[Any]] ?? []
        }

        /// The non-null values of `column`, oldest first.
        func values(_ column: String) -> [Any] {
            guard let index = columns.firstIndex(of: column) else { return [] }
            return rows.compactMap { index < $0.count && !($0[index] is NSNull) ? $0[index] : nil }
        }

        func numbers(_ column: String) -> [Double] { values(column).compactMap { ($0 as? NSNumber)?.doubleValue } }
        func integers(_ column: String) -> [Int64] { values(column).compactMap { ($0 as? NSNumber)?.int64Value } }
        func strings(_ column: String) -> [String] { values(column).compactMap { $0 as? String } }
        /// Point times, in milliseconds (`query` asks for `epoch=ms`).
        var times: [Int64] { integers("time") }

        /// The value of `column` in the point at `time`.
        func value(_ column: String, at time: Int64) -> Any? {
            guard let index = columns.firstIndex(of: column), let row = rows.first(where: { ($0.first as? NSNumber)?.int64Value == time }),
                  index < row.count, !(row[index] is NSNull) else { return nil }
            return row[index]
        }

        /// How fast counter `column` grew from the first point to the last, per second.
        func rate(_ column: String) -> Double? {
            let pairs = rows.compactMap { row -> (Double, Double)? in
                guard let index = columns.firstIndex(of: column), let time = (row.first as? NSNumber)?.doubleValue,
                      let value = (row[index] as? NSNumber)?.doubleValue else { return nil }
                return (time / 1000, value)
            }
            guard let first = pairs.first, let last = pairs.last, last.0 > first.0 else { return nil }
            return (last.1 - first.1) / (last.0 - first.0)
        }

        var description: String {
            "\(name) \(tags): \(columns) \(rows.suffix(4).map { $0.map { "\($0)" }.joined(separator: " ") })"
        }
    }

    // MARK: docs/metrics.md

    /// docs/metrics.md's "Measurements and fields" table: measurement → field → type.
    static func documentedFields(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: [String: String]] {
        var table: [String: [String: String]] = [:]
        var measurement = ""
        for line in try documentSection("Measurements and fields").split(separator: "\n") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false)
            guard cells.count > 4 else { continue }
            measurement = try codeSpans(in: cells[1]).first ?? measurement
            let type = cells[3].trimmingCharacters(in: .whitespaces)
            guard ["string", "integer", "float"].contains(type) else { continue }
            for field in try codeSpans(in: cells[2]) { table[measurement, default: [:]][field] = type }
        }
        try #require(table.count == 4, "docs/metrics.md: \(table)", sourceLocation: sourceLocation)
        return table
    }

    /// The tags docs/metrics.md names: the code spans of its "Tags" section (`tags`, the
    /// config key, comes along harmlessly).
    static func documentedTags() throws -> Set<String> {
        Set(try codeSpans(in: Substring(documentSection("Tags"))))
    }

    /// The `## title` section of docs/metrics.md, up to the next `## ` heading; empty when
    /// there is none.
    private static func documentSection(_ title: String) throws -> String {
        let markdown = try String(contentsOf: FTInitBinary.packageRoot.appendingPathComponent("docs/metrics.md"), encoding: .utf8)
        return markdown.components(separatedBy: "\n## ").first { $0.hasPrefix("\(title)\n") } ?? ""
    }

    /// The names written as code (`` `name` ``, lower case and `_` only) in `text`.
    private static func codeSpans(in text: Substring) throws -> [String] {
        text.matches(of: try Regex(#"`([a-z_]+)`"#)).compactMap { $0.output[1].substring.map(String.init) }
    }
}
