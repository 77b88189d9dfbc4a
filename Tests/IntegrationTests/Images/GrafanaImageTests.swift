import Foundation
import Testing

/// Grafana has no Debian package, so it is not run here (README says so). What can be proven
/// is proven: the image's own ftinit.conf renders grafana.ini and the provisioning files with
/// the real ftinit, they parse as INI and YAML, and they point at the InfluxDB service.
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(["ip", "python3"]), what: "grafana image tests"))
    struct GrafanaImage {
        static let secrets = ["GRAFANA_ADMIN_USER": "admin", "GRAFANA_ADMIN_PASSWORD": "gr#a;f\"ana",
                              "INFLUXDB_ADMIN_USER": "admin", "INFLUXDB_ADMIN_PASSWORD": "in$flux"]

        /// Reads the rendered files back the way Grafana does: INI without interpolation, YAML.
        static let parser = """
            import configparser, sys, yaml
            root = sys.argv[1]
            ini = configparser.ConfigParser(interpolation=None)
            ini.read_string(open(root + "/etc/grafana.ini").read())
            assert ini["server"]["http_port"] == "3000", dict(ini["server"])
            assert ini["security"]["admin_user"] == "admin", dict(ini["security"])
            source = yaml.safe_load(open(root + "/var/lib/grafana/provisioning/datasources/influxdb.yaml"))["datasources"][0]
            assert source["type"] == "influxdb" and source["url"] == "http://influxdb:8086", source
            assert source["jsonData"]["dbName"] == "ftservices", source
            provider = yaml.safe_load(open(root + "/var/lib/grafana/provisioning/dashboards/ft_services.yaml"))["providers"][0]
            print("ok", ini["paths"]["provisioning"], provider["options"]["path"])
            """

        @Test func configAndProvisioningRenderAndParse() throws {
            let network = try ImageNetwork()
            defer { network.remove() }
            let root = try Scratch()
            defer { root.remove() }
            let ftinit = try ImageUnderTest.launch("grafana", network: network, root: root, environment: Self.secrets)
            defer { ftinit.stop() }

            // Everything before the grafana binary itself runs for real; then exec fails (127).
            #expect(try ftinit.exitCode(timeout: .seconds(20)) == 127, "\(ftinit.report)")
            #expect(ftinit.events("rendered").count == 3, "\(ftinit.report)")
            #expect(ftinit.events("exited", subject: "grafana-dirs").first?["code"] == "0", "\(ftinit.report)")
            let parsed = try Tool.run(["python3", "-c", Self.parser, root.path])
            #expect(parsed.succeeded, "\(parsed)")
        }

        @Test func missingAdminPasswordStopsBeforeAnythingIsWritten() throws {
            let network = try ImageNetwork()
            defer { network.remove() }
            let root = try Scratch()
            defer { root.remove() }
            var secrets = Self.secrets
            secrets["GRAFANA_ADMIN_PASSWORD"] = nil
            let ftinit = try ImageUnderTest.launch("grafana", network: network, root: root, environment: secrets)
            defer { ftinit.stop() }
            #expect(try ftinit.exitCode(timeout: .seconds(20)) == 78, "\(ftinit.report)")
            #expect(ftinit.stderr.lines.contains { $0.text.contains("undefined variable ${GRAFANA_ADMIN_PASSWORD}") }, "\(ftinit.report)")
            #expect(!FileManager.default.fileExists(atPath: root.file("etc/grafana.ini")))
        }
    }
}
