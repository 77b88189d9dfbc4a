import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// images/phpmyadmin run with Debian's nginx, php-fpm and phpMyAdmin (in Alpine's layout): the
/// login page over TLS on 5000, a real cookie login as the WordPress DB user against
/// images/mysql in the same network, and a dead daemon ends the image.
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(["ip", "unshare", "mariadbd", "mariadb", "mariadb-install-db", "php-fpm8.2",
                                                   "nginx", "curl", "python3"]),
                     what: "phpmyadmin image tests"))
    struct PhpMyAdminImage {
        static let site = "https://phpmyadmin:5000"

        /// A fresh FT_ROOT with phpMyAdmin's code in it.
        static func preparedRoot() throws -> Scratch {
            let root = try Scratch()
            do { try WebImages.preparePhpMyAdmin(root) } catch { root.remove(); throw error }
            return root
        }

        static func boot(_ root: Scratch, network: ImageNetwork, sourceLocation: SourceLocation = #_sourceLocation) throws -> FTInit {
            try ImageUnderTest.boot("phpmyadmin", network: network, root: root, environment: WebImages.secrets, sourceLocation: sourceLocation)
        }

        /// Clients/pma_login.py inside the network, verifying the image's certificate.
        static func cookieLogin(_ user: String, _ password: String, root: Scratch, network: ImageNetwork,
                                extra: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> ToolResult {
            try network.run(["python3", WebImages.client("pma_login.py"), "\(site)/", user, password,
                             "--cacert", root.file("etc/ssl/ft/tls/cert.pem")] + extra,
                            timeout: .seconds(60), sourceLocation: sourceLocation)
        }

        @Test func theLoginPageLoadsOverTLSOn5000() throws {
            let network = try ImageNetwork()
            defer { network.remove() }
            let root = try Self.preparedRoot()
            defer { root.remove() }
            // No database: phpMyAdmin serves its login page without one.
            let phpmyadmin = try Self.boot(root, network: network)
            defer { phpmyadmin.stop() }

            // The certificate is checked (--cacert): the name phpmyadmin and LB_IP are both SANs.
            for base in [Self.site, "https://127.0.0.1:5000"] {
                let page = try HTTPResponse.fetch("\(base)/", root: root, network: network)
                #expect(page.status == 200, "\(page)\(phpmyadmin.report)")
                #expect(page.body.contains("<title>phpMyAdmin</title>"), "\(page)")
                for marker in [#"id="login_form""#, #"name="pma_username""#, #"name="pma_password""#, #"name="token""#] {
                    #expect(page.body.contains(marker), "the login page has no \(marker): \(page)")
                }
                // The session cookie of an HTTPS request: its own name, Secure.
                let session = page.header("Set-Cookie", startingWith: "phpMyAdmin_https=")
                #expect(session?.contains("; secure") == true, "no secure session cookie: \(page)")
            }
            // Its assets load (the copy is complete), its code and setup script do not.
            let favicon = try HTTPResponse.fetch("\(Self.site)/favicon.ico", root: root, network: network)
            #expect(favicon.status == 200, "\(favicon)")
            for path in ["/setup/", "/libraries/config.default.php", "/config.inc.php.swp", "/.htaccess"] {
                let denied = try HTTPResponse.fetch("\(Self.site)\(path)", root: root, network: network)
                #expect([403, 404].contains(denied.status), "\(path) is served: \(denied)")
            }
        }

        @Test func theWordPressDatabaseUserLogsInWithACookie() throws {
            let network = try ImageNetwork()
            defer { network.remove() }
            let database = try ImageDatabase(network: network)
            defer { database.stop() }
            // mariadb-install-db --skip-test-db makes no anonymous accounts (and the bootstrap
            // drops them): none can shadow wpuser@'%' for logins from the same host.
            let anonymous = try database.query("SELECT COUNT(*) FROM mysql.global_priv WHERE User = ''", asRoot: true)
            #expect(anonymous == "0", "anonymous accounts: \(anonymous)")
            // A table only the WordPress user's session can list.
            _ = try database.query("CREATE TABLE pma_probe (id INT PRIMARY KEY)")

            let root = try Self.preparedRoot()
            defer { root.remove() }
            let phpmyadmin = try Self.boot(root, network: network)
            defer { phpmyadmin.stop() }

            let login = try Self.cookieLogin(WebImages.secret("WP_DB_USER"), WebImages.secret("WP_DB_PASSWORD"), root: root,
                                             network: network,
                                             extra: ["--db", WebImages.secret("WP_DB_NAME"), "--expect-table", "pma_probe"])
            #expect(login.succeeded, "\(login)\(phpmyadmin.report)")
            #expect(login.stdout.contains("OK: logged in as \(WebImages.secret("WP_DB_USER"))"), "\(login)")

            let wrong = try Self.cookieLogin(WebImages.secret("WP_DB_USER"), "not-the-password", root: root, network: network)
            #expect(wrong.code == 1 && wrong.stdout.contains("login refused"), "a wrong password: \(wrong)")
        }

        @Test func killingEachDaemonEndsTheImage() throws {
            let network = try ImageNetwork()
            defer { network.remove() }
            try ImageFaults.expectEachKilledServiceEndsTheImage("phpmyadmin", network: network, environment: WebImages.secrets,
                                                                prepare: { try WebImages.preparePhpMyAdmin($0) })
        }
    }
}
