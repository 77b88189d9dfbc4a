import Foundation
import Testing

/// What makes a server the same server to its clients outlives its container (issue 13): after
/// a crash or a new pod, ssh must not see a changed host key, browsers the same certificate, and
/// WordPress' logins must survive (the same salts). A new container is the image plus its
/// Deployment's volumes: here a named volume for each PersistentVolumeClaim mount of the rendered
/// srcs/ Deployment, made as minikube's provisioner makes them (root's, mode 0777). A third
/// container with new volumes shows that the test sees a new identity when there is one.
extension Integration {
    @Suite(.requires(.root, .dockerDaemon, .alpineMinirootfs, .tools(["docker", "unshare", "kubectl", "openssl", "ssh-keyscan", "curl",
                                                                      "mariadb"]),
                     what: "identity across containers tests"))
    struct IdentityAcrossContainers {
        /// `image`'s PersistentVolumeClaim mounts, as named volumes `PREFIX-N`: new ones made
        /// empty, root's and 0777 (minikube's hostPath provisioner, pkg/storage/storage_provisioner.go:
        /// MkdirAll then Chmod 0777 "regardless of umask"), as `docker run -v` options.
        static func volumes(of image: String, prefix: String, fresh: Bool) throws -> [String] {
            let deployment = try #require(try ManifestPolicy.render().first {
                $0.string("kind") == "Deployment" && $0.string("metadata.name") == image
            })
            var options: [String] = []
            for (index, mount) in try ManifestPolicy.persistentMounts(deployment).sorted().enumerated() {
                let volume = "\(prefix)-\(index)"
                if fresh {
                    _ = try? DockerHost.run(["volume", "rm", "-f", volume])
                    let made = try DockerHost.run(["run", "--rm", "--network", "none", "-v", "\(volume):/volume", "alpine:3.22",
                                                   "chmod", "0777", "/volume"])
                    try #require(made.succeeded, "\(made)")
                }
                options += ["-v", "\(volume):\(mount)"]
            }
            return options
        }

        static func removeVolumes(prefix: String) {
            let listed = (try? DockerHost.run(["volume", "ls", "-q", "--filter", "name=\(prefix)-"]))?.stdout ?? ""
            for volume in listed.split(separator: "\n") { _ = try? DockerHost.run(["volume", "rm", "-f", String(volume)]) }
        }

        /// The SHA-256 fingerprint of the certificate served on `address`:`port`, as a client gets it.
        static func certificate(_ address: String, port: Int) throws -> String {
            let result = try Tool.run(["sh", "-c", "openssl s_client -connect \(address):\(port) </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256"])
            try #require(result.succeeded && result.stdout.contains("Fingerprint="), "\(result)")
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// The host keys sshd offers on `address`:22, as `ssh-keyscan` (a client's known_hosts) sees them.
        static func hostKeys(_ address: String) throws -> [String] {
            let result = try Tool.run(["ssh-keyscan", "-p", "22", "-t", "ed25519,ecdsa,rsa", address])
            let keys = result.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }
                .map { $0.replacingOccurrences(of: address, with: "HOST") }.sorted()
            try #require(keys.count == 3, "\(result)")
            return keys
        }

        @Test func nginxKeepsItsCertificateAndSSHHostKeysInANewContainer() throws {
            defer { Self.removeVolumes(prefix: "ft-test-id-nginx"); Self.removeVolumes(prefix: "ft-test-id-nginx-new") }
            func run(volumes: [String]) throws -> (certificate: String, hostKeys: [String]) {
                let nginx = try Stack.startExtra("ft-test-id-nginx", image: "nginx", environment: Stack.environment(of: "nginx"),
                                                 extra: volumes)
                defer { nginx.remove() }
                try nginx.waitHealthy(within: .seconds(60))
                return (try Self.certificate(nginx.address, port: 443), try Self.hostKeys(nginx.address))
            }
            let before = try run(volumes: try Self.volumes(of: "nginx", prefix: "ft-test-id-nginx", fresh: true))
            let after = try run(volumes: try Self.volumes(of: "nginx", prefix: "ft-test-id-nginx", fresh: false))
            #expect(after.certificate == before.certificate, "a new nginx container serves another certificate")
            #expect(after.hostKeys == before.hostKeys, "a new nginx container has other SSH host keys: ssh refuses it")

            let fresh = try run(volumes: try Self.volumes(of: "nginx", prefix: "ft-test-id-nginx-new", fresh: true))
            #expect(fresh.certificate != before.certificate && fresh.hostKeys != before.hostKeys,
                    "with new volumes the container should have made a new identity: the comparison above proves nothing")
        }

        /// The TLS pair (identity volume), the salts (derived from the Secret's
        /// WP_AUTH_SALT_SEED) and the uploads (their own volume) of a new wordpress container.
        @Test func wordpressKeepsItsCertificateSaltsAndUploadsInANewContainer() throws {
            try Stack.require("mysql")
            defer { Self.removeVolumes(prefix: "ft-test-id-wp"); Self.removeVolumes(prefix: "ft-test-id-wp-new") }
            let environment = try Stack.environment(of: "wordpress").merging(["WP_AUTH_SALT_SEED": #"s33d"wi\th'$pecials"#]) { $1 }
            let upload = "/var/www/wordpress/wp-content/uploads/2026/12/photo.jpg"
            func run(volumes: [String], putUpload: Bool = false) throws -> (certificate: String, salts: String, upload: String) {
                let wordpress = try Stack.startExtra("ft-test-id-wp", image: "wordpress", environment: environment, extra: volumes)
                defer { wordpress.remove() }
                try wordpress.waitHealthy(within: .seconds(90))
                if putUpload {
                    let put = try wordpress.exec(["sh", "-c", "mkdir -p \"${1%/*}\" && echo 'a photo' > \"$1\"", "sh", upload])
                    try #require(put.succeeded, "\(put)")
                }
                return (try Self.certificate(wordpress.address, port: 5050),
                        try wordpress.exec(["cat", "/run/wordpress/salts.php"]).stdout,
                        try wordpress.exec(["cat", upload]).stdout)
            }
            let before = try run(volumes: try Self.volumes(of: "wordpress", prefix: "ft-test-id-wp", fresh: true), putUpload: true)
            let after = try run(volumes: try Self.volumes(of: "wordpress", prefix: "ft-test-id-wp", fresh: false))
            #expect(after.certificate == before.certificate, "a new wordpress container serves another certificate")
            #expect(after.salts == before.salts, "other salts: every login cookie is void after a restart")
            #expect(after.upload == "a photo\n", "the uploaded media are lost")
            #expect(before.salts.contains("define('AUTH_KEY', '"), "\(before.salts)")

            let fresh = try run(volumes: try Self.volumes(of: "wordpress", prefix: "ft-test-id-wp-new", fresh: true))
            #expect(fresh.certificate != before.certificate, "with a new volume the container should have made a new pair")
        }
    }
}
