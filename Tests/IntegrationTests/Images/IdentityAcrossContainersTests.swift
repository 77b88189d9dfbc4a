import Foundation
import Glibc
import Testing

/// What makes a server the same server to its clients outlives its container (issue 13): after
/// a crash or a new pod, ssh must not see a changed host key, browsers the same certificate, and
/// WordPress' logins must survive (the same salts). A new container is the image's files plus
/// its Deployment's volumes: here a fresh FT_ROOT into which only the PersistentVolumeClaim
/// mounts of the rendered srcs/ Deployment are copied. A third boot without them shows that the
/// test sees a new identity when there is one (what every restart did before issue 13).
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(["ip", "unshare", "kubectl", "python3", "openssl", "ssh-keyscan", "nginx", "sshd",
                                                   "ssh-keygen", "useradd", "userdel", "chpasswd", "mariadbd", "mariadb",
                                                   "mariadb-install-db", "php8.2", "php-fpm8.2", "curl"]),
                     what: "identity across containers tests"))
    struct IdentityAcrossContainers {
        /// Copies from `old` to `new` what `image`'s Deployment keeps on PersistentVolumeClaims.
        @discardableResult
        static func carryVolumes(of image: String, from old: Scratch, to new: Scratch) throws -> Set<String> {
            let deployment = try #require(try ManifestPolicy.render().first {
                $0.string("kind") == "Deployment" && $0.string("metadata.name") == image
            })
            let mounts = try ManifestPolicy.persistentMounts(deployment)
            for mount in mounts where FileManager.default.fileExists(atPath: old.file(String(mount.dropFirst()))) {
                let target = new.file(String(mount.dropFirst()))
                try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try? FileManager.default.removeItem(atPath: target)
                let copied = try Tool.run(["cp", "-a", old.file(String(mount.dropFirst())), target])
                try #require(copied.succeeded, "\(copied)")
            }
            return mounts
        }

        /// Makes `image`'s PersistentVolumeClaim mounts in `root` as a first deployment finds
        /// them: empty, root's and mode 0777 (minikube's hostPath provisioner,
        /// pkg/storage/storage_provisioner.go: MkdirAll then Chmod 0777 "regardless of umask").
        /// ftinit refuses to write into such a directory, so the images keep their files in a
        /// directory of their own inside it.
        static func provisionVolumes(of image: String, in root: Scratch) throws {
            let deployment = try #require(try ManifestPolicy.render().first {
                $0.string("kind") == "Deployment" && $0.string("metadata.name") == image
            })
            for mount in try ManifestPolicy.persistentMounts(deployment) {
                let directory = root.file(String(mount.dropFirst()))
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                try #require(chmod(directory, 0o777) == 0, "chmod \(directory)")
            }
        }

        /// The SHA-256 fingerprint of the certificate served on 127.0.0.1:`port`, as a client gets it.
        static func certificate(port: Int, network: ImageNetwork) throws -> String {
            let result = try network.run(["sh", "-c", "openssl s_client -connect 127.0.0.1:\(port) </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256"])
            try #require(result.succeeded && result.stdout.contains("Fingerprint="), "\(result)")
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// The host keys sshd offers on 127.0.0.1:22, as `ssh-keyscan` (a client's known_hosts) sees them.
        static func hostKeys(network: ImageNetwork) throws -> [String] {
            let result = try network.run(["ssh-keyscan", "-p", "22", "-t", "ed25519,ecdsa,rsa", "127.0.0.1"])
            let keys = result.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init).sorted()
            try #require(keys.count == 3, "\(result)")
            return keys
        }

        @Test func nginxKeepsItsCertificateAndSSHHostKeysInANewContainer() throws {
            let network = try ImageNetwork()
            defer { network.remove() }
            let privsep = try NginxImage.PrivsepDirectory()
            defer { privsep.cleanUp() }
            let user = try ImageSystemUser(prefix: "ftssh")
            defer { user.remove() }

            func boot(_ root: Scratch) throws -> (certificate: String, hostKeys: [String]) {
                let nginx = try NginxImage.boot(root, network: network, environment: NginxImage.environment(user: user))
                defer { nginx.stop() }
                return (try Self.certificate(port: 443, network: network), try Self.hostKeys(network: network))
            }
            let first = try Scratch()
            defer { first.remove() }
            try Self.provisionVolumes(of: "nginx", in: first)
            let before = try boot(first)

            let second = try Scratch()
            defer { second.remove() }
            let mounts = try Self.carryVolumes(of: "nginx", from: first, to: second)
            let after = try boot(second)
            #expect(after.certificate == before.certificate, "a new nginx container serves another certificate (volumes: \(mounts.sorted()))")
            #expect(after.hostKeys == before.hostKeys, "a new nginx container has other SSH host keys: ssh refuses it")

            let third = try Scratch()
            defer { third.remove() }
            let fresh = try boot(third)
            #expect(fresh.certificate != before.certificate && fresh.hostKeys != before.hostKeys,
                    "without its volumes the container should have made a new identity: the comparison above proves nothing")
        }

        /// The TLS pair (identity volume), the salts (derived from the Secret's
        /// WP_AUTH_SALT_SEED) and the uploads (their own volume) of a new wordpress container.
        @Test func wordpressKeepsItsCertificateSaltsAndUploadsInANewContainer() throws {
            let network = try ImageNetwork()
            defer { network.remove() }
            let database = try ImageDatabase(network: network)
            defer { database.stop() }
            var environment = WebImages.secrets
            environment["WP_AUTH_SALT_SEED"] = #"s33d"wi\th'$pecials"#

            func boot(_ root: Scratch) throws -> (certificate: String, salts: String) {
                let wordpress = try ImageUnderTest.boot("wordpress", network: network, root: root, environment: environment,
                                                        healthyWithin: .seconds(90))
                defer { wordpress.stop() }
                return (try Self.certificate(port: 5050, network: network), try #require(root.read("var/lib/wordpress/salts.php")))
            }
            let first = try WordPressImage.preparedRoot()
            defer { first.remove() }
            try Self.provisionVolumes(of: "wordpress", in: first)
            let before = try boot(first)
            let upload = "var/www/wordpress/wp-content/uploads/2026/12/photo.jpg"
            try FileManager.default.createDirectory(atPath: first.file("var/www/wordpress/wp-content/uploads/2026/12"),
                                                    withIntermediateDirectories: true)
            _ = try first.write(upload, "a photo")

            let second = try WordPressImage.preparedRoot()
            defer { second.remove() }
            try Self.carryVolumes(of: "wordpress", from: first, to: second)
            let after = try boot(second)
            #expect(after.certificate == before.certificate, "a new wordpress container serves another certificate")
            #expect(after.salts == before.salts, "other salts: every login cookie is void after a restart")
            #expect(second.read(upload) == "a photo", "the uploaded media are lost")
            #expect(before.salts.contains("define('AUTH_KEY', '"), "\(before.salts)")

            let third = try WordPressImage.preparedRoot()
            defer { third.remove() }
            let fresh = try boot(third)
            #expect(fresh.certificate != before.certificate, "without its volume the container should have made a new pair")
        }
    }
}
