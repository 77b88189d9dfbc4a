import Foundation
import Synchronization
import Testing

/// `./setup.sh local` (scripts/local-stack): the containers it runs are what the Deployments
/// describe (plan, from its dry run), and on this machine's private dockerd, with the
/// alpine:3.22 stand-in, `up` stands six services up on its LB IP where a client on this
/// machine reaches them, and the containers reach each other through it; `status`, `logs` and
/// `down` do what they say, and the data outlives `down` until `down --volumes`. And
/// `./setup.sh check --local` (scripts/check) passes every row that can run here, and each of
/// four rows fails on a stack broken on purpose.
extension Integration {
    /// `ROOT/setup.sh local ARGUMENTS` (or another `command`) with its credentials file in
    /// `scratch`, on the private dockerd.
    static func localStack(_ arguments: [String], scratch: Scratch, environment: [String: String] = [:],
                           root: String = FTInitBinary.packageRoot.path, command: String = "local", timeout: Duration = .seconds(60)) throws -> ToolResult {
        var env = ["FT_SERVICES_CREDENTIALS": scratch.file("credentials"), "FTINIT_BIN": try FTInitBinary.require(),
                   "DOCKER_HOST": "unix://\(DockerHost.socket)", "HOME": scratch.path]
        env.merge(environment) { _, new in new }
        return try Tool.run(["\(root)/setup.sh", command] + arguments, environment: env, timeout: timeout)
    }

    @Suite(.requires(.tools(["kubectl", "python3", "bash"]), what: "setup.sh local plan tests"))
    struct LocalStackPlan {
        /// One `docker run` of a dry run: its -e names, -v and --tmpfs paths, -p ports, and its
        /// securityContext flags (each flag with its value, in order).
        struct PlannedRun {
            var variables: Set<String> = [], paths: Set<String> = [], ports: Set<Int> = [], security: [String] = []
        }

        static let securityFlags: Set<String> = ["--user", "--group-add", "--cap-drop", "--cap-add", "--security-opt", "--tmpfs"]

        /// `flags` as "FLAG VALUE" (or "FLAG"), sorted: the same set in any order compares equal.
        static func securityPairs(_ flags: [String]) -> [String] {
            var pairs: [String] = [], index = 0
            while index < flags.count {
                if flags[index] == "--read-only" {
                    pairs.append(flags[index])
                } else if securityFlags.contains(flags[index]), index + 1 < flags.count {
                    pairs.append("\(flags[index]) \(flags[index + 1])")
                    index += 1
                }
                index += 1
            }
            return pairs.sorted()
        }

        /// Every `docker run` of a dry run, by service.
        static func plannedRuns() throws -> [String: PlannedRun] {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let result = try localStack(["up", "--dry-run"], scratch: scratch)
            try #require(result.succeeded, "\(result)")
            var runs: [String: PlannedRun] = [:]
            for line in result.stdout.split(separator: "\n") where line.contains(" docker run ") {
                let words = line.split(separator: " ").map(String.init)
                let service = try #require(words.firstIndex(of: "--network-alias").map { words[$0 + 1] }, "\(line)")
                var run = PlannedRun(security: securityPairs(words))
                for (flag, value) in zip(words, words.dropFirst()) {
                    switch flag {
                    case "-e": run.variables.insert(value)
                    case "-v": run.paths.insert(String(value.split(separator: ":").last ?? ""))
                    case "--tmpfs": run.paths.insert(value)
                    case "-p": run.ports.insert(Int(value.split(separator: ":").last ?? "") ?? -1)
                    default: break
                    }
                }
                runs[service] = run
            }
            return runs
        }

        /// Its env, its mounts (claims as volumes, emptyDirs as tmpfs), its LoadBalancer ports,
        /// and its securityContext (issue 17): a local container is as constrained as its pod.
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
                let podSecurity = Self.securityPairs(PodSecurity.dockerFlags(deployment))
                #expect(run.security == podSecurity, "\(name): runs with \(run.security), its pod with \(podSecurity)")
            }
        }

        /// A bad command line or a stack that is not there: one clear line each, no traceback.
        @Test func aBadCheckCommandLineOrNoClusterIsOneClearLine() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let unknown = try localStack(["--only", "nginx,nope"], scratch: scratch, command: "check")
            #expect(unknown.code == 64 && unknown.stderr.contains("unknown check nope (checks: entry-point, nginx,"), "\(unknown)")
            let nowhere = try localStack(["--context", "ft-no-such-context"], scratch: scratch, command: "check")
            #expect(nowhere.code == 69 && nowhere.stderr.contains("setup.sh check: cannot start: no ft_services on kubectl context ft-no-such-context"),
                    "\(nowhere)")
            for result in [unknown, nowhere] {
                #expect(!result.stderr.contains("Traceback") && result.stdout.isEmpty, "\(result)")
            }
        }

        /// The printed commands carry names, never values: passwords go through docker's
        /// environment. A dry run reads the credentials file and writes nothing.
        @Test func noPasswordOnACommandLine() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let keys = ManifestPolicy.secretKeys.sorted()
            let credentials = keys.map { "\($0)=value-of-\($0)\n" }.joined()
            _ = try scratch.write("credentials", credentials, mode: 0o600)
            let result = try localStack(["up", "--dry-run"], scratch: scratch)
            #expect(result.succeeded && result.stdout.contains("passwords: from \(scratch.file("credentials"))"), "\(result)")
            #expect(!result.stdout.contains("value-of-") && !result.stderr.contains("value-of-"), "\(result)")
            #expect(try String(contentsOfFile: scratch.file("credentials"), encoding: .utf8) == credentials)
        }
    }
}

/// The stack of `./setup.sh local` for the tests: up once per run (again if a test took it
/// down), with what this machine lacks given as a user would give it: the two downloads as
/// build arguments (LocalDownloads), and a DNS server that answers at once (the test's own
/// responder on the LB IP; the private dockerd forwards nowhere, and WordPress' admin pages look
/// up api.wordpress.org).
enum LocalStackRun {
    /// The default LB IP: the gateway of the local network (scripts/local-stack).
    static let lbIP = "172.31.42.1"
    static let network = "ft-services-local"
    private static let state = Mutex<(files: Scratch, responder: SpawnedProcess?, fresh: Bool)?>(nil)

    /// The run's directory: the credentials file of the local stack.
    static func files() throws -> Scratch {
        try state.withLock { state in
            if state == nil { state = (try Scratch(), nil, false) }
            return state!.files
        }
    }

    /// `up` of `services` (all when empty) by the setup.sh of `root` (this checkout, or a copy).
    static func up(_ services: [String] = [], root: String = FTInitBinary.packageRoot.path,
                   sourceLocation: SourceLocation = #_sourceLocation) throws -> ToolResult {
        var arguments = ["up"] + services + ["--dns", lbIP]
        for image in ["influxdb", "wordpress"] {
            let given = try LocalDownloads.buildArguments(image, sourceLocation: sourceLocation)
            for (flag, value) in zip(given, given.dropFirst()) where flag == "--build-arg" { arguments += ["--build-arg", "\(image):\(value)"] }
        }
        return try Integration.localStack(arguments, scratch: try files(), environment: ["BUILD_NETWORK": "host", "HEALTHY_TIMEOUT": "90"],
                                          root: root, timeout: .seconds(110))
    }

    /// The stack running: its network and DNS responder, then `up`, unless nginx already runs.
    /// The first time in a run, a previous run's stack and volumes go first (its passwords
    /// are not this run's).
    @discardableResult
    static func require(sourceLocation: SourceLocation = #_sourceLocation) throws -> ToolResult? {
        try ImageBuild.requireBase(sourceLocation: sourceLocation)
        let files = try files()
        if try state.withLock({ state in defer { state?.fresh = true }; return state?.fresh != true }) {
            _ = try Integration.localStack(["down", "--volumes"], scratch: files, timeout: .seconds(110))
        } else if try DockerHost.inspect("ft-services-local-nginx", "{{.State.Running}}") == "true" {
            return nil
        }
        if !(try DockerHost.run(["network", "inspect", network]).succeeded) {
            let created = try DockerHost.run(["network", "create", "--subnet", "172.31.42.0/24", "--gateway", lbIP, network])
            try #require(created.succeeded, "\(created)", sourceLocation: sourceLocation)
        }
        // A responder bound before the network was made again answers nothing: a new one each time.
        try state.withLock { state in
            state?.responder?.killAndWait()
            state?.responder = try SpawnedProcess.pythonServer(DNSResponder.script, [lbIP, "nothing.invalid", "127.0.0.1"],
                                                               name: "the local stack's DNS responder", sourceLocation: sourceLocation)
        }
        let up = try up(sourceLocation: sourceLocation)
        try #require(up.succeeded, "\(up)", sourceLocation: sourceLocation)
        return up
    }

    /// `./setup.sh check --local ARGUMENTS` (`credentials`: another credentials file).
    static func check(_ arguments: [String], credentials: String? = nil) throws -> ToolResult {
        try Integration.localStack(["--local"] + arguments, scratch: try files(),
                                   environment: credentials.map { ["FT_SERVICES_CREDENTIALS": $0] } ?? [:], command: "check", timeout: .seconds(110))
    }

    /// The row of `name` in a check's output: (PASS|FAIL|SKIP, evidence).
    static func row(_ name: String, of result: ToolResult) -> (result: String, evidence: String)? {
        for line in result.stdout.split(separator: "\n") where line.hasPrefix("| \(name) |") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            if cells.count >= 4 { return (cells[2], cells[3]) }
        }
        return nil
    }

    /// A copy of setup.sh, scripts, images and srcs, for a stack broken on purpose.
    static func repositoryCopy(in scratch: Scratch) throws -> String {
        for item in ["setup.sh", "scripts", "images", "srcs"] {
            try FileManager.default.copyItem(atPath: FTInitBinary.packageRoot.appendingPathComponent(item).path, toPath: scratch.file(item))
        }
        return scratch.path
    }
}

extension Integration {
    @Suite(.requires(.root, .dockerDaemon, .alpineMinirootfs, .tools(["docker", "curl", "bash", "ssh", "python3"]), what: "setup.sh local tests"))
    struct LocalStack {
        static let lbIP = LocalStackRun.lbIP

        /// curl on this machine: the status code, or the first bytes a banner-first server sends.
        static func answer(_ url: String) throws -> String {
            if url.hasPrefix("telnet://") {
                return try Tool.run(["curl", "-s", "--max-time", "3", url], timeout: .seconds(10)).stdout
            }
            return try Tool.run(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20", url], timeout: .seconds(30)).stdout
        }

        @Test func upRunsTheStackOnItsLBIP() throws {
            if let up = try LocalStackRun.require() {
                print("LocalStack: up took \(up.elapsed)")
                #expect(up.stdout.contains("alpine:3.22: the stand-in") && up.stdout.contains("Grafana has no binary there and is not started"), "\(up)")
                #expect(up.stdout.contains("ft_services runs locally. LB IP: \(Self.lbIP)") && !up.stdout.contains("Grafana  "), "\(up)")
            }
            // Every public port answers on the LB IP; /phpmyadmin is nginx's container reaching it too.
            let expected = ["http://\(Self.lbIP)/": "301", "https://\(Self.lbIP)/": "200", "https://\(Self.lbIP)/phpmyadmin/": "200",
                            "https://\(Self.lbIP):5050/": "200", "https://\(Self.lbIP):5000/": "200"]
            for (url, status) in expected.sorted(by: { $0.key < $1.key }) {
                #expect(try Self.answer(url) == status, "\(url)")
            }
            #expect(try Self.answer("telnet://\(Self.lbIP):21").hasPrefix("220"))
            #expect(try Self.answer("telnet://\(Self.lbIP):22").hasPrefix("SSH-"))

            let files = try LocalStackRun.files()
            let status = try localStack(["status"], scratch: files)
            let lines = status.stdout.split(separator: "\n")
            #expect(lines.count == 7 && lines.filter { $0.contains(" running ") && $0.contains(" ok") }.count == 6, "\(status)")
            #expect(lines.contains { $0.hasPrefix("grafana") && $0.contains("not created") }, "\(status)")
            let logs = try localStack(["logs", "mysql"], scratch: files)
            #expect(logs.succeeded && (logs.stdout + logs.stderr).contains("mariadb"), "\(logs)")
        }

        @Test func downKeepsTheDataAndDownVolumesRemovesIt() throws {
            try LocalStackRun.require()
            let files = try LocalStackRun.files()
            let down = try localStack(["down"], scratch: files, timeout: .seconds(110))
            #expect(down.succeeded && down.stdout.contains("data kept"), "\(down)")
            #expect(try DockerHost.run(["volume", "inspect", "ft-services-local-mysql-data"]).succeeded)
            let networkLeft = try DockerHost.run(["network", "inspect", LocalStackRun.network]).succeeded
            let containerLeft = try DockerHost.run(["inspect", "ft-services-local-mysql"]).succeeded
            #expect(!networkLeft && !containerLeft, "\(down)")
            let removed = try localStack(["down", "--volumes"], scratch: files, timeout: .seconds(110))
            let volumeLeft = try DockerHost.run(["volume", "inspect", "ft-services-local-mysql-data"]).succeeded
            #expect(removed.succeeded && !volumeLeft, "\(removed)")
        }

        // MARK: ./setup.sh check

        static let skipped = ["--skip", "grafana,dashboard", "--skip-reason",
                              "not on this machine: the alpine:3.22 stand-in has no Grafana build; no Kubernetes, so no dashboard"]

        @Test func checkPassesEveryRowThatCanRunHere() throws {
            try LocalStackRun.require()
            let check = try LocalStackRun.check(Self.skipped)
            print(check.stdout)
            #expect(check.code == 0, "\(check)")
            for name in ["entry-point", "nginx", "phpmyadmin-proxy", "wordpress", "phpmyadmin", "ssh", "ftps", "persistence", "restart"] {
                #expect(LocalStackRun.row(name, of: check)?.result == "PASS", "\(name): \(check)")
            }
            for name in ["grafana", "dashboard"] {
                #expect(LocalStackRun.row(name, of: check)?.evidence.hasPrefix("not on this machine") == true, "\(name): \(check)")
            }
        }

        /// Wrong passwords, or an address where nothing listens: each row fails with one line
        /// saying what was refused or did not answer, never a traceback.
        @Test func wrongPasswordsOrAnAddressWithNothingFailRowByRow() throws {
            try LocalStackRun.require()
            let files = try LocalStackRun.files()
            let real = try String(contentsOfFile: files.file("credentials"), encoding: .utf8)
            let wrong = try files.write("wrong-credentials", real.split(separator: "\n").map { line in
                line.hasPrefix("WP_AUTH_SALT_SEED=") ? String(line) : "\(line.prefix { $0 != "=" })=not-the-password"
            }.joined(separator: "\n") + "\n", mode: 0o600)
            let refused = try LocalStackRun.check(["--only", "wordpress,phpmyadmin,ssh,ftps"], credentials: wrong)
            #expect(refused.code == 1, "\(refused)")
            for (name, says) in [("wordpress", "no logged-in cookie"), ("phpmyadmin", "login refused"), ("ssh", "exit 255"), ("ftps", "530")] {
                let row = LocalStackRun.row(name, of: refused)
                #expect(row?.result == "FAIL" && row?.evidence.contains(says) == true, "\(name): \(refused)")
            }
            // 127.0.0.9: this machine's loopback, where nothing of the stack listens.
            let nothing = try LocalStackRun.check(["--lb-ip", "127.0.0.9", "--no-faults"] + Self.skipped)
            #expect(nothing.code == 1 && !nothing.stderr.contains("Traceback"), "\(nothing)")
            for name in ["entry-point", "nginx", "phpmyadmin-proxy", "wordpress", "phpmyadmin", "ssh", "ftps"] {
                #expect(LocalStackRun.row(name, of: nothing)?.result == "FAIL", "\(name): \(nothing)")
            }
            #expect(!(nothing.stdout + refused.stdout).contains("not-the-password"), "a password was printed")
        }

        /// The row `name` of `./setup.sh check --local --only NAME`; the check must have failed.
        static func failedRow(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
            let check = try LocalStackRun.check(["--only", name])
            let row = LocalStackRun.row(name, of: check)
            #expect(check.code == 1 && row?.result == "FAIL", "\(check)", sourceLocation: sourceLocation)
            return row?.evidence ?? ""
        }

        /// `sed SCRIPT` on the running nginx's nginx.conf, reloaded: the row `name` then; the
        /// container restarted after (ftinit renders nginx.conf again).
        static func failedRow(_ name: String, withNginxEdited script: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
            try LocalStackRun.require(sourceLocation: sourceLocation)
            defer { _ = try? DockerHost.run(["restart", "ft-services-local-nginx"]) }
            let broken = try DockerHost.run(["exec", "ft-services-local-nginx", "sh", "-c", "sed -i '\(script)' /etc/nginx/nginx.conf && nginx -s reload"])
            try #require(broken.succeeded, "\(broken)", sourceLocation: sourceLocation)
            Poll.sleep(.milliseconds(500))
            return try failedRow(name, sourceLocation: sourceLocation)
        }

        /// `image` built from a copy of the repository whose `file` (under images/IMAGE) is
        /// changed by `change`, and run in place of the stack's: the row `name` then; `restore`
        /// (up from this checkout) after.
        static func failedRow(_ name: String, withImage image: String, file: String, changedBy change: (String) -> String,
                              restore: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
            try LocalStackRun.require(sourceLocation: sourceLocation)
            let copy = try Scratch()
            defer { copy.remove() }
            let path = "\(try LocalStackRun.repositoryCopy(in: copy))/images/\(image)/\(file)"
            try change(try String(contentsOfFile: path, encoding: .utf8)).write(toFile: path, atomically: true, encoding: .utf8)
            let broken = try LocalStackRun.up([image], root: copy.path)
            try #require(broken.succeeded, "\(broken)", sourceLocation: sourceLocation)
            let evidence = try failedRow(name, sourceLocation: sourceLocation)
            let restored = try LocalStackRun.up(restore)
            #expect(restored.succeeded, "\(restored)", sourceLocation: sourceLocation)
            return evidence
        }

        /// nginx answers 302 where it must answer 301: the nginx row fails.
        @Test func aWrongRedirectCodeFailsTheNginxRow() throws {
            let evidence = try Self.failedRow("nginx", withNginxEdited: "s/return 301 https/return 302 https/")
            #expect(evidence.contains(": 302 ->"), "\(evidence)")
        }

        /// The proxy without the rules that keep phpMyAdmin's redirects and cookies under
        /// /phpmyadmin/: the login lands outside phpMyAdmin (the classic failure).
        @Test func aProxyThatLosesThePrefixFailsTheProxyLoginRow() throws {
            let evidence = try Self.failedRow("phpmyadmin-proxy", withNginxEdited: "/X-Forwarded-Prefix\\|proxy_redirect\\|proxy_cookie_path/d")
            #expect(evidence.contains("not phpMyAdmin's main page"), "\(evidence)")
        }

        /// An ftps image whose passive range (30010-30014) is not the one published: the ftps row fails.
        @Test func aPassiveRangeThatIsNotServedFailsTheFtpsRow() throws {
            let evidence = try Self.failedRow("ftps", withImage: "ftps", file: "vsftpd.conf.tmpl", changedBy: {
                $0.replacingOccurrences(of: "pasv_min_port=30000", with: "pasv_min_port=30010")
                    .replacingOccurrences(of: "pasv_max_port=30004", with: "pasv_max_port=30014")
            }, restore: ["ftps"])
            #expect(evidence.contains("not \(Self.lbIP):30000-30004"), "\(evidence)")
        }

        /// A mysql image whose data does not survive a restart of its container (its bootstrap
        /// empties the datadir on its second start, which a mark in the datadir tells, since /run
        /// is a tmpfs): the persistence row fails. Its
        /// data is gone, so the restore starts the database again, then WordPress, which
        /// installs itself again.
        @Test func aDatadirThatDoesNotSurviveFailsThePersistenceRow() throws {
            let evidence = try Self.failedRow("persistence", withImage: "mysql", file: "bootstrap.sh", changedBy: {
                $0.replacingOccurrences(of: "\nset -eu\n", with: """

                    set -eu
                    if [ -e /var/lib/mysql/.booted ]; then rm -rf /var/lib/mysql/* /var/lib/mysql/.booted
                    else touch /var/lib/mysql/.booted; fi

                    """)
            }, restore: ["mysql", "wordpress"])
            #expect(evidence.contains("the marker is gone"), "\(evidence)")
        }
    }
}
