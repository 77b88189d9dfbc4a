import Foundation
import Testing

/// images/phpmyadmin as a container of the stack: the login page over TLS on 5000, a real
/// cookie login as the WordPress DB user against the stack's mysql, and a dead daemon ends it.
extension Integration {
    @Suite(.requires(.root, .dockerDaemon, .alpineMinirootfs, .tools(["docker", "unshare", "curl", "mariadb", "python3", "kubectl"]),
                     what: "phpmyadmin container tests"))
    struct PhpMyAdminStack {
        static let site = "https://phpmyadmin:5000"

        /// Clients/pma_login.py (scripts/check's login), verifying the certificate of phpmyadmin;
        /// the password through its environment.
        static func cookieLogin(_ user: String, _ password: String, extra: [String] = [],
                                sourceLocation: SourceLocation = #_sourceLocation) throws -> ToolResult {
            let cacert = try Stack.certificate(of: Stack.container("phpmyadmin"), sourceLocation: sourceLocation)
            return try Stack.run(["python3", StackClients.client("pma_login.py"), "\(site)/", user, "--cacert", cacert] + extra,
                                 environment: ["PMA_PASSWORD": password], timeout: .seconds(60), sourceLocation: sourceLocation)
        }

        /// phpMyAdmin's login page: 200, its title and the form's fields.
        static func expectLoginPage(_ page: HTTPResponse, _ report: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(page.status == 200, "\(page)\(report)", sourceLocation: sourceLocation)
            #expect(page.body.contains("<title>phpMyAdmin</title>"), "\(page)", sourceLocation: sourceLocation)
            for marker in [#"id="login_form""#, #"name="pma_username""#, #"name="pma_password""#, #"name="token""#] {
                #expect(page.body.contains(marker), "the login page has no \(marker): \(page)", sourceLocation: sourceLocation)
            }
        }

        @Test func theLoginPageLoadsOverTLSOn5000() throws {
            let phpmyadmin = try Stack.require("phpmyadmin")
            // The certificate is checked (--cacert): the name phpmyadmin and LB_IP are both SANs.
            for base in [Self.site, "https://\(Stack.lbIP):5000"] {
                let page = try StackClients.fetch("\(base)/", trusting: "phpmyadmin")
                Self.expectLoginPage(page, phpmyadmin.report)
                // The session cookie of an HTTPS request: its own name, Secure.
                let session = page.header("Set-Cookie", startingWith: "phpMyAdmin_https=")
                #expect(session?.contains("; secure") == true, "no secure session cookie: \(page)")
            }
            // Its assets load (the copy is complete), its code and setup script do not.
            let favicon = try StackClients.fetch("\(Self.site)/favicon.ico", trusting: "phpmyadmin")
            #expect(favicon.status == 200, "\(favicon)")
            for path in ["/setup/", "/libraries/config.default.php", "/config.inc.php.swp", "/.htaccess"] {
                let denied = try StackClients.fetch("\(Self.site)\(path)", trusting: "phpmyadmin")
                #expect([403, 404].contains(denied.status), "\(path) is served: \(denied)")
            }
        }

        @Test func theWordPressDatabaseUserLogsInWithACookie() throws {
            let phpmyadmin = try Stack.require("phpmyadmin")
            // mariadb-install-db --skip-test-db makes no anonymous accounts (and the bootstrap
            // drops them): none can shadow wpuser@'%' for logins from the same host.
            let anonymous = try StackClients.query("SELECT COUNT(*) FROM mysql.global_priv WHERE User = ''", asRoot: true)
            #expect(anonymous == "0", "anonymous accounts: \(anonymous)")
            // The rows of a table only the WordPress user's session can read.
            _ = try StackClients.query("CREATE TABLE IF NOT EXISTS pma_probe (id INT PRIMARY KEY); INSERT IGNORE INTO pma_probe VALUES (1)")
            let login = try Self.cookieLogin(Stack.secret("WP_DB_USER"), Stack.secret("WP_DB_PASSWORD"),
                                             extra: ["--db", Stack.secret("WP_DB_NAME"), "--table", "pma_probe"])
            #expect(login.succeeded, "\(login)\(phpmyadmin.report)")
            #expect(login.stdout.contains("OK: login as \(Stack.secret("WP_DB_USER")), then \(Stack.secret("WP_DB_NAME")).pma_probe: 1 rows"), "\(login)")

            let wrong = try Self.cookieLogin(Stack.secret("WP_DB_USER"), "not-the-password")
            #expect(wrong.code == 1 && wrong.stdout.contains("login refused"), "a wrong password: \(wrong)")
            // Issue 17: no root through phpMyAdmin (AllowRoot = false), even with root's password.
            let root = try Self.cookieLogin("root", Stack.secret("MYSQL_ROOT_PASSWORD"))
            #expect(root.code == 1 && root.stdout.contains("login refused"), "root logged in: \(root)")
        }

        @Test func killingEachDaemonEndsTheContainer() throws {
            let phpmyadmin = try Stack.startExtra("ft-test-pma-faults", image: "phpmyadmin", environment: Stack.environment(of: "phpmyadmin"))
            defer { phpmyadmin.remove() }
            try phpmyadmin.waitHealthy(within: .seconds(60))
            try phpmyadmin.expectEachKilledServiceEndsIt()
        }
    }
}
