import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A login that an image's own task creates in this machine's /etc/passwd (nginx's ssh-user.sh,
/// ftps' ftp-user.sh run `useradd` on Debian, with the home under FT_ROOT): a fresh name per test,
/// never one that exists already, deleted afterwards. `remove()` in a `defer` that runs after the
/// image is stopped (no process of the user left) and before FT_ROOT is removed.
struct ImageSystemUser {
    let name: String

    init(prefix: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        name = prefix + String((0..<8).map { _ in letters.randomElement()! })
        try #require(getpwnam(name) == nil, "user \(name) exists already", sourceLocation: sourceLocation)
    }

    /// `userdel -r`: the user, its group and its home. userdel exits 12 when the home is gone
    /// already (FT_ROOT removed first): what matters is that the user is gone.
    func remove(sourceLocation: SourceLocation = #_sourceLocation) {
        guard getpwnam(name) != nil else { return }
        let result = try? Tool.run(["userdel", "-r", name], timeout: .seconds(30), sourceLocation: sourceLocation)
        if getpwnam(name) != nil {
            Issue.record("could not delete the test user \(name): \(result.map(\.description) ?? "userdel did not run")",
                         sourceLocation: sourceLocation)
        }
    }
}

/// images/nginx run with Debian's nginx and OpenSSH: port 80 sends everything to https, 443
/// serves the page with the image's certificate, /wordpress is a 307 to WordPress' own service,
/// /phpmyadmin/ is a reverse proxy to the phpmyadmin image (its login page, a real cookie login),
/// sshd lets SSH_USER in and keeps root out, and a dead daemon ends the image.
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(["ip", "unshare", "nginx", "sshd", "ssh-keygen", "ssh", "sshpass", "useradd",
                                                   "userdel", "chpasswd", "curl", "python3", "mariadbd", "mariadb",
                                                   "mariadb-install-db", "php-fpm8.2"]),
                     what: "nginx image tests"))
    struct NginxImage {
        static var lbIP: String { WebImages.secret("LB_IP") }
        /// Quotes, a space, `$` and a backslash: ssh-user.sh must hand it to chpasswd unchanged.
        static let sshPassword = #"ss"h p\a'ss$1"#

        static func environment(user: ImageSystemUser) -> [String: String] {
            ["LB_IP": lbIP, "SSH_USER": user.name, "SSH_PASSWORD": sshPassword]
        }

        /// sshd's privilege separation directory (Debian: /run/sshd, from debian.env), which the
        /// image's sshd-privsep task makes on this machine: removed afterwards only when the test
        /// made it (an installed openssh-server may own it).
        struct PrivsepDirectory {
            let path: String
            let existedBefore: Bool

            init() throws {
                path = try #require(ImageUnderTest.debianEnvironment("nginx")["SSHD_PRIVSEP_DIR"], "debian.env: no SSHD_PRIVSEP_DIR")
                existedBefore = access(path, F_OK) == 0
            }

            func cleanUp() {
                if !existedBefore { rmdir(path) }
            }
        }

        static func boot(_ root: Scratch, network: ImageNetwork, environment: [String: String],
                         sourceLocation: SourceLocation = #_sourceLocation) throws -> FTInit {
            try ImageUnderTest.boot("nginx", network: network, root: root, environment: environment, sourceLocation: sourceLocation)
        }

        /// `ssh` with a password (sshpass -e, the password from the environment) inside the network.
        static func ssh(_ user: String, password: String, command: String, network: ImageNetwork,
                        sourceLocation: SourceLocation = #_sourceLocation) throws -> ToolResult {
            try network.run(["sshpass", "-e", "ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                             "-o", "ConnectTimeout=10", "-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no",
                             "-o", "LogLevel=ERROR", "-p", "22", "\(user)@127.0.0.1", command],
                            environment: ["SSHPASS": password], timeout: .seconds(30), sourceLocation: sourceLocation)
        }

        @Test func port80RedirectsToHttpsWithTheSameHostAndPath() throws {
            try Self.withNginx { network, root, user, nginx in
                for (url, location) in [
                    ("http://127.0.0.1/x", "https://127.0.0.1/x"),
                    ("http://127.0.0.1/", "https://127.0.0.1/"),
                    ("http://nginx/some/path?a=1&b=two%20words", "https://nginx/some/path?a=1&b=two%20words"),
                    ("http://localhost/wordpress/wp-login.php?redirect_to=%2F", "https://localhost/wordpress/wp-login.php?redirect_to=%2F"),
                ] {
                    let response = try HTTPResponse.fetch(url, root: root, network: network, extra: ["-I"])
                    #expect(response.status == 301, "\(url): \(response)\(nginx.report)")
                    #expect(response.header("Location") == location, "\(url): \(response)")
                }
            }
        }

        @Test func port443ServesThePageWithTheImagesCertificate() throws {
            try Self.withNginx { network, root, user, nginx in
                let page = try String(contentsOfFile: "\(ImageUnderTest.folder("nginx"))/www/index.html", encoding: .utf8)
                // --cacert: the certificate ftinit generated is checked against each name and the IP.
                for base in ["https://127.0.0.1", "https://nginx", "https://localhost"] {
                    let response = try HTTPResponse.fetch("\(base)/", root: root, network: network)
                    #expect(response.status == 200, "\(base): \(response)\(nginx.report)")
                    #expect(response.header("Content-Type")?.hasPrefix("text/html") == true, "\(base): \(response)")
                    #expect(response.body == page, "\(base): not images/nginx/www/index.html: \(response)")
                }
                let missing = try HTTPResponse.fetch("https://127.0.0.1/no-such-page", root: root, network: network)
                #expect(missing.status == 404, "\(missing)")
                // A name that is not in the certificate fails verification.
                let wrongName = try network.run(["curl", "-sS", "--max-time", "20", "--cacert", root.file("etc/ssl/ft/tls/cert.pem"),
                                                 "--resolve", "not-nginx:443:127.0.0.1", "https://not-nginx/"])
                #expect(wrongName.code == 60, "a name outside the certificate was accepted: \(wrongName)")
            }
        }

        @Test func wordpressRedirectsWith307ToItsServiceKeepingPathAndQuery() throws {
            try Self.withNginx { network, root, user, nginx in
                let wordpress = "https://\(Self.lbIP):5050"
                for (path, location) in [
                    ("/wordpress", "\(wordpress)/"),
                    ("/wordpress/", "\(wordpress)/"),
                    ("/wordpress/wp-login.php", "\(wordpress)/wp-login.php"),
                    ("/wordpress/wp-login.php?redirect_to=%2Fwp-admin%2F&reauth=1", "\(wordpress)/wp-login.php?redirect_to=%2Fwp-admin%2F&reauth=1"),
                    ("/wordpress?p=1", "\(wordpress)/?p=1"),
                ] {
                    // Whatever name the client used, WordPress is at LB_IP:5050.
                    for host in ["127.0.0.1", "nginx"] {
                        let response = try HTTPResponse.fetch("https://\(host)\(path)", root: root, network: network)
                        #expect(response.status == 307, "\(host)\(path): \(response)\(nginx.report)")
                        #expect(response.header("Location") == location, "\(host)\(path): \(response)")
                    }
                }
                // Only /wordpress itself and what is under it.
                let other = try HTTPResponse.fetch("https://127.0.0.1/wordpressx", root: root, network: network)
                #expect(other.status == 404, "\(other)")
                // /phpmyadmin without its slash: to the proxied location, query kept.
                let phpmyadmin = try HTTPResponse.fetch("https://127.0.0.1/phpmyadmin?x=1", root: root, network: network)
                #expect(phpmyadmin.status == 301, "\(phpmyadmin)")
                #expect(["/phpmyadmin/?x=1", "https://127.0.0.1/phpmyadmin/?x=1"].contains(phpmyadmin.header("Location") ?? ""),
                        "\(phpmyadmin)")
            }
        }

        /// The phpmyadmin image (with its FT_ROOT) running in `network`, behind this nginx.
        static func phpMyAdmin(network: ImageNetwork) throws -> (root: Scratch, ftinit: FTInit) {
            let root = try PhpMyAdminImage.preparedRoot()
            do {
                return (root, try PhpMyAdminImage.boot(root, network: network))
            } catch {
                root.remove()
                throw error
            }
        }

        /// The nginx image booted with a fresh SSH user, in `network` or a network of its own,
        /// torn down after `body`.
        static func withNginx(
            in network: ImageNetwork? = nil,
            _ body: (_ network: ImageNetwork, _ root: Scratch, _ user: ImageSystemUser, _ nginx: FTInit) throws -> Void
        ) throws {
            let owned = network == nil ? try ImageNetwork() : nil
            defer { owned?.remove() }
            let network = try #require(network ?? owned)
            let root = try Scratch()
            defer { root.remove() }
            let privsep = try PrivsepDirectory()
            defer { privsep.cleanUp() }
            let user = try ImageSystemUser(prefix: "ftssh")
            defer { user.remove() }
            let nginx = try Self.boot(root, network: network, environment: Self.environment(user: user))
            defer { nginx.stop() }
            try body(network, root, user, nginx)
        }

        /// The mysql, phpmyadmin and nginx images side by side in one network, as in the cluster;
        /// `prepare` runs once the database is up, before phpMyAdmin and nginx start.
        static func withProxyStack(
            prepare: (ImageDatabase) throws -> Void = { _ in },
            _ body: (_ network: ImageNetwork, _ root: Scratch, _ nginx: FTInit, _ phpmyadmin: FTInit) throws -> Void
        ) throws {
            let network = try ImageNetwork()
            defer { network.remove() }
            let database = try ImageDatabase(network: network)
            defer { database.stop() }
            try prepare(database)
            let (pmaRoot, phpmyadmin) = try Self.phpMyAdmin(network: network)
            defer { pmaRoot.remove() }
            defer { phpmyadmin.stop() }
            try Self.withNginx(in: network) { network, root, _, nginx in try body(network, root, nginx, phpmyadmin) }
        }

        @Test func phpMyAdminsLoginPageLoadsThroughTheProxy() throws {
            try Self.withProxyStack { network, root, nginx, phpmyadmin in
                // nginx's certificate (--cacert), phpMyAdmin's page.
                let page = try HTTPResponse.fetch("https://127.0.0.1/phpmyadmin/", root: root, network: network)
                #expect(page.status == 200, "\(page)\(nginx.report)\(phpmyadmin.report)")
                #expect(page.body.contains("<title>phpMyAdmin</title>"), "\(page)")
                for marker in [#"id="login_form""#, #"name="pma_username""#, #"name="pma_password""#, #"name="token""#] {
                    #expect(page.body.contains(marker), "the login page has no \(marker): \(page)")
                }
                // Its session cookie is scoped to the proxied path, so the browser sends it back there.
                let session = page.header("Set-Cookie", startingWith: "phpMyAdmin_https=")
                #expect(session?.contains("path=/phpmyadmin/") == true, "session cookie not under /phpmyadmin/: \(page)")
                #expect(session?.contains("; secure") == true, "session cookie not Secure: \(page)")

                // The page's own stylesheets and scripts load through the proxy too.
                let assets = page.body.matches(of: /<(?:link[^>]*href|script[^>]*src)="([^"?]+\.(?:css|js))(?:\?[^"]*)?"/)
                    .map { String($0.output.1) }
                #expect(!assets.isEmpty, "no stylesheet or script on the login page: \(page)")
                for asset in assets.prefix(4) {
                    let url = asset.hasPrefix("/") ? "https://127.0.0.1\(asset)" : "https://127.0.0.1/phpmyadmin/\(asset)"
                    let response = try HTTPResponse.fetch(url, root: root, network: network, extra: ["-o", "/dev/null", "-D", "-"])
                    #expect(response.status == 200, "\(asset) from the login page: \(response)")
                }
            }
        }

        @Test func theWordPressDatabaseUserLogsIntoPhpMyAdminThroughTheProxy() throws {
            // A table only the WordPress user's session can list.
            try Self.withProxyStack(prepare: { _ = try $0.query("CREATE TABLE nginx_proxy_probe (id INT PRIMARY KEY)") }) {
                network, root, nginx, phpmyadmin in

                func cookieLogin(_ password: String) throws -> ToolResult {
                    try network.run(["python3", WebImages.client("pma_login.py"), "https://127.0.0.1/phpmyadmin/",
                                     WebImages.secret("WP_DB_USER"), password, "--cacert", root.file("etc/ssl/ft/tls/cert.pem"),
                                     "--db", WebImages.secret("WP_DB_NAME"), "--expect-table", "nginx_proxy_probe"],
                                    timeout: .seconds(60))
                }
                let login = try cookieLogin(WebImages.secret("WP_DB_PASSWORD"))
                #expect(login.succeeded, "\(login)\(nginx.report)\(phpmyadmin.report)")
                #expect(login.stdout.contains("OK: logged in as \(WebImages.secret("WP_DB_USER"))"), "\(login)")
                // Every URL the client followed stayed under the proxy's /phpmyadmin/.
                let visited = login.stdout.matches(of: /(?:GET|POST) (\S+) ->/).map { String($0.output.1) }
                #expect(visited.count >= 3 && visited.allSatisfy { $0.hasPrefix("https://127.0.0.1/phpmyadmin/") },
                        "left the proxied path: \(visited)\n\(login)")

                let wrong = try cookieLogin("not-the-password")
                #expect(wrong.code == 1 && wrong.stdout.contains("login refused"), "a wrong password: \(wrong)")
            }
        }

        @Test func sshUserLogsInWithItsPasswordAndRunsACommand() throws {
            try Self.withNginx { network, root, user, nginx in
                let session = try Self.ssh(user.name, password: Self.sshPassword, command: #"echo ok; id -un; echo "$HOME""#,
                                           network: network)
                #expect(session.succeeded, "\(session)\(nginx.report)")
                #expect(session.stdout == "ok\n\(user.name)\n\(root.file("home/\(user.name)"))\n", "\(session)")

                let wrong = try Self.ssh(user.name, password: "not-the-password", command: "echo ok", network: network)
                #expect(wrong.code == 5 || wrong.code == 255, "a wrong password: \(wrong)")
                #expect(!wrong.stdout.contains("ok"), "\(wrong)")
            }
        }

        @Test func rootCannotLogInOverSSH() throws {
            try Self.withNginx { network, root, user, nginx in
                // Root's password is not known here: the refusal must come from sshd's policy, as its
                // own log line says, not from a wrong password.
                let attempt = try Self.ssh("root", password: Self.sshPassword, command: "echo ok", network: network)
                #expect(!attempt.succeeded && !attempt.stdout.contains("ok"), "root logged in: \(attempt)\(nginx.report)")
                let refusedByPolicy = Poll.until(timeout: .seconds(5)) {
                    (nginx.stdout.text + nginx.stderr.text).contains("User root from 127.0.0.1 not allowed")
                }
                #expect(refusedByPolicy, "sshd did not log that root is not allowed\(nginx.report)")
                let config = try #require(root.read("etc/ssh/sshd_config"))
                #expect(config.contains("\nPermitRootLogin no\n"), "\(config)")
                #expect(config.contains("\nAllowUsers \(user.name)\n"), "\(config)")
            }
        }

        @Test func withNeitherPasswordNorKeysTheImageRefusesToStart() throws {
            let network = try ImageNetwork()
            defer { network.remove() }
            let root = try Scratch()
            defer { root.remove() }
            let privsep = try PrivsepDirectory()
            defer { privsep.cleanUp() }
            let user = try ImageSystemUser(prefix: "ftssh")
            defer { user.remove() }
            let nginx = try ImageUnderTest.launch("nginx", network: network, root: root,
                                                  environment: ["LB_IP": Self.lbIP, "SSH_USER": user.name])
            defer { nginx.stop() }

            let code = try nginx.exitCode(timeout: .seconds(30))
            #expect(code != 0, "\(nginx.report)")
            #expect(nginx.stderr.text.contains("set SSH_PASSWORD or SSH_AUTHORIZED_KEYS"), "\(nginx.report)")
            #expect(getpwnam(user.name) == nil, "a user was created without any credential")
        }

        /// OpenSSH 9.8 and later (Alpine 3.22: 10.0) penalise a client address after failed logins;
        /// behind the LoadBalancer every client has the node's address, so the image turns that
        /// off. The image's own template, rendered by ftinit: with the Alpine defaults the line is
        /// live, and this machine's older sshd refuses that one keyword and nothing else; with
        /// debian.env (what the other tests' sshd runs with) only that line is commented out.
        @Test func sshdConfigTurnsPerSourcePenaltiesOffOnAlpine() throws {
            let root = try Scratch()
            defer { root.remove() }
            func render(_ name: String, _ environment: [String: String]) throws -> String {
                let config = try root.write("\(name).conf", """
                    [init]
                    socket = \(root.file("\(name).sock"))

                    [template \(root.file(name))]
                    source = \(ImageUnderTest.folder("nginx"))/sshd_config.tmpl

                    [task rendered]
                    run = /bin/true
                    """)
                var env = environment
                env["FT_ROOT"] = root.file("\(name)-root")
                env["SSH_USER"] = "ft"
                let result = try Tool.ftinit(["run", "--config", config], environment: env)
                try #require(result.succeeded, "\(result)")
                return try #require(root.read(name))
            }

            let alpine = try render("alpine", [:])
            let live = alpine.split(separator: "\n").filter { $0.hasPrefix("PerSourcePenalties") }
            #expect(live == ["PerSourcePenalties no"], "\(alpine)")
            let refused = try Tool.run(["sshd", "-t", "-f", root.file("alpine")])
            let complaints = (refused.stdout + refused.stderr).split(separator: "\n").filter { $0.contains("Bad configuration option") }
            if refused.succeeded {
                Issue.record("this sshd knows PerSourcePenalties: SSHD_PENALTIES_PREFIX in images/nginx/debian.env is no longer needed")
            } else {
                #expect(complaints.count == 1 && complaints.allSatisfy { $0.contains("Bad configuration option: PerSourcePenalties") },
                        "\(refused)")
            }

            let debian = try render("debian", try ImageUnderTest.debianEnvironment("nginx"))
            #expect(!debian.split(separator: "\n").contains { $0.hasPrefix("PerSourcePenalties") }, "\(debian)")
            #expect(debian == alpine.replacingOccurrences(of: "\nPerSourcePenalties no\n", with: "\n#PerSourcePenalties no\n")
                        .replacingOccurrences(of: root.file("alpine-root"), with: root.file("debian-root")),
                    "the Debian rendering differs by more than the commented-out line:\n\(alpine)\n---\n\(debian)")
        }

        @Test func killingEachDaemonEndsTheImage() throws {
            let network = try ImageNetwork()
            defer { network.remove() }
            let privsep = try PrivsepDirectory()
            defer { privsep.cleanUp() }
            let user = try ImageSystemUser(prefix: "ftssh")
            defer { user.remove() }
            try ImageFaults.expectEachKilledServiceEndsTheImage("nginx", network: network, environment: Self.environment(user: user))
        }
    }
}
