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

        /// The step titles, in the order setup.sh announces them (`==> [N/11] title`).
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
            "Checking the subject",
            "Done",
        ]
        static let services = ["nginx", "wordpress", "phpmyadmin", "mysql", "ftps", "influxdb", "grafana"]

        /// The only calls a dry run may make: local, read-only prerequisite checks.
        static let readOnlyCalls = ["docker info", "swift --version", "pkg-config --exists openssl",
                                    "pkg-config --modversion openssl", "kubectl version", "minikube version"]

        /// One POSIX sh script behind every fake name (Fakes/cluster-tool): logs `name argv...`
        /// to $FAKE_LOG and answers as a cluster and a build host would.
        static var fakeTool: String {
            FTInitBinary.packageRoot.appendingPathComponent("Tests/IntegrationTests/Kubernetes/Fakes/cluster-tool").path
        }

        /// A scratch dir with `fakes/` holding the fakes named in `names`, and `home/`.
        static func sandbox(fakes names: [String] = ["minikube", "kubectl", "docker", "swift", "pkg-config"]) throws -> Scratch {
            let scratch = try Scratch()
            try FileManager.default.createDirectory(atPath: scratch.file("fakes"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: scratch.file("home"), withIntermediateDirectories: true)
            for name in names {
                try FileManager.default.createSymbolicLink(atPath: scratch.file("fakes/\(name)"), withDestinationPath: Self.fakeTool)
            }
            return scratch
        }

        /// setup.sh with the fakes first on PATH, HOME in the scratch dir. `script`: the
        /// setup.sh to run (the repository's, or a copy's for runs that write); `prefix`: what
        /// runs it (`TestNetwork.prefix`).
        static func run(_ arguments: [String], in scratch: Scratch, path: String? = nil, script: String = Self.script,
                        environment: [String: String] = [:], prefix: [String] = [], timeout: Duration = .seconds(60)) throws -> ToolResult {
            var env = [
                "PATH": path ?? "\(scratch.file("fakes")):/usr/local/bin:/usr/bin:/bin",
                "HOME": scratch.file("home"),
                "FAKE_LOG": scratch.file("calls.log"),
                "FAKE_IMAGES": scratch.file("images.list"),
                "LB_IP": "", "MINIKUBE_DRIVER": "", "FT_SERVICES_CREDENTIALS": "",
            ]
            env.merge(environment) { _, new in new }
            return try Tool.run(prefix + [script] + arguments, environment: env, timeout: timeout)
        }

        /// A copy of what setup.sh reads (itself, srcs/, images/ without built binaries, the
        /// builder's Dockerfile) in `scratch/repo`, for runs that are not dry: they write
        /// images/*/ftinit and build directories there, never in the repository.
        static func repositoryCopy(in scratch: Scratch) throws -> String {
            let root = FTInitBinary.packageRoot.path
            let copy = scratch.file("repo")
            try FileManager.default.createDirectory(atPath: "\(copy)/scripts", withIntermediateDirectories: true)
            for item in ["setup.sh", "srcs", "images", "scripts/ftinit-builder.Dockerfile", "scripts/credentials.sh", "scripts/check"] {
                try FileManager.default.copyItem(atPath: "\(root)/\(item)", toPath: "\(copy)/\(item)")
            }
            for image in Self.services {
                try? FileManager.default.removeItem(atPath: "\(copy)/images/\(image)/ftinit")
            }
            return copy
        }

        /// A PATH of the fakes, then `system/`: links to every program of the system's PATH
        /// but `excluded`, so that one installed on this machine cannot hide a missing tool.
        static func systemPath(in scratch: Scratch, without excluded: Set<String>) throws -> String {
            let system = scratch.file("system")
            try FileManager.default.createDirectory(atPath: system, withIntermediateDirectories: true)
            for directory in ["/bin", "/usr/bin", "/usr/local/bin"] {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
                where !excluded.contains(name) && !FileManager.default.fileExists(atPath: "\(system)/\(name)") {
                    try FileManager.default.createSymbolicLink(atPath: "\(system)/\(name)", withDestinationPath: "\(directory)/\(name)")
                }
            }
            return "\(scratch.file("fakes")):\(system)"
        }

        /// The fakes of a run that is not dry: the cluster (minikube, kubectl rendering with the
        /// real kubectl), docker, the host toolchain (make, swift, pkg-config) and `uname`.
        static let clusterFakes = ["minikube", "kubectl", "docker", "make", "swift", "pkg-config", "uname"]

        /// The environment a fake cluster run needs besides `run`'s.
        /// MetalLB's and the dashboard's manifests are downloaded from a mirror, as an air-gapped
        /// install would: the test's own stand-in files (never the network), with their checksums.
        static func clusterEnvironment(_ extra: [String: String] = [:]) throws -> [String: String] {
            let kubectl = try #require(Prerequisites.which("kubectl"), "the real kubectl renders srcs/")
            let metallb = try standInManifest(), dashboard = try standInManifest(namespace: "kubernetes-dashboard")
            return ["REAL_KUBECTL": kubectl, "ROLLOUT_TIMEOUT": "30s",
                    "METALLB_MANIFEST": "file://\(metallb.path)", "METALLB_MANIFEST_SHA256": metallb.sha256,
                    "DASHBOARD_MANIFEST": "file://\(dashboard.path)", "DASHBOARD_MANIFEST_SHA256": dashboard.sha256]
                .merging(extra) { _, new in new }
        }

        /// A manifest of the test's own in place of MetalLB's (or the dashboard's), and its sha256.
        static func standInManifest(namespace: String = "metallb-system") throws -> (path: String, sha256: String) {
            let text = "# stand-in manifest (SetupScript tests)\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: \(namespace)\n"
            let path = try Self.manifests.write("\(namespace).yaml", text)
            let sum = try Tool.run(["sha256sum", path])
            return (path, try #require(sum.stdout.split(separator: " ").first.map(String.init), "\(sum)"))
        }

        private static let manifests = try! Scratch()

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
            let result = try Tool.run(["shellcheck", "-x", "--shell=bash", "--severity=style", Self.script], directory: FTInitBinary.packageRoot.path)
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
            let steps = Self.steps(result.stdout, total: 11)
            #expect(steps.count == Self.setupSteps.count, "\(steps)")
            for (step, expected) in zip(steps, Self.setupSteps) {
                #expect(step.hasPrefix(expected), "step \(step) where \(expected) was expected")
            }

            // The commands it would run, in order.
            let commands = Self.commands(result.stdout)
            var expected = [
                "minikube start -p minikube --driver=docker --cni=calico",
                "minikube -p minikube ip",
                "minikube -p minikube addons enable dashboard",
                // Downloaded, applied only with the pinned sha256 (issue 17).
                #"curl -fsSL --max-time 120 -o "$manifest" https://raw.githubusercontent.com/metallb/metallb/v0.14.9/config/manifests/metallb-native.yaml && [ sha256 = 951065e85692aa106f1bb5d5a487d9306154923a794ab1d82122881cbaf588e4 ] && kubectl --context minikube apply -f "$manifest""#,
                "kubectl --context minikube -n metallb-system rollout status deployment/controller",
                "make ftinit",
            ]
            expected.insert("kubectl --context minikube -n metallb-system patch daemonset speaker --type=json -p '[{\"op\":\"add\",\"path\":\"/spec/template/spec/containers/0/args/-\",\"value\":\"--ignore-exclude-lb\"}]'", at: 4)
            expected += Self.services.map { "install -m 0755 .build/ftinit images/\($0)/ftinit" }
            expected += Self.services.map { "minikube -p minikube image build -t \($0):ft-services-" }
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
            #expect(commands.contains { $0.contains("minikube start -p minikube --driver=podman --cni=calico") }, "\(result)")
            #expect(commands.contains { $0.contains("--from-literal=LB_IP=192.168.49.150") }, "\(result)")
            #expect(commands.contains { $0.contains("LB_IP: 192.168.49.150/") && $0.contains("kubectl kustomize") }, "\(result)")
        }

        @Test func dryRunOnAContextSkipsMinikube() throws {
            let scratch = try Self.sandbox()
            defer { scratch.remove() }
            let result = try Self.run(["--dry-run", "--context", "lab", "--lb-ip", "10.1.2.200"], in: scratch)
            #expect(result.code == 0, "\(result)")
            let steps = Self.steps(result.stdout, total: 11)
            #expect(steps.count == 11 && steps[1] == "Using kubectl context lab", "\(steps)")
            let commands = Self.commands(result.stdout)
            #expect(!commands.contains { $0.hasPrefix("minikube") }, "\(result)")
            #expect(commands.contains { $0.hasPrefix("docker build -t nginx:ft-services-") && $0.hasSuffix(" images/nginx") }, "\(result)")
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

        /// PATH holds the fakes without minikube and the system's tools without it, so a
        /// minikube installed on this machine cannot hide.
        @Test func missingMinikubeIsNamedWithHowToInstall() throws {
            let scratch = try Self.sandbox(fakes: ["kubectl", "docker", "swift", "pkg-config"])
            defer { scratch.remove() }
            let result = try Self.run(["--dry-run"], in: scratch, path: try Self.systemPath(in: scratch, without: ["minikube"]))
            #expect(result.code == 69, "\(result)")
            #expect(result.stderr.contains("missing prerequisite: minikube: not found on PATH"), "\(result)")
            #expect(result.stderr.contains("https://minikube.sigs.k8s.io/docs/start/"), "\(result)")
            #expect(result.stderr.contains("--context NAME"), "the alternative to minikube is not mentioned\n\(result)")
            #expect(result.stderr.contains("step [1/11] Checking prerequisites"), "\(result)")
            #expect(Self.steps(result.stdout, total: 11) == ["Checking prerequisites"], "\(result)")
        }

        /// Neither a fitting toolchain (Swift 5.10, no OpenSSL) nor a container engine: both ways
        /// of building ftinit are named, with what the host toolchain lacks.
        @Test func withoutToolchainOrDockerBothWaysToBuildFtinitAreNamed() throws {
            let scratch = try Self.sandbox(fakes: ["minikube", "kubectl"])
            defer { scratch.remove() }
            try scratch.write("fakes/swift", "#!/bin/sh\necho 'Swift version 5.10 (swift-5.10-RELEASE)'\n", mode: 0o755)
            for tool in ["pkg-config", "docker", "podman"] {
                try scratch.write("fakes/\(tool)", "#!/bin/sh\nexit 1\n", mode: 0o755)
            }
            let result = try Self.run(["--dry-run", "--driver=qemu2"], in: scratch)
            #expect(result.code == 69, "\(result)")
            for text in ["missing prerequisite: a way to build ftinit: Docker (or podman)", "Swift 6 or later (swift --version reports 5)",
                         "libssl-dev", "https://www.swift.org/install/linux/"] {
                #expect(result.stderr.contains(text), "\(text)\n\(result)")
            }
        }

        /// No Swift toolchain on the host: ftinit is built in the official Swift image, for the
        /// nodes' architecture, and that binary goes into the images (issue 13: a newcomer needs
        /// only Docker and minikube).
        @Test func withoutAToolchainFtinitIsBuiltInTheSwiftImage() throws {
            let scratch = try Self.sandbox(fakes: ["minikube", "kubectl", "docker"])
            defer { scratch.remove() }
            let result = try Self.run(["--dry-run"], in: scratch)
            #expect(result.code == 0, "\(result)")
            let commands = Self.commands(result.stdout)
            #expect(commands.contains("docker build --platform linux/amd64 -t ft-services-ftinit-builder:6.3.3 - <scripts/ftinit-builder.Dockerfile"),
                    "\(result)")
            #expect(commands.contains { $0.hasPrefix("docker run --rm --platform linux/amd64 --user ") &&
                                        $0.hasSuffix(" ft-services-ftinit-builder:6.3.3 make ftinit BUILD=.build-linux-amd64") }, "\(result)")
            #expect(commands.contains("install -m 0755 .build-linux-amd64/ftinit images/nginx/ftinit"), "\(result)")
            #expect(!commands.contains("make ftinit"), "the host toolchain was used: \(result)")
            #expect(result.stdout.contains("no fitting toolchain here (a Swift toolchain"), "\(result)")
            let dockerfile = try String(contentsOfFile: "\(FTInitBinary.packageRoot.path)/scripts/ftinit-builder.Dockerfile", encoding: .utf8)
            #expect(dockerfile.contains("\nFROM swift:6.3.3-bookworm\n"), "the builder is the pinned official Swift image")
        }

        /// A host toolchain of another architecture than the nodes' (an arm64 laptop, amd64
        /// nodes of a --context cluster): built in the Swift image for linux/amd64, under
        /// emulation, with a warning; the images get that binary. (The run is stopped at its
        /// last image build: only steps 1 to 6 matter here.)
        @Test func aHostOfAnotherArchitectureBuildsFtinitForTheNodes() throws {
            let scratch = try Self.sandbox(fakes: Self.clusterFakes)
            defer { scratch.remove() }
            let repo = try Self.repositoryCopy(in: scratch)
            let result = try Self.run(["--context", "lab", "--lb-ip", "10.1.2.200"], in: scratch, script: "\(repo)/setup.sh",
                                      environment: try Self.clusterEnvironment(["FAKE_MACHINE": "aarch64", "FAKE_BROKEN_IMAGE": "images/grafana"]))
            #expect(result.code == 1, "\(result)")
            let calls = scratch.lines("calls.log")
            #expect(calls.contains("docker build --platform linux/amd64 -t ft-services-ftinit-builder:6.3.3 -"), "\(calls)")
            #expect(calls.contains { $0.hasPrefix("docker run --rm --platform linux/amd64 ") && $0.hasSuffix("make ftinit BUILD=.build-linux-amd64") }, "\(calls)")
            #expect(!calls.contains("make ftinit"), "the arm64 host toolchain built the amd64 nodes' ftinit")
            #expect(result.stderr.contains("building for linux/amd64 on a arm64 host runs the compiler under emulation"), "\(result)")
            for image in Self.services {
                #expect(try String(contentsOfFile: "\(repo)/images/\(image)/ftinit", encoding: .utf8) == "ftinit built for linux/amd64\n", "\(image)")
            }
        }

        /// The influxdb image exists for amd64 only: arm64 nodes are refused when the cluster is
        /// first asked, before MetalLB or anything else is installed.
        @Test func nodesOfAnUnsupportedArchitectureAreRefusedBeforeAnythingIsInstalled() throws {
            let scratch = try Self.sandbox(fakes: Self.clusterFakes)
            defer { scratch.remove() }
            let repo = try Self.repositoryCopy(in: scratch)
            let result = try Self.run(["--context", "lab", "--lb-ip", "10.1.2.200"], in: scratch, script: "\(repo)/setup.sh",
                                      environment: try Self.clusterEnvironment(["FAKE_NODE_ARCH": "arm64"]))
            #expect(result.code == 69, "\(result)")
            #expect(result.stderr.contains("step [2/11]") && result.stderr.contains("is arm64") && result.stderr.contains("amd64 only"), "\(result)")
            #expect(!scratch.lines("calls.log").contains { $0.contains(" apply ") || $0.hasPrefix("docker") && !$0.hasPrefix("docker info") },
                    "something was installed or built: \(scratch.lines("calls.log"))")
        }

        /// `minikube image build` exits 0 when the build failed (minikube#12556): setup.sh stops
        /// at that image, with the builder's own error, before anything is applied. The same run
        /// shows step 4 giving MetalLB's speaker --ignore-exclude-lb after installing MetalLB.
        /// (Before issue 13 setup.sh went on to apply srcs/ with the image missing.)
        @Test func aFailingImageBuildStopsTheRunWithTheBuildersError() throws {
            let scratch = try Self.sandbox(fakes: Self.clusterFakes)
            defer { scratch.remove() }
            let repo = try Self.repositoryCopy(in: scratch)
            let result = try Self.run([], in: scratch, script: "\(repo)/setup.sh",
                                      environment: try Self.clusterEnvironment(["FAKE_BROKEN_IMAGE": "images/mysql"]))
            #expect(result.code == 1, "\(result)")
            #expect(result.stderr.contains("ERROR: failed to solve: process"), "the builder's error is not shown\n\(result)")
            #expect(result.stderr.contains("step [6/11]") && result.stderr.contains("building image mysql:ft-services-"),
                    "\(result)")
            let calls = scratch.lines("calls.log")
            #expect(!calls.contains { $0.hasPrefix("minikube -p minikube image build -t ftps:") }, "went on building after mysql")
            #expect(!calls.contains { $0.hasPrefix("kubectl kustomize") || $0.contains("create secret") }, "went on to step 7: \(calls)")

            let metallb = try #require(calls.firstIndex { $0.contains(" apply -f /") }, "MetalLB's manifest was not applied: \(calls)")
            let patch = try #require(calls.firstIndex { $0.contains("-n metallb-system patch daemonset speaker --type=json") }, "\(calls)")
            #expect(patch > metallb && calls[patch].contains(#""value":"--ignore-exclude-lb""#), "\(calls[patch])")
        }

        /// Without kubectl on PATH, minikube's own (`minikube kubectl --`, the cluster's version)
        /// runs every kubectl command, kustomize included.
        @Test func withoutKubectlMinikubesOwnIsUsed() throws {
            let scratch = try Self.sandbox(fakes: ["minikube", "docker", "swift", "pkg-config"])
            defer { scratch.remove() }
            let result = try Self.run(["--dry-run"], in: scratch, path: try Self.systemPath(in: scratch, without: ["kubectl"]))
            #expect(result.code == 0, "\(result)")
            #expect(result.stdout.contains("kubectl: minikube -p minikube kubectl --"), "\(result)")
            let commands = Self.commands(result.stdout)
            #expect(commands.contains { $0.contains("metallb-native.yaml && [ sha256 = ") && $0.hasSuffix(#"&& minikube -p minikube kubectl -- --context minikube apply -f "$manifest""#) },
                    "\(result)")
            #expect(commands.contains { $0.contains("&& minikube -p minikube kubectl -- kustomize \"$work\"") }, "\(result)")
            #expect(!commands.contains { $0.hasPrefix("kubectl ") || $0.contains("| kubectl ") }, "a bare kubectl: \(commands)")
        }

        /// setup.sh says plainly where it runs: Linux; macOS with a warning about the
        /// unreachable node network; nothing else (exit 69 in step 1).
        @Test(arguments: [("Darwin", 0), ("MINGW64_NT-10.0", 69), ("FreeBSD", 69)])
        func theHostOSIsCheckedFirst(os: String, code: Int32) throws {
            let scratch = try Self.sandbox(fakes: ["minikube", "kubectl", "docker", "swift", "pkg-config", "uname"])
            defer { scratch.remove() }
            let result = try Self.run(["--dry-run"], in: scratch, environment: ["FAKE_OS": os])
            #expect(result.code == code, "\(result)")
            if code == 0 {
                #expect(result.stderr.contains("on macOS the minikube node's network (and so the LB IP) is not reachable"), "\(result)")
                #expect(result.stdout.contains("in the container image swift:6.3.3-bookworm"), "a macOS toolchain cannot build the Linux binary: \(result)")
            } else {
                #expect(result.stderr.contains("this host is \(os): setup.sh supports Linux (amd64, arm64), and macOS with a VM driver"), "\(result)")
            }
        }

        /// Rollouts that take a while are not silent: every slice says what the pod is doing.
        @Test func aSlowRolloutReportsWhatItWaitsFor() throws {
            let scratch = try Self.sandbox(fakes: Self.clusterFakes)
            defer { scratch.remove() }
            let repo = try Self.repositoryCopy(in: scratch)
            let result = try Self.run(["--lb-ip", "127.0.0.1"], in: scratch, script: "\(repo)/setup.sh",
                                      environment: try Self.clusterEnvironment(["FAKE_ROLLOUT_WAITS": "2", "FAKE_LB_IP": "127.0.0.1",
                                                                                "REACH_TIMEOUT": "0"]))
            #expect(result.stdout.contains("[1/7] deployment/nginx (up to 30s)"), "\(result)")
            #expect(result.stdout.contains("s: nginx-7d9f: Running, ready=false, restarts=0"), "\(result)")
            #expect(result.stdout.contains("    ready after "), "\(result)")
            #expect(result.stdout.contains("[1/7] nginx:ft-services-") && result.stdout.contains("(started "), "\(result)")
        }

        /// A manifest whose sha256 is not the pinned one (a moved tag, a tampered download) is
        /// never applied: the run stops at step 4 naming both checksums (issue 17).
        @Test func aManifestWithAnotherChecksumIsNotApplied() throws {
            let scratch = try Self.sandbox(fakes: Self.clusterFakes)
            defer { scratch.remove() }
            let repo = try Self.repositoryCopy(in: scratch)
            let pinned = String(repeating: "0", count: 64)
            let result = try Self.run([], in: scratch, script: "\(repo)/setup.sh",
                                      environment: try Self.clusterEnvironment(["METALLB_MANIFEST_SHA256": pinned]))
            let actual = try Self.standInManifest().sha256
            #expect(result.code == 1, "\(result)")
            #expect(result.stderr.contains("has sha256 \(actual), not the pinned \(pinned): not applied"), "\(result)")
            #expect(!scratch.lines("calls.log").contains { $0.contains(" apply -f /") }, "applied: \(scratch.lines("calls.log"))")
            #expect(!result.stdout.contains("Building ftinit"), "the run went on after step 4: \(result)")
            // With the file's own checksum, the same run applies it.
            let accepted = try Self.run([], in: scratch, script: "\(repo)/setup.sh",
                                        environment: try Self.clusterEnvironment(["FAKE_BROKEN_IMAGE": "images/grafana"]))
            #expect(scratch.lines("calls.log").contains { $0.contains(" apply -f /") }, "\(accepted)\n\(scratch.lines("calls.log"))")
        }

        /// A re-run keeps what is already right: the speaker that has the flag is not patched
        /// again, and images whose build context did not change are not rebuilt.
        @Test func aRerunPatchesNothingAndRebuildsNoUnchangedImage() throws {
            let scratch = try Self.sandbox(fakes: Self.clusterFakes)
            defer { scratch.remove() }
            let repo = try Self.repositoryCopy(in: scratch)
            let first = try Self.run([], in: scratch, script: "\(repo)/setup.sh",
                                     environment: try Self.clusterEnvironment(["FAKE_BROKEN_IMAGE": "images/grafana"]))
            #expect(first.code == 1, "\(first)")
            #expect(scratch.lines("images.list").count == 6, "\(scratch.lines("images.list"))")
            try FileManager.default.removeItem(atPath: scratch.file("calls.log"))
            let second = try Self.run([], in: scratch, script: "\(repo)/setup.sh",
                                      environment: try Self.clusterEnvironment(["FAKE_BROKEN_IMAGE": "images/grafana",
                                                                                "FAKE_SPEAKER_ARGS": #"["--port=7472","--log-level=info","--ignore-exclude-lb"]"#]))
            #expect(second.code == 1, "\(second)")
            let builds = scratch.lines("calls.log").filter { $0.contains(" image build ") }
            #expect(builds.count == 1 && builds[0].contains("-t grafana:"), "rebuilt: \(builds)")
            #expect(second.stdout.contains("nginx:ft-services-") && second.stdout.contains("unchanged, already built"), "\(second)")
            #expect(!scratch.lines("calls.log").contains { $0.contains("patch daemonset speaker") }, "patched again")
        }
    }
}
