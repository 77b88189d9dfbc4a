import Foundation
import Testing

/// setup.sh without a cluster: shellcheck, its command line, and `--dry-run` with fake
/// `minikube`, `kubectl`, `docker`, `swift` and `pkg-config` first on PATH. The fakes log their
/// argv and print plausible output; the tests check the order of the steps, that nothing but
/// read-only local checks was run, and the error messages. The real run needs a cluster and is
/// documented in the README, not faked here.
extension Integration {
    @Suite(.requires(.tools(["shellcheck", "bash", "sh"]), what: "setup.sh tests"))
    struct SetupScript {
        static var script: String { FTInitBinary.packageRoot.appendingPathComponent("setup.sh").path }

        /// The step titles, in the order setup.sh announces them (`==> [N/10] title`).
        static let setupSteps = [
            "Checking prerequisites",
            "Starting minikube",
            "Enabling addons",
            "Installing MetalLB",
            "Building ftinit",
            "Building the 7 images",
            "Creating the Secret and the ConfigMap",
            "Applying srcs/",
            "Waiting for every rollout",
            "Done",
        ]
        static let services = ["nginx", "wordpress", "phpmyadmin", "mysql", "ftps", "influxdb", "grafana"]

        /// The only calls a dry run may make: local, read-only prerequisite checks.
        static let readOnlyCalls = ["docker info", "swift --version", "pkg-config --exists openssl",
                                    "pkg-config --modversion openssl", "kubectl version", "minikube version"]

        /// One POSIX sh script behind every fake name: logs `name argv...` to $FAKE_LOG.
        static let fake = """
            #!/bin/sh
            name=$(basename "$0")
            echo "$name $*" >>"$FAKE_LOG"
            case "$name $1" in
                "minikube ip") echo 192.168.49.2 ;;
                "minikube version") echo "minikube version: v1.36.0" ;;
                "minikube status") echo "Running/Running" ;;
                "kubectl version") echo "Client Version: v1.33.0" ;;
                "docker info") echo "Server Version: 27.0.0" ;;
                "swift --version") echo "Swift version 6.3 (swift-6.3-RELEASE)"; echo "Target: x86_64-unknown-linux-gnu" ;;
                "pkg-config --modversion") echo 3.0.15 ;;
            esac
            exit 0

            """

        /// A scratch dir with `fakes/` holding the fakes named in `names`, and `home/`.
        static func sandbox(fakes names: [String] = ["minikube", "kubectl", "docker", "swift", "pkg-config"]) throws -> Scratch {
            let scratch = try Scratch()
            try FileManager.default.createDirectory(atPath: scratch.file("fakes"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: scratch.file("home"), withIntermediateDirectories: true)
            let fake = try scratch.write("fake.sh", Self.fake, mode: 0o755)
            for name in names {
                try FileManager.default.createSymbolicLink(atPath: scratch.file("fakes/\(name)"), withDestinationPath: fake)
            }
            return scratch
        }

        /// setup.sh with the fakes first on PATH, HOME in the scratch dir.
        static func run(_ arguments: [String], in scratch: Scratch, path: String? = nil) throws -> ToolResult {
            try Tool.run([script] + arguments, environment: [
                "PATH": path ?? "\(scratch.file("fakes")):/usr/local/bin:/usr/bin:/bin",
                "HOME": scratch.file("home"),
                "FAKE_LOG": scratch.file("calls.log"),
                "LB_IP": "", "MINIKUBE_DRIVER": "", "FT_SERVICES_CREDENTIALS": "",
            ])
        }

        /// The titles of the `==> [N/M] title` lines, and checks their numbering.
        static func steps(_ output: String, total: Int) -> [String] {
            let lines = output.split(separator: "\n").map(String.init).filter { $0.hasPrefix("==> [") }
            for (index, line) in lines.enumerated() {
                #expect(line.hasPrefix("==> [\(index + 1)/\(total)] "), "step numbering: \(line)")
            }
            return lines.map { String($0.drop { $0 != "]" }.dropFirst(2)) }
        }

        /// The `+ command` lines.
        static func commands(_ output: String) -> [String] {
            output.split(separator: "\n").filter { $0.hasPrefix("+ ") }.map { String($0.dropFirst(2)) }
        }

        @Test func passesShellcheck() throws {
            let result = try Tool.run(["shellcheck", "--shell=bash", "--severity=style", Self.script])
            #expect(result.succeeded, "\(result)")
        }

        @Test func helpDocumentsEveryOption() throws {
            let scratch = try Self.sandbox()
            defer { scratch.remove() }
            let result = try Self.run(["--help"], in: scratch)
            #expect(result.code == 0, "\(result)")
            for option in ["--help", "--dry-run", "--driver NAME", "--context NAME", "--lb-ip ADDR", "delete", "delete --all",
                           "LB_IP", "MINIKUBE_PROFILE", "ROLLOUT_TIMEOUT", "FT_SERVICES_CREDENTIALS"] {
                #expect(result.stdout.contains(option), "--help does not document \(option)\n\(result)")
            }
            #expect((try? String(contentsOfFile: scratch.file("calls.log"), encoding: .utf8)) == nil, "--help ran a tool")
        }

        @Test(arguments: [["--bogus"], ["--driver"], ["--lb-ip", "300.1.2.3"], ["--context", "kind-x"], ["--all"],
                          ["--context", "kind-x", "--driver", "docker", "--lb-ip", "10.0.0.200"]])
        func badCommandLineExits64WithUsage(arguments: [String]) throws {
            let scratch = try Self.sandbox()
            defer { scratch.remove() }
            let result = try Self.run(arguments, in: scratch)
            #expect(result.code == 64, "\(result)")
            #expect(result.stderr.contains("Usage: ./setup.sh"), "\(result)")
            #expect(result.stdout.isEmpty, "\(result)")
            #expect(scratch.read("calls.log") == nil, "a usage error ran a tool: \(scratch.read("calls.log") ?? "")")
        }

        @Test func unknownOptionIsNamed() throws {
            let scratch = try Self.sandbox()
            defer { scratch.remove() }
            let result = try Self.run(["--frobnicate"], in: scratch)
            #expect(result.code == 64)
            #expect(result.stderr.contains("unknown option or command: --frobnicate"), "\(result)")
        }

        @Test func dryRunPrintsEveryStepInOrderAndTouchesNothing() throws {
            let scratch = try Self.sandbox()
            defer { scratch.remove() }
            let result = try Self.run(["--dry-run"], in: scratch)
            #expect(result.code == 0, "\(result)")
            let steps = Self.steps(result.stdout, total: 10)
            #expect(steps.count == Self.setupSteps.count, "\(steps)")
            for (step, expected) in zip(steps, Self.setupSteps) {
                #expect(step.hasPrefix(expected), "step \(step) where \(expected) was expected")
            }

            // The commands it would run, in order.
            let commands = Self.commands(result.stdout)
            var expected = [
                "minikube start -p minikube --driver=docker",
                "minikube -p minikube ip",
                "minikube -p minikube addons enable dashboard",
                "kubectl --context minikube apply -f https://raw.githubusercontent.com/metallb/metallb/v0.14.9/config/manifests/metallb-native.yaml",
                "kubectl --context minikube -n metallb-system rollout status deployment/controller",
                "make ftinit",
            ]
            expected += Self.services.map { "install -m 0755 .build/ftinit images/\($0)/ftinit" }
            expected += Self.services.map { "minikube -p minikube image build -t \($0):ft-services images/\($0)" }
            expected += ["kubectl create secret generic ft-services-secrets -n ft-services",
                         "kubectl create configmap ft-services-config -n ft-services",
                         "kubectl kustomize"]
            expected += Self.services.map { "kubectl --context minikube -n ft-services rollout status deployment/\($0) " }
            var position = commands.startIndex
            for command in expected {
                guard let found = commands[position...].firstIndex(where: { $0.contains(command) }) else {
                    Issue.record("`\(command)` not printed after the commands before it:\n\(commands.joined(separator: "\n"))")
                    return
                }
                position = found + 1
            }
            #expect(result.stdout.contains("<lb-ip>"), "the LB IP is not a placeholder in a dry run")

            // Only local read-only checks ran; nothing was written.
            for call in scratch.lines("calls.log") {
                #expect(Self.readOnlyCalls.contains { call.hasPrefix($0) }, "a dry run called `\(call)`")
            }
            #expect(!FileManager.default.fileExists(atPath: scratch.file("home/.config")), "a dry run wrote a credentials file")
        }

        @Test func dryRunUsesTheGivenAddress() throws {
            let scratch = try Self.sandbox(fakes: ["minikube", "kubectl", "docker", "podman", "swift", "pkg-config"])
            defer { scratch.remove() }
            let result = try Self.run(["--dry-run", "--lb-ip", "192.168.49.150", "--driver=podman"], in: scratch)
            #expect(result.code == 0, "\(result)")
            let commands = Self.commands(result.stdout)
            #expect(commands.contains { $0.contains("minikube start -p minikube --driver=podman") }, "\(result)")
            #expect(commands.contains { $0.contains("--from-literal=LB_IP=192.168.49.150") }, "\(result)")
            #expect(commands.contains { $0.contains("LB_IP: 192.168.49.150/") && $0.contains("kubectl kustomize") }, "\(result)")
        }

        @Test func dryRunOnAContextSkipsMinikube() throws {
            let scratch = try Self.sandbox()
            defer { scratch.remove() }
            let result = try Self.run(["--dry-run", "--context", "lab", "--lb-ip", "10.1.2.200"], in: scratch)
            #expect(result.code == 0, "\(result)")
            let steps = Self.steps(result.stdout, total: 10)
            #expect(steps.count == 10 && steps[1] == "Using kubectl context lab", "\(steps)")
            let commands = Self.commands(result.stdout)
            #expect(!commands.contains { $0.hasPrefix("minikube") }, "\(result)")
            #expect(commands.contains("docker build -t nginx:ft-services images/nginx"), "\(result)")
            #expect(!scratch.lines("calls.log").contains { $0.hasPrefix("minikube") })
        }

        @Test func deleteDryRunRemovesInOrder() throws {
            let scratch = try Self.sandbox()
            defer { scratch.remove() }
            let result = try Self.run(["delete", "--all", "--dry-run"], in: scratch)
            #expect(result.code == 0, "\(result)")
            let steps = Self.steps(result.stdout, total: 6)
            #expect(steps.map { $0.split(separator: " ").prefix(2).joined(separator: " ") } ==
                    ["Checking prerequisites", "Removing namespace", "Removing MetalLB", "Removing the", "Removing local", "Deleting minikube"],
                    "\(steps)")
            let commands = Self.commands(result.stdout)
            #expect(commands.contains("kubectl --context minikube delete namespace ft-services --ignore-not-found --wait=true --timeout=300s"), "\(result)")
            #expect(commands.last == "minikube -p minikube delete", "\(result)")
            for call in scratch.lines("calls.log") {
                #expect(Self.readOnlyCalls.contains { call.hasPrefix($0) }, "a dry run called `\(call)`")
            }
        }

        /// PATH holds the fakes without minikube and links to the few system tools setup.sh needs
        /// before its prerequisite check, so a minikube installed on this machine cannot hide.
        @Test func missingMinikubeIsNamedWithHowToInstall() throws {
            let scratch = try Self.sandbox(fakes: ["kubectl", "docker", "swift", "pkg-config"])
            defer { scratch.remove() }
            try FileManager.default.createDirectory(atPath: scratch.file("system"), withIntermediateDirectories: true)
            for tool in ["bash", "dirname", "uname", "sed", "head", "make", "strip", "file", "basename"] {
                if let found = Prerequisites.which(tool) {
                    try FileManager.default.createSymbolicLink(atPath: scratch.file("system/\(tool)"), withDestinationPath: found)
                }
            }
            let result = try Self.run(["--dry-run"], in: scratch, path: "\(scratch.file("fakes")):\(scratch.file("system"))")
            #expect(result.code == 69, "\(result)")
            #expect(result.stderr.contains("missing prerequisite: minikube: not found on PATH"), "\(result)")
            #expect(result.stderr.contains("https://minikube.sigs.k8s.io/docs/start/"), "\(result)")
            #expect(result.stderr.contains("--context NAME"), "the alternative to minikube is not mentioned\n\(result)")
            #expect(result.stderr.contains("step [1/10] Checking prerequisites"), "\(result)")
            #expect(Self.steps(result.stdout, total: 10) == ["Checking prerequisites"], "\(result)")
        }

        @Test func oldSwiftAndMissingOpenSSLAreNamed() throws {
            let scratch = try Self.sandbox(fakes: ["minikube", "kubectl", "docker"])
            defer { scratch.remove() }
            try scratch.write("fakes/swift", "#!/bin/sh\necho 'Swift version 5.10 (swift-5.10-RELEASE)'\n", mode: 0o755)
            try scratch.write("fakes/pkg-config", "#!/bin/sh\nexit 1\n", mode: 0o755)
            let result = try Self.run(["--dry-run"], in: scratch)
            #expect(result.code == 69, "\(result)")
            #expect(result.stderr.contains("Swift 6 or later is needed"), "\(result)")
            #expect(result.stderr.contains("libssl-dev"), "\(result)")
            #expect(result.stderr.contains("sudo apt-get install libssl-dev"), "\(result)")
        }
    }
}
