import Foundation
import Testing

/// The Grafana dashboards of images/grafana/dashboards (written by generate.py) hold to the
/// metrics contract: statically (generated, one per image plus the overview, the InfluxDB data
/// source everywhere, only measurements, fields and tags that docs/metrics.md lists), and for
/// real: seven ftinit processes push their metrics to InfluxDB (MetricsStore), and every
/// query of every dashboard, with Grafana's macros substituted, returns data for its service.
extension Integration {
    @Suite(.requires(.tools(["python3"]), what: "dashboard tests"))
    struct Dashboards {
        static let folder = "\(ImageFolder.path("grafana"))/dashboards"
        static let dataSource = Dashboard.DataSource(type: "influxdb", uid: "influxdb")

        /// What the tests read of a dashboard JSON file.
        struct Dashboard: Decodable {
            struct DataSource: Decodable, Equatable { let type: String; let uid: String }
            struct Target: Decodable { let datasource: DataSource?; let query: String; let rawQuery: Bool? }
            struct Panel: Decodable { let title: String; let datasource: DataSource?; let targets: [Target] }
            struct Variable: Decodable { let name: String; let datasource: DataSource?; let query: String }
            struct Templating: Decodable { let list: [Variable] }
            let uid: String
            let title: String
            let panels: [Panel]
            let templating: Templating

            /// The dashboard's service (`nginx.json` → nginx), nil for the overview.
            var service: String? { uid == "ft-overview" ? nil : String(uid.dropFirst("ft-".count)) }
            var queries: [String] { panels.flatMap { $0.targets.map(\.query) } }
        }

        /// Every dashboard file, by file name.
        static func dashboards() throws -> [String: Dashboard] {
            let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") }
            return try Dictionary(uniqueKeysWithValues: names.map { name in
                let data = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(name)"))
                return (name, try JSONDecoder().decode(Dashboard.self, from: data))
            })
        }

        /// Whatever in `query` docs/metrics.md does not list: every `"name"` must be the measurement
        /// (after FROM), an alias (after AS), a tag, or a field of that measurement.
        static func unknownNames(in query: String, fields: [String: [String: String]], tags: Set<String>) throws -> [String] {
            let quoted = try Regex(#"(FROM |AS )?"([^"]+)""#)
            let names = query.matches(of: quoted).map { ($0.output[1].substring.map(String.init), String($0.output[2].substring ?? "")) }
            guard let measurement = names.first(where: { $0.0 == "FROM " })?.1 else { return ["no FROM \"measurement\""] }
            guard let known = fields[measurement] else { return ["measurement \(measurement)"] }
            return names.filter { $0.0 == nil && !tags.contains($0.1) && known[$0.1] == nil }.map { "\(measurement).\($0.1)" }
        }

        // MARK: static

        @Test func committedJSONIsWhatGenerateWrites() throws {
            let result = try Tool.run(["python3", "\(Self.folder)/generate.py", "--check"])
            #expect(result.succeeded, "run images/grafana/dashboards/generate.py and commit the JSON\n\(result)")
        }

        @Test func oneDashboardPerImagePlusTheOverview() throws {
            let dashboards = try Self.dashboards()
            #expect(Set(dashboards.keys) == Set(ImageLint.images.map { "\($0).json" } + ["overview.json"]))
            for (file, dashboard) in dashboards {
                let name = String(file.dropLast(".json".count))
                #expect(dashboard.uid == "ft-\(name)", "\(file)")
                #expect(dashboard.title == (name == "overview" ? "Overview" : name), "\(file)")
                #expect(!dashboard.panels.isEmpty, "\(file) has no panel")
            }
        }

        @Test func everyPanelTargetAndVariableQueriesTheInfluxDBDataSource() throws {
            for (file, dashboard) in try Self.dashboards() {
                for panel in dashboard.panels {
                    #expect(panel.datasource == Self.dataSource, "\(file): panel \(panel.title)")
                    #expect(!panel.targets.isEmpty, "\(file): panel \(panel.title) has no query")
                    for target in panel.targets {
                        #expect(target.datasource == Self.dataSource && target.rawQuery == true, "\(file): \(panel.title): \(target.query)")
                        #expect(target.query.contains("$timeFilter"), "\(file): \(panel.title): \(target.query)")
                    }
                }
                for variable in dashboard.templating.list {
                    #expect(variable.datasource == Self.dataSource, "\(file): variable \(variable.name)")
                }
            }
        }

        /// A service dashboard shows its own service only, in the containers its variable selects.
        @Test func serviceDashboardsFilterByServiceAndContainer() throws {
            for (file, dashboard) in try Self.dashboards() {
                guard let service = dashboard.service else { continue }
                let variable = dashboard.templating.list.first { $0.name == "container" }
                #expect(variable?.query == #"SHOW TAG VALUES FROM "ftinit_container" WITH KEY = "container" WHERE "service" = '\#(service)'"#,
                        "\(file)")
                for query in dashboard.queries {
                    #expect(query.contains(#""service" = '\#(service)'"#) && query.contains(#""container" =~ /^$container$/"#), "\(file): \(query)")
                }
            }
        }

        @Test func queriesNameOnlyMetricsOfDocsMetricsMd() throws {
            let fields = try MetricsStore.documentedFields()
            let tags = try MetricsStore.documentedTags().subtracting(fields.keys)
            #expect(tags.isSuperset(of: ["service", "container", "process", "path"]), "docs/metrics.md tags: \(tags)")
            for (file, dashboard) in try Self.dashboards() {
                for query in dashboard.queries + dashboard.templating.list.map(\.query) {
                    let unknown = try Self.unknownNames(in: query, fields: fields, tags: tags)
                    #expect(unknown.isEmpty, "\(file): not in docs/metrics.md: \(unknown) in \(query)")
                }
            }
        }

        // MARK: real: ftinit → InfluxDB → every dashboard query

        /// The config of one pushing ftinit, shaped like an image's: the writer account of the
        /// influxdb image (MetricsStore.writer), a busy or sleeping worker, an idle service with a check, a finished
        /// task, and its own directory as the disk path.
        static func config(service: String, directory: String, busy: Bool) -> String {
            """
            [metrics]
            url = http://influxdb:8086
            database = ftservices
            username = ${INFLUXDB_METRICS_USER}
            password = ${INFLUXDB_METRICS_PASSWORD}
            service = \(service)
            container = \(service)-0
            interval = 1s
            disk = \(directory)

            [task prepare]
            run = true

            [service worker]
            run = \(busy ? "/bin/sh -c 'while :; do :; done'" : "sleep 1000")
            after = prepare

            [service idle]
            run = sleep 1000
            check = exec true

            """
        }

        /// `query` as Grafana sends it for the last 10 minutes, `$__interval` = `interval`, and
        /// `$container` = `container`.
        static func substitute(_ query: String, interval: String, container: String) -> String {
            query.replacingOccurrences(of: "$timeFilter", with: "time > now() - 10m")
                .replacingOccurrences(of: "$__interval", with: interval).replacingOccurrences(of: "$container", with: container)
        }

        @Test(.requires(.root, .pidNamespaces, .tools(["ip", "unshare", "nsenter", "mount", "influxd", "curl"]), what: "dashboard queries against InfluxDB"))
        func everyQueryReturnsWhatRealFtinitPushed() throws {
            try MetricsStore.withInfluxDB { network in try Self.checkQueries(in: network) }
        }

        /// One pushing ftinit per image into the InfluxDB of `network`, then every dashboard query.
        static func checkQueries(in network: TestNetwork) throws {
            try network.addLink()  // net_*_bytes count every interface but lo
            var directories: [Scratch] = []
            defer { directories.forEach { $0.remove() } }
            var pushers: [FTInit] = []
            defer { pushers.forEach { $0.stop() } }
            for service in TestNetwork.serviceNames {
                let directory = try Scratch()
                directories.append(directory)
                let config = try directory.config(Self.config(service: service, directory: directory.path, busy: service == "nginx"))
                pushers.append(try FTInit.launch(["run", "--config", config], environment: MetricsStore.secrets,
                                                 directory: directory.path, network: network))
            }

            // Twelve samples of every pusher (1 s apart): a 10 s boundary crossed, so even a
            // derivative over 10 s buckets has two buckets to compare.
            let containers = TestNetwork.serviceNames.map { "\($0)-0" }
            let count = #"SELECT count("cpu_seconds") FROM "ftinit_container" WHERE time > now() - 10m GROUP BY "container""#
            var samples: [String: Int64] = [:]
            Poll.until(timeout: .seconds(30), interval: .seconds(1)) {
                let series = (try? MetricsStore.query(network, count)) ?? []
                samples = Dictionary(series.map { ($0.tags["container"] ?? "?", $0.integers("count").first ?? 0) }) { $0 + $1 }
                return pushers.contains { $0.process.ended != nil } || containers.allSatisfy { samples[$0, default: 0] >= 12 }
            }
            for pusher in pushers { try #require(pusher.process.ended == nil, "an ftinit pushing metrics ended\(pusher.report)") }
            try #require(containers.allSatisfy { samples[$0, default: 0] >= 12 }, "samples within 30 s: \(samples)\(pushers[0].report)")

            for dashboard in try Self.dashboards().values.sorted(by: { $0.uid < $1.uid }) {
                // The "All" value of $container, as Grafana writes it: every value, regex-escaped.
                var all = ""
                for variable in dashboard.templating.list {
                    let values = try MetricsStore.query(network, variable.query).flatMap { $0.strings("value") }
                    #expect(!values.isEmpty, "\(dashboard.uid): \(variable.query) returned nothing")
                    all = "(" + values.map(NSRegularExpression.escapedPattern(for:)).joined(separator: "|") + ")"
                }
                let expected = Set(dashboard.service.map { [$0] } ?? TestNetwork.serviceNames)
                for query in dashboard.queries {
                    for interval in ["1s", "10s"] {
                        let statement = Self.substitute(query, interval: interval, container: all)
                        guard let series = try? MetricsStore.query(network, statement) else { continue }  // the issue is recorded
                        let answered = series.filter { item in item.columns.dropFirst().contains { !item.values($0).isEmpty } }
                        let services = Set(answered.map { $0.tags["service"] ?? dashboard.service ?? "?" })
                        #expect(services.isSuperset(of: expected),
                                "\(dashboard.uid): no value for \(expected.subtracting(services).sorted()): \(statement)\n\(series)")
                    }
                }
            }

            // And the overview's health says what it should: every image healthy (a finished
            // task, prepare here, must not count as a service down).
            let overview = try #require(try Self.dashboards()["overview.json"])
            let health = try #require(overview.panels.first { $0.title == "Health" }?.targets.first?.query)
            let statement = Self.substitute(health, interval: "10s", container: "")
            let latest = try MetricsStore.query(network, statement).map { ($0.tags["service"] ?? "?", $0.numbers("healthy").last) }
            #expect(latest.count == TestNetwork.serviceNames.count && latest.allSatisfy { $0.1 == 1 }, "\(statement): \(latest)")
        }
    }
}
