import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// images/wordpress run with Debian's nginx, php-fpm and WordPress, against images/mysql in the
/// same network: the site answers over TLS on 5050, the bootstrap made the administrator and one
/// user per role, the administrator logs in, a second boot changes nothing, and a dead daemon
/// ends the image.
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(["ip", "unshare", "mariadbd", "mariadb", "mariadb-install-db", "php8.2",
                                                   "php-fpm8.2", "nginx", "curl"]),
                     what: "wordpress image tests"))
    struct WordPressImage {
        /// How the site is reached: the LoadBalancer IP, as WP_HOME says (and the [tls] IP SAN).
        static let site = "https://127.0.0.1:5050"

        /// A fresh FT_ROOT with WordPress' code in it.
        static func preparedRoot() throws -> Scratch {
            let root = try Scratch()
            do { try WebImages.prepareWordPress(root) } catch { root.remove(); throw error }
            return root
        }

        /// Boots the image on `root` and waits until nginx and php-fpm are healthy (the bootstrap
        /// is done by then: nginx starts after it).
        static func boot(_ root: Scratch, network: ImageNetwork, sourceLocation: SourceLocation = #_sourceLocation) throws -> FTInit {
            try ImageUnderTest.boot("wordpress", network: network, root: root, environment: WebImages.secrets, healthyWithin: .seconds(90), sourceLocation: sourceLocation)
        }

        /// Every user with the roles of its wp_capabilities, read as the WordPress DB user over TCP.
        static func usersAndRoles(_ database: ImageDatabase) throws -> [String: [String]] {
            let rows = try database.query("""
                SELECT u.user_login, m.meta_value FROM wp_users u
                JOIN wp_usermeta m ON m.user_id = u.ID AND m.meta_key = 'wp_capabilities' ORDER BY u.ID
                """)
            var users: [String: [String]] = [:]
            for row in rows.split(separator: "\n") {
                let columns = row.split(separator: "\t", maxSplits: 1).map(String.init)
                guard columns.count == 2 else { continue }
                // a:1:{s:13:"administrator";b:1;}
                let roles = columns[1].matches(of: /s:\d+:"([a-z_]+)";b:1;/).map { String($0.output.1) }
                users[columns[0], default: []] += roles
            }
            return users
        }

        /// The mysql and wordpress images booted in one network, torn down after `body`.
        static func withWordPress(
            _ body: (_ network: ImageNetwork, _ database: ImageDatabase, _ root: Scratch, _ wordpress: FTInit) throws -> Void
        ) throws {
            let network = try ImageNetwork()
            defer { network.remove() }
            let database = try ImageDatabase(network: network)
            defer { database.stop() }
            let root = try Self.preparedRoot()
            defer { root.remove() }
            let wordpress = try Self.boot(root, network: network)
            defer { wordpress.stop() }
            try body(network, database, root, wordpress)
        }

        @Test
        func homePageAndLoginPageLoadOverTLSOn5050() throws {
            try Self.withWordPress { network, database, root, wordpress in
                // The certificate is checked (--cacert): LB_IP and the name wordpress are both SANs.
                for base in [Self.site, "https://wordpress:5050"] {
                    let home = try HTTPResponse.fetch("\(base)/", root: root, network: network)
                    #expect(home.status == 200, "\(home)\(wordpress.report)")
                    #expect(home.body.contains("<title>ft_services</title>") || home.body.contains("<title>ft_services &#8211;"),
                            "home page without the site title: \(home)")
                    #expect(home.body.contains("wp-content/themes/twentytwentythree"), "home page not rendered by the theme: \(home)")
                }

                let login = try HTTPResponse.fetch("\(Self.site)/wp-login.php", root: root, network: network)
                #expect(login.status == 200, "\(login)\(wordpress.report)")
                for marker in [#"id="loginform""#, #"name="log""#, #"name="pwd""#, #"name="wp-submit""#] {
                    #expect(login.body.contains(marker), "wp-login.php has no \(marker): \(login)")
                }

                // Only WordPress' own scripts run, and dot files are never served.
                let missing = try HTTPResponse.fetch("\(Self.site)/no-such-script.php", root: root, network: network)
                #expect(missing.status == 404, "\(missing)")
                let dotFile = try HTTPResponse.fetch("\(Self.site)/.htaccess", root: root, network: network)
                #expect(dotFile.status == 403, "\(dotFile)")
            }
        }

        @Test
        func theAdministratorAndOneUserPerRoleExist() throws {
            try Self.withWordPress { network, database, root, wordpress in
                let users = try Self.usersAndRoles(database)
                #expect(users == WebImages.wordPressUsers.mapValues { [$0] }, "users and roles: \(users)\(wordpress.report)")
                #expect(users.count >= 4, "the administrator and at least three users: \(users)")
                let admin = try database.query("SELECT user_email FROM wp_users WHERE user_login = 'boss'")
                #expect(admin == WebImages.secret("WP_ADMIN_EMAIL"))
                // The site's URL comes from LB_IP, not from a dump.
                let siteURL = try database.query("SELECT option_value FROM wp_options WHERE option_name IN ('home', 'siteurl')")
                #expect(siteURL == "\(Self.site)\n\(Self.site)", "\(siteURL)")
            }
        }

        @Test
        func theAdministratorAndTheUsersLogInThroughWpLogin() throws {
            try Self.withWordPress { network, database, root, wordpress in
                let jars = try Scratch()
                defer { jars.remove() }

                // The administrator: 302 to the dashboard, which then loads with the session cookie.
                let admin = try Self.logIn(WebImages.secret("WP_ADMIN_USER"), WebImages.secret("WP_ADMIN_PASSWORD"),
                                           jar: jars.file("admin.jar"), root: root, network: network)
                #expect(admin.status == 302, "\(admin)\(wordpress.report)")
                #expect(admin.header("Location") == "\(Self.site)/wp-admin/", "\(admin)")
                #expect(admin.header("Set-Cookie", startingWith: "wordpress_logged_in_") != nil, "\(admin)")
                let dashboard = try HTTPResponse.fetch("\(Self.site)/wp-admin/", root: root, network: network,
                                                     extra: ["-b", jars.file("admin.jar")])
                #expect(dashboard.status == 200, "\(dashboard)")
                #expect(dashboard.body.contains("<title>Dashboard"), "not the dashboard: \(dashboard)")
                #expect(dashboard.body.contains(#"id="wpadminbar""#), "no admin bar: \(dashboard)")

                // A user with WP_USERS_PASSWORD (quotes and a backslash, slashed like form data).
                let editor = try Self.logIn("editor", WebImages.secret("WP_USERS_PASSWORD"), jar: jars.file("editor.jar"),
                                            root: root, network: network)
                #expect(editor.status == 302 && editor.header("Location") == "\(Self.site)/wp-admin/", "\(editor)")

                // A wrong password is refused: the form again, with WordPress' error.
                let wrong = try Self.logIn(WebImages.secret("WP_ADMIN_USER"), "not-the-password", jar: jars.file("wrong.jar"),
                                           root: root, network: network)
                #expect(wrong.status == 200 && wrong.body.contains(#"id="login_error""#), "\(wrong)")
            }
        }

        /// What a browser does: GET wp-login.php (WordPress' test cookie), then POST the form.
        static func logIn(_ user: String, _ password: String, jar: String, root: Scratch, network: ImageNetwork,
                          sourceLocation: SourceLocation = #_sourceLocation) throws -> HTTPResponse {
            let form = try HTTPResponse.fetch("\(site)/wp-login.php", root: root, network: network, extra: ["-c", jar],
                                            sourceLocation: sourceLocation)
            try #require(form.status == 200, "\(form)", sourceLocation: sourceLocation)
            return try HTTPResponse.fetch("\(site)/wp-login.php", root: root, network: network, extra: [
                "-b", jar, "-c", jar,
                "--data-urlencode", "log=\(user)", "--data-urlencode", "pwd=\(password)",
                "--data-urlencode", "wp-submit=Log In", "--data-urlencode", "redirect_to=\(site)/wp-admin/",
                "--data-urlencode", "testcookie=1",
            ], sourceLocation: sourceLocation)
        }

        @Test
        func aSecondBootKeepsTheSiteAndItsUsersAsTheyAre() throws {
            let network = try ImageNetwork()
            defer { network.remove() }
            let database = try ImageDatabase(network: network)
            defer { database.stop() }
            let root = try Self.preparedRoot()
            defer { root.remove() }

            let first = try Self.boot(root, network: network)
            defer { first.stop() }
            let before = try database.query("SELECT ID, user_login, user_pass FROM wp_users ORDER BY ID")
            let salts = root.read("var/lib/wordpress/salts.php")
            #expect(first.stdout.text.contains("installed WordPress at \(Self.site)/ with administrator boss"), "\(first.report)")
            try first.send(SIGTERM)
            #expect(try first.exitCode(timeout: .seconds(30)) == 0, "graceful stop\(first.report)")

            let second = try Self.boot(root, network: network)
            defer { second.stop() }
            let output = second.stdout.text
            #expect(output.contains("WordPress is already installed"), "\(second.report)")
            #expect(!output.contains("installed WordPress at") && !output.contains("created the user"), "\(second.report)")
            #expect(output.contains("salts: keeping"), "\(second.report)")
            #expect(root.read("var/lib/wordpress/salts.php") == salts, "the salts changed: logins would not survive a restart")
            let after = try database.query("SELECT ID, user_login, user_pass FROM wp_users ORDER BY ID")
            #expect(after == before, "wp_users changed across the second boot")
            let duplicates = try database.query("SELECT user_login FROM wp_users GROUP BY user_login HAVING COUNT(*) > 1")
            #expect(duplicates.isEmpty, "duplicate users: \(duplicates)")
            let users = try Self.usersAndRoles(database)
            #expect(users == WebImages.wordPressUsers.mapValues { [$0] }, "\(users)")
            let home = try HTTPResponse.fetch("\(Self.site)/", root: root, network: network)
            #expect(home.status == 200, "\(home)\(second.report)")
        }

        @Test
        func killingEachDaemonEndsTheImage() throws {
            let network = try ImageNetwork()
            defer { network.remove() }
            // The bootstrap (before nginx) needs the database.
            let database = try ImageDatabase(network: network)
            defer { database.stop() }
            try ImageFaults.expectEachKilledServiceEndsTheImage("wordpress", network: network, environment: WebImages.secrets,
                                                                prepare: { try WebImages.prepareWordPress($0) })
        }
    }
}
