import Foundation
import Testing

/// images/nginx as a container of the stack: port 80 sends everything to https, 443 serves the
/// page with the certificate ftinit made, /wordpress is a 307 to WordPress' own service,
/// /phpmyadmin/ is a reverse proxy to the phpmyadmin container at LB_IP:5000 (its login page, a
/// real cookie login), sshd lets SSH_USER in and keeps root out, and a dead daemon ends it.
extension Integration {
    @Suite(.requires(.root, .dockerDaemon, .alpineMinirootfs, .tools(["docker", "unshare", "curl", "ssh", "sshpass", "mariadb", "python3", "kubectl"]),
                     what: "nginx container tests"))
    struct NginxStack {
        static let lbIP = Stack.lbIP

        /// `ssh` with a password (sshpass -e, the password from the environment) to the LB IP.
        static func ssh(_ user: String, password: String, command: String, options: [String] = [],
                        sourceLocation: SourceLocation = #_sourceLocation) throws -> ToolResult {
            try Stack.run(["sshpass", "-e", "ssh", "-o", "StrictHostKeyChecking=no",
                           "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "PreferredAuthentications=password",
                           "-o", "PubkeyAuthentication=no", "-o", "LogLevel=ERROR"] + options + ["-p", "22", "\(user)@\(lbIP)", command],
                          environment: ["SSHPASS": password], timeout: .seconds(30), sourceLocation: sourceLocation)
        }

        @Test func port80RedirectsToHttpsWithTheSameHostAndPath() throws {
            let nginx = try Stack.require("nginx")
            for (url, location) in [
                ("http://\(Self.lbIP)/x", "https://\(Self.lbIP)/x"),
                ("http://\(Self.lbIP)/", "https://\(Self.lbIP)/"),
                ("http://nginx/some/path?a=1&b=two%20words", "https://nginx/some/path?a=1&b=two%20words"),
                ("http://localhost/wordpress/wp-login.php?redirect_to=%2F", "https://localhost/wordpress/wp-login.php?redirect_to=%2F"),
            ] {
                // localhost: the client's own name for the server, sent to the LB IP.
                let response = try StackClients.fetch(url, trusting: "nginx", extra: ["-I", "--connect-to", "localhost:80:\(Self.lbIP):80"])
                #expect(response.status == 301, "\(url): \(response)\(nginx.report)")
                #expect(response.header("Location") == location, "\(url): \(response)")
            }
        }

        @Test func port443ServesThePageWithTheImagesCertificate() throws {
            let nginx = try Stack.require("nginx")
            let page = try String(contentsOfFile: "\(ImageFolder.path("nginx"))/www/index.html", encoding: .utf8)
            // --cacert: the certificate ftinit generated is checked against each name and the IP.
            for base in ["https://\(Self.lbIP)", "https://nginx", "https://localhost"] {
                let response = try StackClients.fetch("\(base)/", trusting: "nginx", extra: ["--connect-to", "localhost:443:\(Self.lbIP):443"])
                #expect(response.status == 200, "\(base): \(response)\(nginx.report)")
                #expect(response.header("Content-Type")?.hasPrefix("text/html") == true, "\(base): \(response)")
                #expect(response.body == page, "\(base): not images/nginx/www/index.html: \(response)")
            }
            let missing = try StackClients.fetch("https://\(Self.lbIP)/no-such-page", trusting: "nginx")
            #expect(missing.status == 404, "\(missing)")
            // A name that is not in the certificate fails verification.
            let wrongName = try Stack.run(["curl", "-sS", "--max-time", "20", "--cacert", try Stack.certificate(of: nginx),
                                           "--resolve", "not-nginx:443:\(Self.lbIP)", "https://not-nginx/"])
            #expect(wrongName.code == 60, "a name outside the certificate was accepted: \(wrongName)")
        }

        @Test func wordpressRedirectsWith307ToItsServiceKeepingPathAndQuery() throws {
            let nginx = try Stack.require("nginx")
            let wordpress = "https://\(Self.lbIP):5050"
            for (path, location) in [
                ("/wordpress", "\(wordpress)/"),
                ("/wordpress/", "\(wordpress)/"),
                ("/wordpress/wp-login.php", "\(wordpress)/wp-login.php"),
                ("/wordpress/wp-login.php?redirect_to=%2Fwp-admin%2F&reauth=1", "\(wordpress)/wp-login.php?redirect_to=%2Fwp-admin%2F&reauth=1"),
                ("/wordpress?p=1", "\(wordpress)/?p=1"),
            ] {
                // Whatever name the client used, WordPress is at LB_IP:5050.
                for host in [Self.lbIP, "nginx"] {
                    let response = try StackClients.fetch("https://\(host)\(path)", trusting: "nginx")
                    #expect(response.status == 307, "\(host)\(path): \(response)\(nginx.report)")
                    #expect(response.header("Location") == location, "\(host)\(path): \(response)")
                }
            }
            // Only /wordpress itself and what is under it.
            let other = try StackClients.fetch("https://\(Self.lbIP)/wordpressx", trusting: "nginx")
            #expect(other.status == 404, "\(other)")
            // /phpmyadmin without its slash: to the proxied location, query kept.
            let phpmyadmin = try StackClients.fetch("https://\(Self.lbIP)/phpmyadmin?x=1", trusting: "nginx")
            #expect(phpmyadmin.status == 301, "\(phpmyadmin)")
            #expect(["/phpmyadmin/?x=1", "https://\(Self.lbIP)/phpmyadmin/?x=1"].contains(phpmyadmin.header("Location") ?? ""),
                    "\(phpmyadmin)")
        }

        @Test func phpMyAdminsLoginPageLoadsThroughTheProxy() throws {
            let phpmyadmin = try Stack.require("phpmyadmin")
            let nginx = try Stack.require("nginx")
            // nginx's certificate (--cacert), phpMyAdmin's page.
            let page = try StackClients.fetch("https://\(Self.lbIP)/phpmyadmin/", trusting: "nginx")
            PhpMyAdminStack.expectLoginPage(page, nginx.report + phpmyadmin.report)
            // Its session cookie is scoped to the proxied path, so the browser sends it back there.
            let session = page.header("Set-Cookie", startingWith: "phpMyAdmin_https=")
            #expect(session?.contains("path=/phpmyadmin/") == true, "session cookie not under /phpmyadmin/: \(page)")
            #expect(session?.contains("; secure") == true, "session cookie not Secure: \(page)")

            // The page's own stylesheets and scripts load through the proxy too.
            let assets = page.body.matches(of: /<(?:link[^>]*href|script[^>]*src)="([^"?]+\.(?:css|js))(?:\?[^"]*)?"/)
                .map { String($0.output.1) }
            #expect(!assets.isEmpty, "no stylesheet or script on the login page: \(page)")
            for asset in assets.prefix(4) {
                let url = asset.hasPrefix("/") ? "https://\(Self.lbIP)\(asset)" : "https://\(Self.lbIP)/phpmyadmin/\(asset)"
                let response = try StackClients.fetch(url, trusting: "nginx", extra: ["-o", "/dev/null", "-D", "-"])
                #expect(response.status == 200, "\(asset) from the login page: \(response)")
            }
        }

        @Test func theWordPressDatabaseUserLogsIntoPhpMyAdminThroughTheProxy() throws {
            let phpmyadmin = try Stack.require("phpmyadmin")
            let nginx = try Stack.require("nginx")
            // Then the rows of a table only the WordPress user's session can read.
            _ = try StackClients.query("CREATE TABLE IF NOT EXISTS nginx_proxy_probe (id INT PRIMARY KEY); INSERT IGNORE INTO nginx_proxy_probe VALUES (1)")
            let cacert = try Stack.certificate(of: nginx)
            func cookieLogin(_ password: String) throws -> ToolResult {
                try Stack.run(["python3", StackClients.client("pma_login.py"), "https://\(Self.lbIP)/phpmyadmin/", Stack.secret("WP_DB_USER"),
                               "--cacert", cacert, "--db", Stack.secret("WP_DB_NAME"), "--table", "nginx_proxy_probe"],
                              environment: ["PMA_PASSWORD": password], timeout: .seconds(60))
            }
            let login = try cookieLogin(Stack.secret("WP_DB_PASSWORD"))
            #expect(login.succeeded, "\(login)\(nginx.report)\(phpmyadmin.report)")
            #expect(login.stdout.contains("OK: login as \(Stack.secret("WP_DB_USER")), then \(Stack.secret("WP_DB_NAME")).nginx_proxy_probe: 1 rows"),
                    "\(login)")
            // Every URL the client followed stayed under the proxy's /phpmyadmin/.
            let visited = login.stdout.matches(of: /(?:GET|POST) (\S+) ->/).map { String($0.output.1) }
            #expect(visited.count >= 3 && visited.allSatisfy { $0.hasPrefix("https://\(Self.lbIP)/phpmyadmin/") },
                    "left the proxied path: \(visited)\n\(login)")

            let wrong = try cookieLogin("not-the-password")
            #expect(wrong.code == 1 && wrong.stdout.contains("login refused"), "a wrong password: \(wrong)")
        }

        @Test func sshUserLogsInWithItsPasswordAndRunsACommand() throws {
            let nginx = try Stack.require("nginx")
            let user = Stack.secret("SSH_USER")
            let session = try Self.ssh(user, password: Stack.secret("SSH_PASSWORD"), command: #"echo ok; id -un; echo "$HOME""#)
            #expect(session.succeeded, "\(session)\(nginx.report)")
            #expect(session.stdout == "ok\n\(user)\n/home/\(user)\n", "\(session)")

            let wrong = try Self.ssh(user, password: "not-the-password", command: "echo ok")
            #expect(wrong.code == 5 || wrong.code == 255, "a wrong password: \(wrong)")
            #expect(!wrong.stdout.contains("ok"), "\(wrong)")
        }

        /// Issue 17: the SSH account is a shell, not a relay, and sshd offers no SHA-1 or 64-bit MAC.
        @Test func sshForwardsNothingAndOffersNoWeakMAC() throws {
            let nginx = try Stack.require("nginx")
            let user = Stack.secret("SSH_USER"), password = Stack.secret("SSH_PASSWORD")
            let remote = try Self.ssh(user, password: password, command: "echo ok",
                                      options: ["-o", "ExitOnForwardFailure=yes", "-R", "0:127.0.0.1:80"])
            #expect(!remote.succeeded && remote.stderr.contains("remote port forwarding failed"), "\(remote)")
            // A MAC is negotiated only with a cipher that has none of its own (CTR, not AEAD).
            let weak = try Self.ssh(user, password: password, command: "echo ok",
                                    options: ["-o", "Ciphers=aes128-ctr", "-o", "MACs=hmac-sha1,umac-64@openssh.com"])
            #expect(!weak.succeeded, "\(weak)")
            // The client is quiet at LogLevel=ERROR; sshd logs why.
            let refused = DockerHost.eventually(.seconds(5)) { (nginx.logs + nginx.serviceOutput).contains("no matching MAC found") }
            #expect(refused, "sshd did not log the MAC refusal\(nginx.report)")
            // What sshd itself made of its config (sshd -T: the effective values).
            let effective = try nginx.exec(["/usr/sbin/sshd", "-T", "-f", "/etc/ssh/sshd_config"])
            try #require(effective.succeeded, "\(effective)")
            for line in ["maxauthtries 3", "allowtcpforwarding no", "allowagentforwarding no", "allowstreamlocalforwarding no",
                         "permittunnel no", "gatewayports no", "permituserenvironment no", "x11forwarding no"] {
                #expect(effective.stdout.split(separator: "\n").contains(Substring(line)), "\(line): \(effective.stdout)")
            }
            let macs = effective.stdout.split(separator: "\n").first { $0.hasPrefix("macs ") } ?? ""
            #expect(!macs.isEmpty && !macs.contains("sha1") && !macs.contains("umac-64"), "\(macs)")
        }

        @Test func rootCannotLogInOverSSH() throws {
            let nginx = try Stack.require("nginx")
            // Root's password is not known here: the refusal must come from sshd's policy, as its
            // own log line says, not from a wrong password.
            let attempt = try Self.ssh("root", password: Stack.secret("SSH_PASSWORD"), command: "echo ok")
            #expect(!attempt.succeeded && !attempt.stdout.contains("ok"), "root logged in: \(attempt)\(nginx.report)")
            let refusedByPolicy = DockerHost.eventually(.seconds(5)) {
                (nginx.logs + nginx.serviceOutput).contains(/User root from \S+ not allowed/)
            }
            #expect(refusedByPolicy, "sshd did not log that root is not allowed\(nginx.report)")
            // OpenSSH 9.8 and later (Alpine 3.22: 10.0) penalise a client address after failed
            // logins; behind the LoadBalancer every client has the node's address, so it is off.
            let config = try nginx.exec(["cat", "/etc/ssh/sshd_config"]).stdout
            #expect(config.contains("\nPermitRootLogin no\n"), "\(config)")
            #expect(config.contains("\nAllowUsers \(Stack.secret("SSH_USER"))\n"), "\(config)")
            #expect(config.contains("\nPerSourcePenalties no\n"), "\(config)")
        }

        @Test func withNeitherPasswordNorKeysTheContainerRefusesToStart() throws {
            let nginx = try Stack.startExtra("ft-test-nginx-no-credential", image: "nginx",
                                             environment: Stack.environment(of: "nginx").filter { $0.key != "SSH_PASSWORD" })
            defer { nginx.remove() }
            #expect(DockerHost.eventually(.seconds(30)) { (try? DockerHost.inspect(nginx.name, "{{.State.Running}}")) == "false" },
                    "\(nginx.report)")
            let code = try DockerHost.inspect(nginx.name, "{{.State.ExitCode}}")
            #expect(code != "0", "\(nginx.report)")
            #expect((nginx.logs + nginx.serviceOutput).contains("set SSH_PASSWORD or SSH_AUTHORIZED_KEYS"), "\(nginx.report)")
            let scratch = try Scratch()
            defer { scratch.remove() }
            let copied = try DockerHost.run(["cp", "\(nginx.name):/etc/passwd", scratch.file("passwd")])
            try #require(copied.succeeded, "\(copied)")
            #expect(!(scratch.read("passwd") ?? "").contains("\nft:"), "a user was created without any credential")
        }

        @Test func killingEachDaemonEndsTheContainer() throws {
            let nginx = try Stack.startExtra("ft-test-nginx-faults", image: "nginx", environment: Stack.environment(of: "nginx"))
            defer { nginx.remove() }
            try nginx.waitHealthy(within: .seconds(60))
            try nginx.expectEachKilledServiceEndsIt()
        }
    }
}
