import Foundation
import Testing

/// setup.sh's step 9 from the host's side: after the rollouts it must reach every public port
/// on the LB IP, as a browser and the FTP and SSH clients would, and fail naming the ports that
/// do not answer, with the likely causes (issue 13: "done" was printed when nothing answered).
/// The cluster is faked (SetupScript's fakes); the ports are real listeners
/// (Fakes/public_ports.py) on the loopback of a network namespace of the test's own, where
/// setup.sh runs with --lb-ip 127.0.0.1.
extension Integration {
    @Suite(.requires(.root, .tools(["ip", "nsenter", "python3", "curl", "openssl", "kubectl"]), what: "setup.sh reachability tests"))
    struct SetupReachability {
        static let allPorts = ["80:http", "443:https", "5050:https", "5000:https", "3000:https", "21:ftp", "22:ssh"]

        /// setup.sh run to its end against the fakes, inside `network`, with listeners on `ports`;
        /// `--no-check` unless `check`: the listeners are no stack the subject's checks could pass.
        static func runSetup(listening ports: [String], check: Bool = false) throws -> (result: ToolResult, scratch: Scratch) {
            let network = try TestNetwork()
            defer { network.remove() }
            let scratch = try SetupScript.sandbox(fakes: SetupScript.clusterFakes)
            let cert = scratch.file("cert.pem"), key = scratch.file("key.pem")
            try OpenSSL.makeSelfSigned(cert: cert, key: key, days: 1, names: ["localhost"])
            let script = try String(contentsOfFile: FTInitBinary.packageRoot.appendingPathComponent(
                "Tests/IntegrationTests/Kubernetes/Fakes/public_ports.py").path, encoding: .utf8)
            let listeners = try SpawnedProcess.pythonServer(script, ["127.0.0.1", cert, key] + ports,
                                                            prefix: network.prefix, name: "public_ports.py")
            defer { listeners.killAndWait() }
            let repo = try SetupScript.repositoryCopy(in: scratch)
            let result = try SetupScript.run(["--lb-ip", "127.0.0.1"] + (check ? [] : ["--no-check"]), in: scratch, script: "\(repo)/setup.sh",
                                             environment: try SetupScript.clusterEnvironment(["FAKE_LB_IP": "127.0.0.1", "REACH_TIMEOUT": "4"]),
                                             prefix: network.prefix, timeout: .seconds(120))
            return (result, scratch)
        }

        @Test func everyPublicPortAnsweringEndsTheRunWithTheSummary() throws {
            let (result, scratch) = try Self.runSetup(listening: Self.allPorts)
            defer { scratch.remove() }
            #expect(result.code == 0, "\(result)")
            #expect(result.stdout.contains("ports 80 443 5050 5000 3000 21 22 answer on 127.0.0.1"), "\(result)")
            #expect(result.stdout.contains("ft_services is up. LoadBalancer IP: 127.0.0.1"), "\(result)")
            // Issue 17: the dashboard's login-less URL is cluster-admin (minikube's addon): the summary says so.
            #expect(result.stdout.contains("without a login it acts as cluster-admin") && result.stdout.contains("login token (read-only account)"),
                    "\(result)")
            // The Secret's keys, made on a first run: the WordPress salts' seed among them, so
            // that every wordpress pod derives the same salts (issue 13).
            let credentials = try #require(scratch.read("home/.config/ft-services/credentials-minikube"))
            let keys = Dictionary(uniqueKeysWithValues: credentials.split(separator: "\n").map {
                (String($0.prefix { $0 != "=" }), String($0.drop { $0 != "=" }.dropFirst()))
            })
            #expect(Set(keys.keys) == ManifestPolicy.secretKeys, "the Secret's keys differ from what the Deployments read: \(keys.keys.sorted())")
            #expect(keys["WP_AUTH_SALT_SEED"]?.count == 48, "no WP_AUTH_SALT_SEED of 48 characters")
            // Issue 17: the file 0600 from its creation (mktemp), in a directory of mode 0700, nothing left beside it.
            let directory = scratch.file("home/.config/ft-services")
            let fileMode = (try FileManager.default.attributesOfItem(atPath: "\(directory)/credentials-minikube")[.posixPermissions] as? NSNumber)?.intValue
            let directoryMode = (try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? NSNumber)?.intValue
            #expect(fileMode == 0o600 && directoryMode == 0o700, "modes \(String(fileMode ?? 0, radix: 8)), \(String(directoryMode ?? 0, radix: 8))")
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["credentials-minikube"])
        }

        /// Step 10 runs ./setup.sh check against the stack: what answers on the ports here is no
        /// ft_services (and the fake kubectl has no ConfigMap), so the run is not "done".
        @Test func aStackThatDoesNotPassTheCheckIsNotDone() throws {
            let (result, scratch) = try Self.runSetup(listening: Self.allPorts, check: true)
            defer { scratch.remove() }
            #expect(result.code == 1, "\(result)")
            #expect(result.stdout.contains("==> [10/11] Checking the subject") && result.stdout.contains("+ python3 "), "\(result)")
            #expect(result.stderr.contains("setup.sh check: cannot start:") && result.stderr.contains("step [10/11]")
                    && result.stderr.contains("the stack does not pass ./setup.sh check"), "\(result)")
            #expect(!result.stdout.contains("ft_services is up"), "\(result)")
        }

        /// Before issue 13 this run printed "ft_services is up" and exited 0.
        @Test func aSilentPortFailsStepNineWithItsNameAndTheLikelyCauses() throws {
            let (result, scratch) = try Self.runSetup(listening: Self.allPorts.filter { !["5000:https", "22:ssh"].contains($0) })
            defer { scratch.remove() }
            #expect(result.code == 1, "\(result)")
            #expect(result.stderr.contains("not reachable on 127.0.0.1 from this host: 5000 (https: no answer) 22 (no SSH banner)"), "\(result)")
            #expect(result.stderr.contains("step [9/11]"), "\(result)")
            for cause in ["node.kubernetes.io/exclude-from-external-load-balancers", "--ignore-exclude-lb", "Docker Desktop", "rootless"] {
                #expect(result.stderr.contains(cause), "the likely cause \(cause) is not named\n\(result)")
            }
            #expect(!result.stdout.contains("ft_services is up"), "\(result)")
        }
    }
}
