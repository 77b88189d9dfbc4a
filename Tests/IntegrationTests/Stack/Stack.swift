import Foundation
import Synchronization
import Testing

/// The images as one stack of containers (issue 15), each built from its own Dockerfile on the
/// alpine:3.22 stand-in, on one user-defined network of the private dockerd with an explicit
/// subnet. Each container answers to its service name through Docker's DNS (a network alias),
/// as a Service does in the cluster; data lives on named volumes, as on PVCs; the secrets come
/// as environment variables, as the Deployments give them.
///
/// The "LB IP" is the bridge's own address on this machine: every public port is published
/// there (docker-proxy), so clients on this machine and the containers themselves reach the
/// services at one IP, as MetalLB's shared IP is reached from outside and from the pods (nginx
/// proxies /phpmyadmin to LB_IP:5000; WordPress calls its own site). Each container gets the
/// environment its rendered Deployment lists, no more (`environment(of:)`).
///
/// A service is started the first time a test needs it and kept for the run (the integration
/// suites are serialized); a test that stops, kills or starts one again uses a container of
/// its own (`Stack.startExtra`) so the shared ones stay as every other test expects them.
enum Stack {
    static let network = "ft-test-stack"
    static let subnet = "172.31.77.0/24"
    static let lbIP = "172.31.77.1"

    struct Service {
        /// Its fixed address on the stack's network (what the hosts file of `run` names).
        let address: String
        /// Its ports published on the LB IP (none: ClusterIP only).
        let ports: [Int]
        /// Named volume -> path, as the Deployment's PVCs.
        let volumes: [String: String]
        /// The services it needs running first.
        let needs: [String]
    }

    static let services: [String: Service] = [
        "influxdb": Service(address: "172.31.77.10", ports: [], volumes: ["ft-stack-influxdb": "/var/lib/influxdb"], needs: []),
        "mysql": Service(address: "172.31.77.11", ports: [], volumes: ["ft-stack-mysql": "/var/lib/mysql"], needs: ["influxdb"]),
        "wordpress": Service(address: "172.31.77.12", ports: [5050],
                             volumes: ["ft-stack-wordpress-identity": "/etc/ssl/ft", "ft-stack-uploads": "/var/www/wordpress/wp-content/uploads"],
                             needs: ["influxdb", "mysql"]),
        "phpmyadmin": Service(address: "172.31.77.13", ports: [5000], volumes: ["ft-stack-phpmyadmin-identity": "/etc/ssl/ft"], needs: ["influxdb", "mysql"]),
        "nginx": Service(address: "172.31.77.14", ports: [80, 443, 22], volumes: ["ft-stack-nginx-identity": "/etc/ssl/ft"], needs: ["influxdb"]),
        "ftps": Service(address: "172.31.77.15", ports: [21] + Array(30000...30004), volumes: ["ft-stack-ftps-identity": "/etc/ssl/ft", "ft-stack-ftp": "/home"],
                        needs: ["influxdb"]),
    ]

    /// Every secret of the stack. The passwords hold quotes, `$` and backslashes: every layer
    /// (ftinit's templates, SQL, PHP, shell, form encoding) must carry them through unchanged.
    static let secrets: [String: String] = [
        "MYSQL_ROOT_PASSWORD": #"r00t"pa\ss'$x"#,
        "WP_DB_NAME": "wordpress",
        "WP_DB_USER": "wpuser",
        "WP_DB_PASSWORD": #"wp"pa\ss'$1"#,
        "WP_ADMIN_USER": "boss",
        "WP_ADMIN_PASSWORD": #"Adm1n"pass'$x\y"#,
        "WP_ADMIN_EMAIL": "boss@ft.example",
        "WP_EDITOR_PASSWORD": #"Ed1tor"p\a'ss$"#,
        "WP_AUTHOR_PASSWORD": #"Auth0r'p\a"s$s"#,
        "WP_SUBSCRIBER_PASSWORD": #"Subs"cr'\iber$"#,
        "WP_AUTH_SALT_SEED": #"sa"lt's33d$\"#,
        // 32 bytes, used as they are.
        "PMA_BLOWFISH_SECRET": #"0123456789abcdef0123456789'"\$ab"#,
        "INFLUXDB_ADMIN_USER": "admin",
        "INFLUXDB_ADMIN_PASSWORD": #"in'flux"$pw\"#,
        "INFLUXDB_METRICS_USER": "metrics",
        "INFLUXDB_METRICS_PASSWORD": #"w'r"ite$r\"#,
        "INFLUXDB_READER_USER": "reader",
        "INFLUXDB_READER_PASSWORD": #"r"e'ad$er\"#,
        "SSH_USER": "ft",
        "SSH_PASSWORD": #"s3cret pass'word"$"#,
        "FTP_USER": "ftpuser",
        "FTP_PASSWORD": #"ftp"pa's$s\"#,
    ]

    static func secret(_ name: String) -> String { secrets[name]! }

    /// What `service`'s rendered Deployment gives its container, name by name: the Secret's
    /// keys and the test's user names from `secrets`, the other settings from srcs/config.env
    /// (the ConfigMap), LB_IP the stack's.
    static func environment(of service: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: String] {
        let container = try PodSecurity.deployment(service, sourceLocation: sourceLocation).array("spec.template.spec.containers").first ?? [:]
        let settings = try configEnv(sourceLocation: sourceLocation)
        var environment = ["LB_IP": lbIP]
        for variable in container.array("env") {
            let name = variable.string("name")
            guard name != "LB_IP" else { continue }
            environment[name] = try #require(secrets[name] ?? settings[name], "\(service): no value for \(name)", sourceLocation: sourceLocation)
        }
        return environment
    }

    /// srcs/config.env: `NAME=value` lines, comments aside.
    private static func configEnv(sourceLocation: SourceLocation) throws -> [String: String] {
        let path = FTInitBinary.packageRoot.appendingPathComponent("srcs/config.env").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return Dictionary(text.split(separator: "\n").filter { !$0.hasPrefix("#") && $0.contains("=") }.map { line in
            (String(line.prefix { $0 != "=" }), String(line.drop { $0 != "=" }.dropFirst()))
        }, uniquingKeysWith: { _, last in last })
    }

    private static let started = Mutex<Set<String>>([])
    private static let files = Mutex<Scratch?>(nil)

    /// The container of `service` (`ft-stack-NAME`).
    static func container(_ service: String) -> Container { Container(name: "ft-stack-\(service)") }

    /// `service` running and healthy, with what it needs: started (and its image built) the
    /// first time, started again if a test left it stopped.
    @discardableResult
    static func require(_ service: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Container {
        let spec = try #require(services[service], "no service \(service) in the stack", sourceLocation: sourceLocation)
        for need in spec.needs { try require(need, sourceLocation: sourceLocation) }
        let container = container(service)
        if started.withLock({ $0.contains(service) }) {
            if try DockerHost.inspect(container.name, "{{.State.Running}}") != "true" {
                try #require(try DockerHost.run(["start", container.name]).succeeded, sourceLocation: sourceLocation)
                try container.waitHealthy(within: .seconds(90), sourceLocation: sourceLocation)
            }
            return container
        }
        try createNetwork(sourceLocation: sourceLocation)
        let tag = try image(service, sourceLocation: sourceLocation)
        container.remove()  // a previous run's, with its volumes: every run starts from empty ones
        for volume in spec.volumes.keys { _ = try? DockerHost.run(["volume", "rm", "-f", volume]) }
        let published = spec.ports.flatMap { ["-p", "\(lbIP):\($0):\($0)"] }
        let mounts = spec.volumes.sorted { $0.key < $1.key }.flatMap { ["-v", "\($0.key):\($0.value)"] }
        let started = try Container.start(container.name, tag: tag, environment: try environment(of: service, sourceLocation: sourceLocation),
                                          extra: attachment(alias: service, address: spec.address) + published + mounts
                                              + PodSecurity.dockerFlags(of: service, sourceLocation: sourceLocation),
                                          sourceLocation: sourceLocation)
        try started.waitHealthy(within: .seconds(90), sourceLocation: sourceLocation)
        Self.started.withLock { _ = $0.insert(service) }
        return started
    }

    /// Another container of the stack's images on its network (no alias, no published port),
    /// for a test that stops, kills or restarts it: the shared ones stay as they are.
    /// As constrained as its pod (PodSecurity; `emptyDirsAsVolumes` as there), with an
    /// anonymous volume for each claim of the pod that `extra` does not mount.
    static func startExtra(_ name: String, image service: String, environment: [String: String], extra: [String] = [],
                           emptyDirsAsVolumes: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws -> Container {
        try createNetwork(sourceLocation: sourceLocation)
        let tag = try image(service, sourceLocation: sourceLocation)
        let deployment = try PodSecurity.deployment(service, sourceLocation: sourceLocation)
        let mounted = Set(zip(extra, extra.dropFirst()).filter { $0.0 == "-v" }.map { String($0.1.split(separator: ":").dropFirst().first ?? "") })
        let claims = PodSecurity.mountPaths(deployment, of: "persistentVolumeClaim").filter { !mounted.contains($0) }.flatMap { ["-v", $0] }
        let security = PodSecurity.dockerFlags(deployment, emptyDirsAsVolumes: emptyDirsAsVolumes) + claims
        return try Container.start(name, tag: tag, environment: environment.merging(["LB_IP": lbIP]) { $1 },
                                   extra: ["--network", network] + upstreamDNS + security + extra, sourceLocation: sourceLocation)
    }

    /// `argv` run on this machine (curl, ssh, lftp, mariadb, python3...) with an /etc/hosts, in a
    /// mount namespace of its own, that names every service at its address: a client that
    /// resolves the names as a pod would.
    /// `environment`: added to the client's (a password for sshpass -e, never in argv).
    static func run(_ argv: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60),
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> ToolResult {
        let hosts = try scratchFile("hosts") {
            "127.0.0.1 localhost\n" + services.sorted { $0.key < $1.key }.map { "\($0.value.address) \($0.key)\n" }.joined()
        }
        return try Tool.run(["unshare", "-m", "--", "sh", "-c", #"mount --bind "$0" /etc/hosts && exec "$@""#, hosts] + argv,
                            environment: environment, timeout: timeout, sourceLocation: sourceLocation)
    }

    /// The certificate `container` serves (its [tls] pair, made by ftinit at its first start),
    /// copied out of it: the only CA the clients trust.
    static func certificate(of container: Container, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let path = try scratchFile("\(container.name)-cert.pem") { "" }
        let copied = try DockerHost.run(["cp", "\(container.name):/etc/ssl/ft/tls/cert.pem", path])
        try #require(copied.succeeded, "\(copied)", sourceLocation: sourceLocation)
        return path
    }

    /// The image of `service`, built once per run (influxdb and wordpress from local tarballs).
    static func image(_ service: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        switch service {
        case "influxdb": try LocalDownloads.influxdbImage(sourceLocation: sourceLocation)
        case "wordpress": try LocalDownloads.wordpressImage(sourceLocation: sourceLocation)
        default: try ImageBuild.require(service, sourceLocation: sourceLocation)
        }
    }

    /// On the stack's network at `address`, named `alias`, with the stack's DNS upstream.
    private static func attachment(alias: String, address: String) -> [String] {
        ["--network", network, "--network-alias", alias, "--ip", address] + upstreamDNS
    }

    /// Docker's DNS answers the stack's names and forwards every other query to the
    /// container's nameserver: the test's own responder on the LB IP, which answers NXDOMAIN at
    /// once. So no lookup leaves this machine (WordPress asks for api.wordpress.org; Docker
    /// 20.10 replaces a loopback nameserver with Google's), and none waits for a timeout.
    private static let upstreamDNS = ["--dns", lbIP]
    private static let responder = Mutex<SpawnedProcess?>(nil)

    /// The network and its DNS responder, once per run (a previous run's network is reused).
    private static func createNetwork(sourceLocation: SourceLocation) throws {
        try responder.withLock { responder in
            guard responder == nil else { return }
            if (try? DockerHost.run(["network", "inspect", network]))?.succeeded != true {
                let created = try DockerHost.run(["network", "create", "--subnet", subnet, "--gateway", lbIP, network])
                try #require(created.succeeded, "\(created)", sourceLocation: sourceLocation)
            }
            responder = try SpawnedProcess.pythonServer(DNSResponder.script, [lbIP, "nothing.invalid", "127.0.0.1"],
                                                        name: "the stack's DNS responder", sourceLocation: sourceLocation)
        }
    }

    /// A file of the run's scratch directory, written with `text()` the first time.
    private static func scratchFile(_ name: String, _ text: () -> String) throws -> String {
        try files.withLock { scratch in
            if scratch == nil { scratch = try Scratch() }
            let path = scratch!.file(name)
            if !FileManager.default.fileExists(atPath: path) { _ = try scratch!.write(name, text()) }
            return path
        }
    }
}

extension Container {
    /// Its address on the stack's network.
    var address: String {
        (try? DockerHost.inspect(name, "{{(index .NetworkSettings.Networks \"\(Stack.network)\").IPAddress}}")) ?? ""
    }
}
