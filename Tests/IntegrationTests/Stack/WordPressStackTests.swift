import Foundation
import Testing

/// images/wordpress as a container of the stack, against the stack's mysql: the site answers over
/// TLS on 5050 at the LB IP and by its service name, the bootstrap made the administrator and
/// one user per role, they log in, a second start changes nothing, and a dead daemon ends it.
extension Integration {
    @Suite(.requires(.root, .dockerDaemon, .alpineMinirootfs, .tools(["docker", "unshare", "curl", "mariadb", "python3", "tar", "kubectl"]),
                     what: "wordpress container tests"))
    struct WordPressStack {
        /// How the site is reached: the LB IP, as WP_HOME says (and the [tls] IP SAN).
        static let site = "https://\(Stack.lbIP):5050"

        /// The users the bootstrap makes sure of, with their roles.
        static var users: [String: [String]] {
            [Stack.secret("WP_ADMIN_USER"): ["administrator"], "editor": ["editor"], "author": ["author"], "subscriber": ["subscriber"]]
        }

        /// Every user with the roles of its wp_capabilities, read as the WordPress DB user over TCP.
        static func usersAndRoles(host: String = "mysql") throws -> [String: [String]] {
            let rows = try StackClients.query("""
                SELECT u.user_login, m.meta_value FROM wp_users u
                JOIN wp_usermeta m ON m.user_id = u.ID AND m.meta_key = 'wp_capabilities' ORDER BY u.ID
                """, host: host)
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

        @Test func homePageAndLoginPageLoadOverTLSOn5050() throws {
            let wordpress = try Stack.require("wordpress")
            // The certificate is checked (--cacert): LB_IP and the name wordpress are both SANs.
            for base in [Self.site, "https://wordpress:5050"] {
                let home = try StackClients.fetch("\(base)/", trusting: "wordpress")
                #expect(home.status == 200, "\(home)\(wordpress.report)")
                #expect(home.body.contains("<title>ft_services</title>") || home.body.contains("<title>ft_services &#8211;"),
                        "home page without the site title: \(home)")
                #expect(home.body.contains("wp-content/themes/twentytwentythree"), "home page not rendered by the theme: \(home)")
            }

            let login = try StackClients.fetch("\(Self.site)/wp-login.php", trusting: "wordpress")
            #expect(login.status == 200, "\(login)\(wordpress.report)")
            for marker in [#"id="loginform""#, #"name="log""#, #"name="pwd""#, #"name="wp-submit""#] {
                #expect(login.body.contains(marker), "wp-login.php has no \(marker): \(login)")
            }

            // Only WordPress' own scripts run, and dot files are never served.
            let missing = try StackClients.fetch("\(Self.site)/no-such-script.php", trusting: "wordpress")
            #expect(missing.status == 404, "\(missing)")
            let dotFile = try StackClients.fetch("\(Self.site)/.htaccess", trusting: "wordpress")
            #expect(dotFile.status == 403, "\(dotFile)")
        }

        /// Issue 17: a PHP file that got into uploads (the volume users write) never runs, and
        /// XML-RPC is off (system.multicall would try many passwords in one request).
        @Test func uploadedPHPNeverRunsAndXMLRPCIsOff() throws {
            let wordpress = try Stack.require("wordpress")
            let planted = try wordpress.exec(["sh", "-c", #"for f in probe.php probe.PHP7 probe.phtml; do printf '<?php echo "ran-" . (6 * 7);' > /var/www/wordpress/wp-content/uploads/$f; done"#])
            try #require(planted.succeeded, "\(planted)")
            for name in ["probe.php", "probe.PHP7", "probe.phtml"] {
                let page = try StackClients.fetch("\(Self.site)/wp-content/uploads/\(name)", trusting: "wordpress")
                #expect(page.status == 403 && !page.body.contains("ran-42"), "\(name): \(page)")
            }
            let multicall = #"<?xml version="1.0"?><methodCall><methodName>system.listMethods</methodName></methodCall>"#
            let rpc = try StackClients.fetch("\(Self.site)/xmlrpc.php", trusting: "wordpress", extra: ["--data-binary", multicall])
            #expect(rpc.status == 403 && !rpc.body.contains("methodResponse"), "\(rpc)")
        }

        @Test func theAdministratorAndOneUserPerRoleExist() throws {
            let wordpress = try Stack.require("wordpress")
            let users = try Self.usersAndRoles()
            #expect(users == Self.users, "users and roles: \(users)\(wordpress.report)")
            let admin = try StackClients.query("SELECT user_email FROM wp_users WHERE user_login = 'boss'")
            #expect(admin == Stack.secret("WP_ADMIN_EMAIL"))
            // The site's URL comes from LB_IP, not from a dump.
            let siteURL = try StackClients.query("SELECT option_value FROM wp_options WHERE option_name IN ('home', 'siteurl')")
            #expect(siteURL == "\(Self.site)\n\(Self.site)", "\(siteURL)")
        }

        @Test func theAdministratorAndTheUsersLogInThroughWpLogin() throws {
            let wordpress = try Stack.require("wordpress")
            let jars = try Scratch()
            defer { jars.remove() }

            // The administrator: 302 to the dashboard, which then loads with the session cookie.
            let admin = try Self.logIn(Stack.secret("WP_ADMIN_USER"), Stack.secret("WP_ADMIN_PASSWORD"), jar: jars.file("admin.jar"))
            #expect(admin.status == 302, "\(admin)\(wordpress.report)")
            #expect(admin.header("Location") == "\(Self.site)/wp-admin/", "\(admin)")
            #expect(admin.header("Set-Cookie", startingWith: "wordpress_logged_in_") != nil, "\(admin)")
            let dashboard = try StackClients.fetch("\(Self.site)/wp-admin/", trusting: "wordpress", extra: ["-b", jars.file("admin.jar")])
            #expect(dashboard.status == 200, "\(dashboard)")
            #expect(dashboard.body.contains("<title>Dashboard"), "not the dashboard: \(dashboard)")
            #expect(dashboard.body.contains(#"id="wpadminbar""#), "no admin bar: \(dashboard)")

            // Each user with its own password (quotes and a backslash, slashed like form data),
            // and not with another's (issue 17: one shared password was one leak for all three).
            for user in ["editor", "author", "subscriber"] {
                let own = try Self.logIn(user, Stack.secret("WP_\(user.uppercased())_PASSWORD"), jar: jars.file("\(user).jar"))
                #expect(own.status == 302 && own.header("Location") != nil && own.header("Set-Cookie", startingWith: "wordpress_logged_in_") != nil,
                        "\(user): \(own)")
                let other = user == "editor" ? "author" : "editor"
                let another = try Self.logIn(user, Stack.secret("WP_\(other.uppercased())_PASSWORD"), jar: jars.file("\(user)-other.jar"))
                #expect(another.status == 200 && another.body.contains(#"id="login_error""#), "\(user) with \(other)'s password: \(another)")
            }

            // A wrong password is refused: the form again, with WordPress' error.
            let wrong = try Self.logIn(Stack.secret("WP_ADMIN_USER"), "not-the-password", jar: jars.file("wrong.jar"))
            #expect(wrong.status == 200 && wrong.body.contains(#"id="login_error""#), "\(wrong)")
        }

        /// What a browser does: GET wp-login.php (WordPress' test cookie), then POST the form.
        /// `server`: another wordpress container than the stack's, reached in its place.
        static func logIn(_ user: String, _ password: String, jar: String, server: Container? = nil,
                          sourceLocation: SourceLocation = #_sourceLocation) throws -> HTTPResponse {
            let server = server ?? Stack.container("wordpress")
            let extra = server.name == Stack.container("wordpress").name ? [] : ["--connect-to", "\(Stack.lbIP):5050:\(server.address):5050"]
            let form = try StackClients.fetch("\(site)/wp-login.php", trusting: server, extra: ["-c", jar] + extra, sourceLocation: sourceLocation)
            try #require(form.status == 200, "\(form)", sourceLocation: sourceLocation)
            return try StackClients.fetch("\(site)/wp-login.php", trusting: server, extra: [
                "-b", jar, "-c", jar,
                "--data-urlencode", "log=\(user)", "--data-urlencode", "pwd=\(password)",
                "--data-urlencode", "wp-submit=Log In", "--data-urlencode", "redirect_to=\(site)/wp-admin/",
                "--data-urlencode", "testcookie=1",
            ] + extra, sourceLocation: sourceLocation)
        }

        /// A wordpress container of its own with a database of its own (the shared site is
        /// installed already): the first start installs, `docker stop` ends it cleanly, the next
        /// `docker start` finds everything in place and changes nothing but a user's password
        /// that is no longer the Secret's.
        @Test func aSecondStartKeepsTheSiteAndItsUsersAsTheyAre() throws {
            let databaseName = "ft-test-wp-again-mysql"
            let database = try Stack.startExtra(databaseName, image: "mysql", environment: Stack.environment(of: "mysql"))
            defer { database.remove() }
            try database.waitHealthy(within: .seconds(90))
            // With the salts' seed, as its Deployment has it: /run, where the salts are, is a
            // tmpfs that a restart empties.
            let wordpress = try Stack.startExtra("ft-test-wp-again", image: "wordpress",
                                                 environment: Stack.environment(of: "wordpress").merging(
                                                     ["MYSQL_HOST": databaseName, "WP_AUTH_SALT_SEED": "s33d'$"]) { $1 })
            defer { wordpress.remove() }
            try wordpress.waitHealthy(within: .seconds(90))
            let before = try StackClients.query("SELECT ID, user_login, user_pass FROM wp_users ORDER BY ID", host: database.address)
            let salts = try wordpress.exec(["cat", "/run/wordpress/salts.php"])
            #expect(salts.succeeded && wordpress.serviceOutput.contains("installed WordPress at \(Self.site)/ with administrator boss"),
                    "\(salts)\(wordpress.report)")

            // An author whose password is no longer the Secret's (as after the upgrade from one
            // shared password): the next start sets it again, and changes no one else.
            _ = try StackClients.query("UPDATE wp_users SET user_pass = MD5('an old shared password') WHERE user_login = 'author'",
                                       host: database.address)
            let stale = try StackClients.query("SELECT ID, user_login, user_pass FROM wp_users ORDER BY ID", host: database.address)

            let stopped = try DockerHost.run(["stop", "-t", "30", wordpress.name], timeout: .seconds(40))
            let stopCode = try DockerHost.inspect(wordpress.name, "{{.State.ExitCode}}")
            #expect(stopped.succeeded && stopCode == "0", "graceful stop: exit \(stopCode)\(wordpress.report)")
            try #require(try DockerHost.run(["start", wordpress.name]).succeeded)
            try wordpress.waitHealthy(within: .seconds(90))

            let output = wordpress.serviceOutput
            #expect(output.components(separatedBy: "WordPress is already installed").count == 2, "\(output)")
            #expect(output.components(separatedBy: "installed WordPress at").count == 2
                    && output.components(separatedBy: "created the user").count == 4, "the second start installed again: \(output)")
            #expect(output.components(separatedBy: "salts: derived from WP_AUTH_SALT_SEED").count == 3, "\(output)")
            #expect(try wordpress.exec(["cat", "/run/wordpress/salts.php"]).stdout == salts.stdout,
                    "the salts changed: logins would not survive a restart")
            let after = try StackClients.query("SELECT ID, user_login, user_pass FROM wp_users ORDER BY ID", host: database.address)
            let changed = zip(stale.split(separator: "\n"), after.split(separator: "\n")).filter { $0 != $1 }.map { $1.split(separator: "\t")[1] }
            #expect(changed == ["author"] && output.contains("set the password of author from WP_AUTHOR_PASSWORD"),
                    "only the stale password may change: \(changed)\n\(output)")
            #expect(after.split(separator: "\n").filter { !$0.contains("\tauthor\t") } == before.split(separator: "\n").filter { !$0.contains("\tauthor\t") },
                    "wp_users changed across the second start")
            let jars = try Scratch()
            defer { jars.remove() }
            let author = try Self.logIn("author", Stack.secret("WP_AUTHOR_PASSWORD"), jar: jars.file("author.jar"), server: wordpress)
            #expect(author.status == 302 && author.header("Location") != nil, "the author with the Secret's password: \(author)")
            let duplicates = try StackClients.query("SELECT user_login FROM wp_users GROUP BY user_login HAVING COUNT(*) > 1",
                                                    host: database.address)
            #expect(duplicates.isEmpty, "duplicate users: \(duplicates)")
            #expect(try Self.usersAndRoles(host: database.address) == Self.users)
            let home = try StackClients.fetch("https://wordpress:5050/", trusting: wordpress,
                                              extra: ["--connect-to", "wordpress:5050:\(wordpress.address):5050"])
            #expect(home.status == 200, "\(home)\(wordpress.report)")
        }

        @Test func killingEachDaemonEndsTheContainer() throws {
            try Stack.require("mysql")  // the bootstrap, before nginx, needs the database
            let wordpress = try Stack.startExtra("ft-test-wp-faults", image: "wordpress", environment: Stack.environment(of: "wordpress"))
            defer { wordpress.remove() }
            try wordpress.waitHealthy(within: .seconds(90))
            try wordpress.expectEachKilledServiceEndsIt()
        }
    }
}
