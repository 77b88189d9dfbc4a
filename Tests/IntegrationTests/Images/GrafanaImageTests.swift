import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Grafana has no Debian package, so it is not run here (README says so). What can be proven
/// is proven: the image's own ftinit.conf renders grafana.ini and the provisioning files with
/// the real ftinit, they parse as INI and YAML with the settings the image needs, and a stand-in
/// for the grafana binary, started by ftinit exactly as grafana would be (same argv, user and
/// environment), reads grafana.ini the way Grafana's config loader does and gets the secrets
/// back unchanged.
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(["ip", "python3"]), what: "grafana image tests"))
    struct GrafanaImage {
        static let secrets = ["GRAFANA_ADMIN_USER": "admin", "GRAFANA_ADMIN_PASSWORD": "gr#a;f\"ana",
                              "GRAFANA_SECRET_KEY": "s3cr3t-k3y",
                              "INFLUXDB_ADMIN_USER": "admin", "INFLUXDB_ADMIN_PASSWORD": "in$flux"]

        /// Reads the rendered files back: INI without interpolation, YAML.
        static let parser = #"""
            import configparser, sys, yaml
            root, password, key = sys.argv[1:4]
            text = open(root + "/etc/grafana.ini").read()
            ini = configparser.ConfigParser(interpolation=None)
            ini.read_string(text)
            assert ini["server"]["http_port"] == "3000", dict(ini["server"])
            assert ini["security"]["admin_user"] == "admin", dict(ini["security"])
            # The secrets are read from Grafana's environment, never written here.
            assert password not in text and key not in text, "a secret is in grafana.ini"
            assert ini["security"]["admin_password"] == "$__env{GRAFANA_ADMIN_PASSWORD}", dict(ini["security"])
            assert ini["security"]["secret_key"] == "$__env{GRAFANA_SECRET_KEY}", dict(ini["security"])
            # Nothing at start contacts grafana.com, GitHub or stats.grafana.org.
            expected = {("plugins", "preinstall_disabled"): "true", ("plugins", "public_key_retrieval_disabled"): "true",
                        ("news", "news_feed_enabled"): "false", ("analytics", "check_for_updates"): "false",
                        ("analytics", "check_for_plugin_updates"): "false", ("analytics", "reporting_enabled"): "false"}
            for (section, name), value in expected.items():
                assert ini.get(section, name, fallback=None) == value, (section, name, ini.get(section, name, fallback=None))
            source = yaml.safe_load(open(root + "/etc/grafana/provisioning/datasources/influxdb.yaml"))["datasources"][0]
            assert source["type"] == "influxdb" and source["url"] == sys.argv[4], source
            assert source["jsonData"]["dbName"] == "ftservices", source
            # ftinit's [metrics] pushes every 10 s: the data source's minimum interval.
            assert source["jsonData"]["timeInterval"] == "10s", source
            provider = yaml.safe_load(open(root + "/etc/grafana/provisioning/dashboards/ft_services.yaml"))["providers"][0]
            print("ok", ini["paths"]["provisioning"], provider["options"]["path"])
            """#

        @Test(arguments: [nil, "http://influxdb:8087"])
        func configAndProvisioningRenderAndParse(influxdbURL: String?) throws {
            let network = try ImageNetwork()
            defer { network.remove() }
            let root = try Scratch()
            defer { root.remove() }
            var environment = Self.secrets
            environment["INFLUXDB_URL"] = influxdbURL
            let ftinit = try ImageUnderTest.launch("grafana", network: network, root: root, environment: environment)
            defer { ftinit.stop() }

            // Everything before the grafana binary itself runs for real; then exec fails (127).
            #expect(try ftinit.exitCode(timeout: .seconds(20)) == 127, "\(ftinit.report)")
            #expect(ftinit.events("rendered").count == 3, "\(ftinit.report)")
            #expect(ftinit.events("exited", subject: "grafana-dirs").first?["code"] == "0", "\(ftinit.report)")
            // The data source follows INFLUXDB_URL as every image's [metrics] does.
            let parsed = try Tool.run(["python3", "-c", Self.parser, root.path, Self.secrets["GRAFANA_ADMIN_PASSWORD"]!,
                                       Self.secrets["GRAFANA_SECRET_KEY"]!, influxdbURL ?? "http://influxdb:8086"])
            #expect(parsed.succeeded, "\(parsed)")
        }

        /// In place of /usr/bin/grafana (GRAFANA_BIN): loads `-config` as Grafana 12 does
        /// (gopkg.in/ini.v1's value syntax: comments, `#`/`;` ending a value, quotes and triple
        /// quotes; then pkg/setting/expanders.go's expandConfig: the env expander over every value,
        /// then the file expander, each replacing the `$name{argument}` references it found in the
        /// value it was given) and prints the resulting [security] values as one JSON line.
        static let grafanaStandIn = #"""
            #!/usr/bin/python3
            import json, os, re, sys

            def load(path):
                sections = {"": {}}
                current = sections[""]
                for raw in open(path, encoding="utf-8").read().split("\n"):
                    line = raw.strip()
                    if not line or line[0] in "#;":
                        continue
                    if line.startswith("["):
                        current = sections.setdefault(line[1:line.index("]")], {})
                        continue
                    key, _, value = line.partition("=")
                    key, value = key.strip(), value.strip()
                    if value.startswith('"""'):
                        value = value[3:value.index('"""', 3)]
                    else:
                        cuts = [i for i in (value.find("#"), value.find(";")) if i >= 0]
                        if cuts:
                            value = value[:min(cuts)].rstrip()
                        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                            value = value[1:-1]
                    current[key] = value
                return sections

            PATTERN = re.compile(r"\$(|__\w+)\{([^}]+)\}", re.ASCII)

            def apply(value, expander):
                for prefix, argument in PATTERN.findall(value):
                    if prefix == "__" + expander or (prefix == "" and expander == "env"):
                        if expander == "env":
                            replacement = os.environ.get(argument, "")
                        else:
                            replacement = open(argument, encoding="utf-8").read().strip()
                        value = value.replace("$" + prefix + "{" + argument + "}", replacement, 1)
                return value

            arguments = sys.argv[1:]
            sections = load(arguments[arguments.index("-config") + 1])
            for expander in ("env", "file"):
                for values in sections.values():
                    for key in values:
                        values[key] = apply(values[key], expander)
            print("grafana-stand-in " + json.dumps({"uid": os.getuid(), "security": sections.get("security", {})}), flush=True)
            """#

        /// Grafana expands `$__env{…}`, `$__file{…}` and `${…}` inside grafana.ini after loading
        /// it: secrets full of them reach Grafana unchanged, because they reach it through its
        /// environment and `$__env{NAME}` in grafana.ini.
        @Test func grafanaGetsSecretsHoldingDollarsAndBracesUnchanged() throws {
            let network = try ImageNetwork()
            defer { network.remove() }
            let root = try Scratch()
            defer { root.remove() }
            let standIn = try root.write("grafana-stand-in", Self.grafanaStandIn, mode: 0o755)
            var environment = Self.secrets
            environment["GRAFANA_ADMIN_PASSWORD"] = #"p$a${X}s$__env{X}s$$w#o;r"d'\"#
            environment["GRAFANA_SECRET_KEY"] = #"k${X}e$__env{X}y$"#
            // Were any of those references expanded, this would show.
            environment["X"] = "EXPANDED"
            environment["GRAFANA_BIN"] = standIn
            let ftinit = try ImageUnderTest.launch("grafana", network: network, root: root, environment: environment)
            defer { ftinit.stop() }

            _ = try ftinit.exitCode(timeout: .seconds(20))
            #expect(ftinit.events("exited", subject: "grafana").first?["code"] == "0", "\(ftinit.report)")
            let line = try #require((ftinit.stdout.text + "\n" + ftinit.stderr.text).split(separator: "\n")
                .first { $0.contains("grafana-stand-in {") }, "the stand-in printed nothing\(ftinit.report)")
            let json = try #require(line.range(of: "grafana-stand-in ").map { line[$0.upperBound...] })
            let loaded = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            let security = try #require(loaded["security"] as? [String: String], "\(loaded)")
            #expect(security["admin_user"] == "admin", "\(security)")
            #expect(security["admin_password"] == environment["GRAFANA_ADMIN_PASSWORD"], "\(security)")
            #expect(security["secret_key"] == environment["GRAFANA_SECRET_KEY"], "\(security)")
            // Run as the image's grafana user (debian.env: nobody), as grafana would be.
            #expect(loaded["uid"] as? Int == Int(getpwnam("nobody")?.pointee.pw_uid ?? 0), "\(loaded)")
        }

        /// ftinit must not give up on grafana's first check before the kubelet's startupProbe
        /// would: the probe's last attempt (initialDelay + (failureThreshold - 1) x period, failing
        /// at the latest after its timeout) comes no later than ftinit's start-period.
        @Test func ftinitWaitsForGrafanaAsLongAsTheStartupProbe() throws {
            let script = #"""
                import re, sys, yaml
                config, manifest = sys.argv[1:3]
                section, period = None, None
                for line in open(config):
                    line = line.strip()
                    if line.startswith("["):
                        section = line
                    elif section == "[service grafana]" and line.startswith("start-period"):
                        period = line.split("=", 1)[1].strip()
                units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
                seconds = sum(float(n) * units[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d)", period))
                container = yaml.safe_load(open(manifest))["spec"]["template"]["spec"]["containers"][0]
                probe = container["startupProbe"]
                window = probe["initialDelaySeconds"] + (probe["failureThreshold"] - 1) * probe["periodSeconds"] + probe["timeoutSeconds"]
                assert seconds >= window, f"start-period {period} ({seconds:g} s) < the startupProbe's {window} s"
                print(f"start-period {seconds:g} s >= startupProbe {window} s")
                """#
            let root = FTInitBinary.packageRoot.path
            let result = try Tool.run(["python3", "-c", script, "\(ImageUnderTest.folder("grafana"))/ftinit.conf",
                                       "\(root)/srcs/grafana/deployment.yaml"])
            #expect(result.succeeded, "\(result)")
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
