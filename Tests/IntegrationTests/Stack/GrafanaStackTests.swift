import Foundation
import Testing

/// images/grafana built from its Dockerfile on the stand-in and run as a container. Grafana
/// has no Debian build, so the stand-in's `grafana` package installs no binary (README): the
/// image builds, and its container runs every step before the exec of grafana for real. What
/// can be proven is proven: grafana.ini and the provisioning files ftinit renders there parse
/// as INI and YAML with the settings the image needs, and a stand-in program at
/// /usr/bin/grafana, started by ftinit exactly as grafana would be (same argv, user and
/// environment), records what it was given; Grafana's config loader, replayed on that, gets
/// the secrets back unchanged.
extension Integration {
    @Suite(.requires(.root, .dockerDaemon, .alpineMinirootfs, .tools(["docker", "python3", "openssl", "kubectl"]), what: "grafana container tests"))
    struct GrafanaStack {
        static let secrets = ["GRAFANA_ADMIN_USER": "admin", "GRAFANA_ADMIN_PASSWORD": "gr#a;f\"ana",
                              "GRAFANA_SECRET_KEY": "s3cr3t-k3y",
                              "INFLUXDB_READER_USER": "reader", "INFLUXDB_READER_PASSWORD": "re$ad",
                              "INFLUXDB_METRICS_USER": "metrics", "INFLUXDB_METRICS_PASSWORD": "w$rite",
                              "LB_IP": "172.31.77.1"]

        /// Runs the grafana image as `name` with `environment` until ftinit ends; its exit code.
        /// As its pod runs it (its user, no capability, a read-only root), with anonymous volumes
        /// for its data claim and its emptyDirs: `docker cp` reads them afterwards.
        static func runToEnd(_ name: String, environment: [String: String], extra: [String] = [],
                             sourceLocation: SourceLocation = #_sourceLocation) throws -> (container: Container, code: String) {
            let container = try Stack.startExtra(name, image: "grafana", environment: environment, extra: extra,
                                                 emptyDirsAsVolumes: true, sourceLocation: sourceLocation)
            let ended = try DockerHost.eventually(.seconds(30)) { try DockerHost.inspect(name, "{{.State.Running}}") == "false" }
            try #require(ended, "still running after 30 s\(container.report)", sourceLocation: sourceLocation)
            return (container, try DockerHost.inspect(name, "{{.State.ExitCode}}"))
        }

        /// `path` of the (stopped) container copied into `directory`.
        static func copy(_ container: Container, _ path: String, to directory: String,
                         sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
            let target = "\(directory)/\(URL(fileURLWithPath: path).lastPathComponent)"
            let copied = try DockerHost.run(["cp", "\(container.name):\(path)", target])
            try #require(copied.succeeded, "docker cp \(path): \(copied)", sourceLocation: sourceLocation)
            return target
        }

        /// The owner and mode of `path` in the (stopped) container, from the header of the tar
        /// `docker cp` streams (ustar: mode at byte 100, uid at 108, 8 octal digits each).
        static func tarHeader(_ container: Container, _ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (uid: Int, mode: Int) {
            let streamed = try Tool.run(["sh", "-c", "docker -H unix://\(DockerHost.socket) cp \"$0\" - | head -c 512 | od -An -c -j 100 -N 16 | tr -d ' \\n'",
                                         "\(container.name):\(path)"], sourceLocation: sourceLocation)
            // od -c prints NULs as \0: "0000600\00000144\0" -> mode, uid.
            let fields = streamed.stdout.components(separatedBy: "\\0").filter { !$0.isEmpty }
            try #require(fields.count == 2, "no tar header for \(path): \(streamed)", sourceLocation: sourceLocation)
            return (Int(fields[1], radix: 8) ?? -1, (Int(fields[0], radix: 8) ?? -1) & 0o7777)
        }

        /// Reads the rendered files back: INI without interpolation, YAML.
        static let parser = #"""
            import configparser, sys, yaml
            ini_path, provisioning, password, key, url = sys.argv[1:6]
            text = open(ini_path).read()
            ini = configparser.ConfigParser(interpolation=None)
            ini.read_string(text)
            assert ini["server"]["http_port"] == "3000", dict(ini["server"])
            # HTTPS only, with the pair ftinit keeps on the data volume; the cookie follows.
            assert ini["server"]["protocol"] == "https", dict(ini["server"])
            assert ini["server"]["cert_file"] == "/var/lib/grafana/tls/cert.pem", dict(ini["server"])
            assert ini["server"]["cert_key"] == "/var/lib/grafana/tls/key.pem", dict(ini["server"])
            assert ini["security"]["cookie_secure"] == "true", dict(ini["security"])
            assert ini["security"]["admin_user"] == "admin", dict(ini["security"])
            # The secrets are read from Grafana's environment, never written here.
            assert password not in text and key not in text, "a secret is in grafana.ini"
            assert ini["security"]["admin_password"] == "$__env{GRAFANA_ADMIN_PASSWORD}", dict(ini["security"])
            assert ini["security"]["secret_key"] == "$__env{GRAFANA_SECRET_KEY}", dict(ini["security"])
            assert ini["paths"]["provisioning"] == "/run/grafana/provisioning", dict(ini["paths"])
            # Nothing at start contacts grafana.com, GitHub or stats.grafana.org.
            expected = {("plugins", "preinstall_disabled"): "true", ("plugins", "public_key_retrieval_disabled"): "true",
                        ("news", "news_feed_enabled"): "false", ("analytics", "check_for_updates"): "false",
                        ("analytics", "check_for_plugin_updates"): "false", ("analytics", "reporting_enabled"): "false"}
            for (section, name), value in expected.items():
                assert ini.get(section, name, fallback=None) == value, (section, name, ini.get(section, name, fallback=None))
            source = yaml.safe_load(open(provisioning + "/datasources/influxdb.yaml"))["datasources"][0]
            assert source["type"] == "influxdb" and source["url"] == url, source
            assert source["jsonData"]["dbName"] == "ftservices", source
            # The read-only account, left to Grafana's own $NAME expansion: never the admin.
            assert source["user"] == "$INFLUXDB_READER_USER", source
            assert source["secureJsonData"]["password"] == "$INFLUXDB_READER_PASSWORD", source
            # ftinit's [metrics] pushes every 10 s: the data source's minimum interval.
            assert source["jsonData"]["timeInterval"] == "10s", source
            provider = yaml.safe_load(open(provisioning + "/dashboards/ft_services.yaml"))["providers"][0]
            assert provider["options"]["path"] == "/etc/ftinit/dashboards", provider
            print("ok")
            """#

        @Test(arguments: [nil, "http://influxdb:8087"])
        func configAndProvisioningRenderAndParse(influxdbURL: String?) throws {
            var environment = Self.secrets
            environment["INFLUXDB_URL"] = influxdbURL
            let (container, code) = try Self.runToEnd("ft-test-grafana-render", environment: environment)
            defer { container.remove() }

            // Everything before the grafana binary itself runs for real; then its exec fails.
            #expect(code == "127", "ftinit's exit code \(code)\(container.report)")
            #expect(container.events("rendered").count == 3, "\(container.report)")
            #expect(container.events("exited", subject: "grafana-dirs").first?["code"] == "0", "\(container.report)")
            let files = try Scratch()
            defer { files.remove() }
            let ini = try Self.copy(container, "/run/grafana/grafana.ini", to: files.path)
            let provisioning = try Self.copy(container, "/run/grafana/provisioning", to: files.path)
            let passwd = try String(contentsOfFile: try Self.copy(container, "/etc/passwd", to: files.path), encoding: .utf8)
            // The data source follows INFLUXDB_URL as every image's [metrics] does.
            let parsed = try Tool.run(["python3", "-c", Self.parser, ini, provisioning, Self.secrets["GRAFANA_ADMIN_PASSWORD"]!,
                                       Self.secrets["GRAFANA_SECRET_KEY"]!, influxdbURL ?? "http://influxdb:8086"])
            #expect(parsed.succeeded, "\(parsed)")
            // grafana.ini is the grafana user's alone (the package's user, from its pre-install).
            let grafanaUid = try #require(passwd.split(separator: "\n").first { $0.hasPrefix("grafana:") }?.split(separator: ":")[2],
                                          "no grafana user in the image: \(passwd)")
            // The pod runs as that user, by number (runAsNonRoot needs one): the same ids.
            let pod = try PodSecurity.deployment("grafana").dictionary("spec.template.spec.securityContext")
            #expect(pod.string("runAsUser") == grafanaUid && pod.string("fsGroup") == grafanaUid, "\(pod) vs grafana's uid \(grafanaUid)")
            let header = try Self.tarHeader(container, "/run/grafana/grafana.ini")
            #expect(header.uid == Int(grafanaUid) && header.mode == 0o600, "grafana.ini: uid \(header.uid) mode \(String(header.mode, radix: 8))")
            // The TLS key is Grafana's to read, no one else's; the certificate names LB_IP.
            let key = try Self.tarHeader(container, "/var/lib/grafana/tls/key.pem")
            #expect(key.uid == Int(grafanaUid) && key.mode == 0o600, "key.pem: uid \(key.uid) mode \(String(key.mode, radix: 8))")
            let cert = try Self.copy(container, "/var/lib/grafana/tls/cert.pem", to: files.path)
            let names = try Tool.run(["openssl", "x509", "-in", cert, "-noout", "-ext", "subjectAltName"])
            #expect(names.stdout.contains("DNS:grafana") && names.stdout.contains("IP Address:172.31.77.1"), "\(names)")
        }

        /// In place of /usr/bin/grafana: records its uid, its argv and its environment, and ends.
        static let grafanaStandIn = """
            #!/bin/sh
            mkdir -p /tmp/grafana-run
            id -u >/tmp/grafana-run/uid
            printf '%s\\n' "$@" >/tmp/grafana-run/argv
            env >/tmp/grafana-run/env
            if head -c 1 /var/lib/grafana/tls/key.pem >/dev/null; then echo yes; else echo no; fi >/tmp/grafana-run/key-readable

            """

        /// Loads the `-config` of the recorded argv as Grafana 12 does (gopkg.in/ini.v1's value
        /// syntax: comments, `#`/`;` ending a value, quotes and triple quotes; then
        /// pkg/setting/expanders.go's expandConfig: the env expander over every value, then the
        /// file expander, each replacing the `$name{argument}` references it found in the value
        /// it was given), with the recorded environment; prints [security] as JSON.
        static let grafanaLoader = #"""
            import json, re, sys
            run, root = sys.argv[1:3]
            argv = open(run + "/argv").read().split("\n")
            environment = dict(line.split("=", 1) for line in open(run + "/env").read().split("\n") if "=" in line)

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
                            replacement = environment.get(argument, "")
                        else:
                            replacement = open(root + argument, encoding="utf-8").read().strip()
                        value = value.replace("$" + prefix + "{" + argument + "}", replacement, 1)
                return value

            config = argv[argv.index("-config") + 1]
            sections = load(root + config)
            for expander in ("env", "file"):
                for values in sections.values():
                    for key in values:
                        values[key] = apply(values[key], expander)
            print(json.dumps({"argv": argv[:argv.index("")] if "" in argv else argv, "security": sections.get("security", {})}))
            """#

        /// Grafana expands `$__env{…}`, `$__file{…}` and `${…}` inside grafana.ini after loading
        /// it: secrets full of them reach Grafana unchanged, because they reach it through its
        /// environment and `$__env{NAME}` in grafana.ini.
        @Test func grafanaGetsSecretsHoldingDollarsAndBracesUnchanged() throws {
            let files = try Scratch()
            defer { files.remove() }
            let standIn = try files.write("grafana", Self.grafanaStandIn, mode: 0o755)
            var environment = Self.secrets
            environment["GRAFANA_ADMIN_PASSWORD"] = #"p$a${X}s$__env{X}s$$w#o;r"d'\"#
            environment["GRAFANA_SECRET_KEY"] = #"k${X}e$__env{X}y$"#
            // Were any of those references expanded, this would show.
            environment["X"] = "EXPANDED"
            let (container, _) = try Self.runToEnd("ft-test-grafana-secrets", environment: environment,
                                                   extra: ["-v", "\(standIn):/usr/bin/grafana:ro"])
            defer { container.remove() }
            #expect(container.events("exited", subject: "grafana").first?["code"] == "0", "\(container.report)")

            let run = try Self.copy(container, "/tmp/grafana-run", to: files.path)
            let root = files.file("root")
            try FileManager.default.createDirectory(atPath: "\(root)/run/grafana", withIntermediateDirectories: true)
            _ = try Self.copy(container, "/run/grafana/grafana.ini", to: "\(root)/run/grafana")
            let loaded = try Tool.run(["python3", "-c", Self.grafanaLoader, run, root])
            try #require(loaded.succeeded, "\(loaded)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(loaded.stdout.utf8)) as? [String: Any], "\(loaded)")
            #expect(json["argv"] as? [String] == ["server", "-homepath", "/usr/share/grafana", "-config", "/run/grafana/grafana.ini"], "\(json)")
            let security = try #require(json["security"] as? [String: String], "\(json)")
            #expect(security["admin_user"] == "admin", "\(security)")
            #expect(security["admin_password"] == environment["GRAFANA_ADMIN_PASSWORD"], "\(security)")
            #expect(security["secret_key"] == environment["GRAFANA_SECRET_KEY"], "\(security)")
            // Run as the image's grafana user, as grafana is.
            let uid = try String(contentsOfFile: "\(run)/uid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let passwd = try String(contentsOfFile: try Self.copy(container, "/etc/passwd", to: files.path), encoding: .utf8)
            #expect(passwd.split(separator: "\n").contains { $0.hasPrefix("grafana:x:\(uid):") }, "uid \(uid): \(passwd)")
            // As that user, it can read its TLS key (HTTPS on 3000).
            let keyReadable = try String(contentsOfFile: "\(run)/key-readable", encoding: .utf8)
            #expect(keyReadable == "yes\n", "grafana cannot read its TLS key: \(keyReadable)")
        }

        @Test func missingAdminPasswordStopsBeforeAnythingIsWritten() throws {
            var environment = Self.secrets
            environment["GRAFANA_ADMIN_PASSWORD"] = nil
            let (container, code) = try Self.runToEnd("ft-test-grafana-missing", environment: environment)
            defer { container.remove() }
            #expect(code == "78", "\(container.report)")
            #expect(container.logs.contains("undefined variable ${GRAFANA_ADMIN_PASSWORD}"), "\(container.report)")
            let files = try Scratch()
            defer { files.remove() }
            let copied = try DockerHost.run(["cp", "\(container.name):/etc/grafana.ini", files.path])
            #expect(!copied.succeeded, "grafana.ini was written: \(copied)")
        }
    }
}
