import Foundation
import Testing

/// What the metrics tests (MetricsPush, Dashboards) share about where ftinit's `[metrics]`
/// points end up: InfluxQL queries on the `ftservices` database of the influxdb image's
/// InfluxDB (started in an `ImageNetwork` by `InfluxDBImage.withInfluxDB`), their answers as
/// `Series`, and the contract those points hold to, read from docs/metrics.md.
enum MetricsStore {
    // MARK: InfluxDB

    /// Runs one InfluxQL statement on the `ftservices` database; its series.
    static func query(_ network: ImageNetwork, _ statement: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [Series] {
        let (status, body) = try Integration.InfluxDBImage.curl(network, ["-G", "http://influxdb:8086/query", "--data-urlencode", "db=ftservices",
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
