import Foundation
import Testing

/// `./setup.sh local` (scripts/local-stack): the containers it runs are what the Deployments
/// describe (plan, from its dry run), and on this machine's private dockerd, with the
/// alpine:3.22 stand-in, `up` stands six services up on its LB IP where a client on this
/// machine reaches them, and the containers reach each other through it; `status`, `logs` and
/// `down` do what they say, and the data outlives `down` until `down --volumes`.
extension Integration {
    /// `./setup.sh local ARGUMENTS` with its credentials file in `scratch`.
    static func localStack(_ arguments: [String], scratch: Scratch, environment: [String: String] = [:],
                           timeout: Duration = .seconds(60)) throws -> ToolResult {
        var env = ["FT_SERVICES_CREDENTIALS": scratch.file("credentials"), "FTINIT_BIN": try FTInitBinary.require(),
                   "DOCKER_HOST": "unix://\(DockerHost.socket)", "HOME": scratch.path]
        env.merge(environment) { _, new in new }
        return try Tool.run([FTInitBinary.packageRoot.appendingPathComponent("setup.sh").path, "local"] + arguments,
                            environment: env, timeout: timeout)
    }

    @Suite(.requires(.tools(["kubectl", "python3", "bash"]), what: "setup.sh local plan tests"))
    struct LocalStackPlan {
        /// Every `docker run` of a dry run, by service: its -e names, -v paths, -p ports.
        static func plannedRuns() throws -> [String: (variables: Set<String>, paths: Set<String>, ports: Set<Int>)] {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let result = try localStack(["up", "--dry-run"], scratch: scratch)
            try #require(result.succeeded, "\(result)")
            var runs: [String: (variables: Set<String>, paths: Set<String>, ports: Set<Int>)] = [:]
            for line in result.stdout.split(separator: "\n") where line.contains(" docker run ") {
                let words = line.split(separator: " ").map(String.init)
                let service = try #require(words.firstIndex(of: "--network-alias").map { words[$0 + 1] }, "\(line)")
                var run: (variables: Set<String>, paths: Set<String>, ports: Set<Int>) = ([], [], [])
                for (flag, value) in zip(words, words.dropFirst()) {
                    switch flag {
                    case "-e": run.variables.insert(value)
                    case "-v": run.paths.insert(String(value.split(separator: ":").last ?? ""))
                    case "-p": run.ports.insert(Int(value.split(separator: ":").last ?? "") ?? -1)
                    default: break
                    }
                }
                runs[service] = run
            }
            return runs
        }

        @Test func everyContainerGetsWhatItsDeploymentGets() throws {
            let runs = try Self.plannedRuns()
            let objects = try ManifestPolicy.render()
            let deployments = objects.filter { $0.string("kind") == "Deployment" }
            #expect(Set(runs.keys) == Set(deployments.map { $0.string("metadata.name") }), "\(runs.keys.sorted())")
            for deployment in deployments {
                let name = deployment.string("metadata.name")
                let container = try #require(deployment.array("spec.template.spec.containers").first)
                let run = try #require(runs[name], "no docker run for \(name)")
                #expect(run.variables == Set(container.array("env").map { $0.string("name") }), "\(name): \(run.variables.sorted())")
                #expect(run.paths == Set(container.array("volumeMounts").map { $0.string("mountPath") }), "\(name): \(run.paths.sorted())")
                let service = try #require(objects.first { $0.string("kind") == "Service" && $0.string("metadata.name") == name })
                let published = service.string("spec.type") == "LoadBalancer" ? Set(service.array("spec.ports").map { $0.int("port") }) : []
                #expect(run.ports == published, "\(name): publishes \(run.ports.sorted()), its Service \(published.sorted())")
            }
        }

        /// The printed commands carry names, never values: passwords go through docker's
        /// environment. A dry run reads the credentials file and writes nothing.
        @Test func noPasswordOnACommandLine() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let keys = ["MYSQL_ROOT_PASSWORD", "WP_DB_PASSWORD", "WP_ADMIN_PASSWORD", "WP_USERS_PASSWORD", "PMA_BLOWFISH_SECRET",
                        "SSH_PASSWORD", "FTP_PASSWORD", "INFLUXDB_ADMIN_PASSWORD", "INFLUXDB_METRICS_PASSWORD",
                        "GRAFANA_ADMIN_PASSWORD", "GRAFANA_SECRET_KEY", "WP_AUTH_SALT_SEED"]
            let credentials = keys.map { "\($0)=value-of-\($0)\n" }.joined()
            _ = try scratch.write("credentials", credentials, mode: 0o600)
            let result = try localStack(["up", "--dry-run"], scratch: scratch)
            #expect(result.succeeded && result.stdout.contains("passwords: from \(scratch.file("credentials"))"), "\(result)")
            #expect(!result.stdout.contains("value-of-") && !result.stderr.contains("value-of-"), "\(result)")
            #expect(try String(contentsOfFile: scratch.file("credentials"), encoding: .utf8) == credentials)
        }
    }
}

extension Integration {
    @Suite(.requires(.root, .dockerDaemon, .alpineMinirootfs, .tools(["docker", "curl", "bash"]), what: "setup.sh local tests"))
    struct LocalStack {
        /// The default LB IP: the gateway of the local network (scripts/local-stack).
        static let lbIP = "172.31.42.1"

        /// curl on this machine: the status code, or the first bytes a banner-first server sends.
        static func answer(_ url: String) throws -> String {
            if url.hasPrefix("telnet://") {
                return try Tool.run(["curl", "-s", "--max-time", "3", url], timeout: .seconds(10)).stdout
            }
            return try Tool.run(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20", url], timeout: .seconds(30)).stdout
        }

        @Test func upRunsTheStackOnItsLBIPAndDownRemovesIt() throws {
            try ImageBuild.requireBase()
            let scratch = try Scratch()
            defer { scratch.remove() }
            defer { _ = try? localStack(["down", "--volumes"], scratch: scratch, timeout: .seconds(120)) }
            // No internet here: the two downloads come from this machine, as LocalDownloads serves them.
            var arguments = ["up"]
            for image in ["influxdb", "wordpress"] {
                let given = try LocalDownloads.buildArguments(image)
                for (flag, value) in zip(given, given.dropFirst()) where flag == "--build-arg" { arguments += ["--build-arg", "\(image):\(value)"] }
            }
            let up = try localStack(arguments, scratch: scratch, environment: ["BUILD_NETWORK": "host", "HEALTHY_TIMEOUT": "120"],
                                    timeout: .seconds(900))
            print("LocalStack: up took \(up.elapsed)")
            try #require(up.succeeded, "\(up)")
            #expect(up.stdout.contains("alpine:3.22: the stand-in") && up.stdout.contains("Grafana has no binary there and is not started"), "\(up)")
            #expect(up.stdout.contains("ft_services runs locally. LB IP: \(Self.lbIP)") && !up.stdout.contains("Grafana  "), "\(up)")

            // Every public port answers on the LB IP; /phpmyadmin is nginx's container reaching it too.
            let expected = ["http://\(Self.lbIP)/": "301", "https://\(Self.lbIP)/": "200", "https://\(Self.lbIP)/phpmyadmin/": "200",
                            "https://\(Self.lbIP):5050/": "200", "https://\(Self.lbIP):5000/": "200"]
            for (url, status) in expected.sorted(by: { $0.key < $1.key }) {
                #expect(try Self.answer(url) == status, "\(url)")
            }
            #expect(try Self.answer("telnet://\(Self.lbIP):21").hasPrefix("220"))
            #expect(try Self.answer("telnet://\(Self.lbIP):22").hasPrefix("SSH-"))

            let status = try localStack(["status"], scratch: scratch)
            let lines = status.stdout.split(separator: "\n")
            #expect(lines.count == 7 && lines.filter { $0.contains(" running ") && $0.contains(" ok") }.count == 6, "\(status)")
            #expect(lines.contains { $0.hasPrefix("grafana") && $0.contains("not created") }, "\(status)")
            let logs = try localStack(["logs", "mysql"], scratch: scratch)
            #expect(logs.succeeded && (logs.stdout + logs.stderr).contains("mariadb"), "\(logs)")

            // down keeps the data, down --volumes removes it.
            let down = try localStack(["down"], scratch: scratch, timeout: .seconds(120))
            #expect(down.succeeded && down.stdout.contains("data kept"), "\(down)")
            #expect(try DockerHost.run(["volume", "inspect", "ft-services-local-mysql-data"]).succeeded)
            let networkLeft = try DockerHost.run(["network", "inspect", "ft-services-local"]).succeeded
            let containerLeft = try DockerHost.run(["inspect", "ft-services-local-mysql"]).succeeded
            #expect(!networkLeft && !containerLeft, "\(down)")
            let removed = try localStack(["down", "--volumes"], scratch: scratch, timeout: .seconds(120))
            let volumeLeft = try DockerHost.run(["volume", "inspect", "ft-services-local-mysql-data"]).succeeded
            #expect(removed.succeeded && !volumeLeft, "\(removed)")
        }
    }
}
