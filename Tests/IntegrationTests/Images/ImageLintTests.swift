import Foundation
import Testing

/// Every image folder passes the linters a reviewer would run: hadolint on the Dockerfile
/// (nothing above "info"; each ignore justified in a comment next to it), shellcheck on every
/// shell script, and `ftinit check` on its ftinit.conf with only its documented variables set.
extension Integration {
    @Suite(.requires(.tools(["hadolint", "shellcheck"]), what: "image lint tests"))
    struct ImageLint {
        static var images: [String] {
            let root = FTInitBinary.packageRoot.appendingPathComponent("images").path
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
            return names.filter { FileManager.default.fileExists(atPath: "\(root)/\($0)/Dockerfile") }.sorted()
        }

        @Test func everyImageFolderHasItsFiles() {
            #expect(Self.images == ["ftps", "grafana", "influxdb", "mysql", "nginx", "phpmyadmin", "wordpress"],
                    "images/ must hold exactly the seven service images")
            for image in Self.images {
                for file in ["Dockerfile", "ftinit.conf"] {
                    #expect(FileManager.default.fileExists(atPath: "\(ImageFolder.path(image))/\(file)"), "images/\(image)/\(file) is missing")
                }
            }
        }

        @Test(arguments: images)
        func dockerfilePassesHadolint(image: String) throws {
            let result = try Tool.run(["hadolint", "--failure-threshold", "info", "\(ImageFolder.path(image))/Dockerfile"])
            #expect(result.succeeded, "\(result)")
        }

        @Test(arguments: images)
        func dockerfileRunsFtinitAsPID1(image: String) throws {
            let dockerfile = try String(contentsOfFile: "\(ImageFolder.path(image))/Dockerfile", encoding: .utf8)
            let lines = dockerfile.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(lines.first { $0.hasPrefix("FROM ") } == "FROM alpine:3.22", "images/\(image): FROM must be alpine:3.22")
            #expect(lines.filter { $0.hasPrefix("FROM ") }.count == 1, "images/\(image): one stage, FROM alpine only")
            #expect(lines.contains("ENTRYPOINT [\"/sbin/ftinit\"]"))
            #expect(lines.contains("STOPSIGNAL SIGTERM"))
            #expect(lines.contains { $0.hasPrefix("EXPOSE ") }, "images/\(image) declares no port")
            #expect(lines.contains { $0.hasPrefix("COPY ftinit /sbin/ftinit") })
        }

        @Test(arguments: images)
        func shellScriptsPassShellcheck(image: String) throws {
            let folder = ImageFolder.path(image)
            let scripts = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".sh") }.sorted()
            guard !scripts.isEmpty else { return }
            let result = try Tool.run(["shellcheck", "--shell=sh"] + scripts.map { "\(folder)/\($0)" })
            #expect(result.succeeded, "\(result)")
        }

        /// php-fpm's pool is sized with the container's memory limit (srcs/IMAGE/deployment.yaml),
        /// as the pool's comment computes it: a worker more than fits is an OOM kill of the pod.
        /// Counted: 60 MB a PHP worker, 64 MB for the php-fpm master, nginx and ftinit (peak RSS in
        /// the image tests: WordPress worker 51 MB, phpMyAdmin worker 34 MB, master 36 MB).
        @Test(arguments: ["wordpress", "phpmyadmin"])
        func phpFpmWorkersFitTheContainersMemoryLimit(image: String) throws {
            let pool = try String(contentsOfFile: "\(ImageFolder.path(image))/php-fpm.conf.tmpl", encoding: .utf8)
            let children = try #require(pool.firstMatch(of: /\npm\.max_children = (\d+)\n/).flatMap { Int($0.output.1) },
                                        "images/\(image)/php-fpm.conf.tmpl: no pm.max_children")
            let spare = try #require(pool.firstMatch(of: /\npm\.max_spare_servers = (\d+)\n/).flatMap { Int($0.output.1) })
            #expect(spare <= children, "pm.max_spare_servers \(spare) > pm.max_children \(children)")
            let manifestPath = FTInitBinary.packageRoot.appendingPathComponent("srcs/\(image)/deployment.yaml").path
            let manifest = try String(contentsOfFile: manifestPath, encoding: .utf8)
            let limit = try #require(manifest.firstMatch(of: /\n( +)limits:\n(?:\1 +\w+: \S+\n)*?\1 +memory: (\d+)Mi\n/)
                .flatMap { Int($0.output.2) }, "\(manifestPath): no limits.memory in Mi")
            #expect(children * 60 + 64 <= limit,
                    "images/\(image): pm.max_children = \(children) needs about \(children * 60 + 64) MiB, the limit is \(limit)Mi")
        }

        /// Every variable docs/images.md documents, with stand-in values.
        static let documentedVariables = [
            "LB_IP": "192.0.2.10", "MYSQL_ROOT_PASSWORD": "x", "WP_DB_NAME": "wordpress", "WP_DB_USER": "wp",
            "WP_DB_PASSWORD": "x", "WP_ADMIN_USER": "admin", "WP_ADMIN_PASSWORD": "x", "WP_ADMIN_EMAIL": "a@example.org",
            "WP_EDITOR_PASSWORD": "x", "WP_AUTHOR_PASSWORD": "x",
            "WP_SUBSCRIBER_PASSWORD": "x", "PMA_BLOWFISH_SECRET": String(repeating: "s", count: 32), "SSH_USER": "ft",
            "SSH_PASSWORD": "x", "FTP_USER": "ft", "FTP_PASSWORD": "x", "INFLUXDB_ADMIN_USER": "admin",
            "INFLUXDB_ADMIN_PASSWORD": "x", "GRAFANA_ADMIN_USER": "admin", "GRAFANA_ADMIN_PASSWORD": "x", "GRAFANA_SECRET_KEY": "x",
            "INFLUXDB_METRICS_USER": "metrics", "INFLUXDB_METRICS_PASSWORD": "x",
            "INFLUXDB_READER_USER": "grafana", "INFLUXDB_READER_PASSWORD": "x",
        ]

        /// The config is valid with only the documented variables set.
        @Test(arguments: images)
        func configPassesFtinitCheck(image: String) throws {
            let result = try Tool.ftinit(["check", "--config", "\(ImageFolder.path(image))/ftinit.conf"], environment: Self.documentedVariables)
            #expect(result.succeeded, "\(result)")
        }
    }
}
