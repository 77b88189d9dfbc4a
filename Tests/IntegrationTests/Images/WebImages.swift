import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What the wordpress and phpmyadmin image tests share: the secrets, the FT_ROOT preparation that
/// stands for each Dockerfile's install step, curl inside the network, and the database.
enum WebImages {
    /// The Secrets and ConfigMap values of docs/images.md. The passwords hold quotes, `$` and
    /// backslashes: every layer (ftinit's templates, the SQL of the mysql bootstrap, the PHP
    /// nowdocs, WordPress' slashing, form encoding) must carry them through unchanged.
    static let secrets: [String: String] = [
        "LB_IP": "127.0.0.1",
        "MYSQL_HOST": "mysql",
        "MYSQL_ROOT_PASSWORD": #"r00t"pa\ss'$x"#,
        "WP_DB_NAME": "wordpress",
        "WP_DB_USER": "wpuser",
        "WP_DB_PASSWORD": #"wp"pa\ss'$1"#,
        "WP_ADMIN_USER": "boss",
        "WP_ADMIN_PASSWORD": #"Adm1n"pass'$x\y"#,
        "WP_ADMIN_EMAIL": "boss@ft.example",
        "WP_USERS_PASSWORD": #"Us3rs"p\a'ss$"#,
        // 32 bytes, used as they are.
        "PMA_BLOWFISH_SECRET": #"0123456789abcdef0123456789'"\$ab"#,
    ]

    static func secret(_ name: String) -> String { secrets[name]! }

    /// The users the wordpress bootstrap makes sure of, with their roles.
    static var wordPressUsers: [String: String] {
        [secret("WP_ADMIN_USER"): "administrator", "editor": "editor", "author": "author", "subscriber": "subscriber"]
    }

    /// The wordpress Dockerfile's install step: WordPress' code at /var/www/wordpress (here
    /// Debian's package, with the theme package twentytwentythree, else the home page is empty).
    static func prepareWordPress(_ root: Scratch, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try run(["mkdir", "-p", root.file("var/www")], sourceLocation: sourceLocation)
        try run(["cp", "-a", "/usr/share/wordpress", root.file("var/www/wordpress")], sourceLocation: sourceLocation)
        try #require(FileManager.default.fileExists(atPath: root.file("var/www/wordpress/wp-content/themes/twentytwentythree/theme.json")),
                     "Debian's wordpress-theme-twentytwentythree is not installed", sourceLocation: sourceLocation)
    }

    /// The phpmyadmin Dockerfile's install step, in Alpine's layout: the code at
    /// /usr/share/webapps/phpmyadmin, reading config.inc.php from its own directory, where a
    /// symlink points at /etc/phpmyadmin/config.inc.php (rendered by ftinit). Debian's copy
    /// would read /etc/phpmyadmin/config.inc.php of the host, so its vendor_config.php is patched.
    /// `-L`: Debian's relative symlinks to /usr/share/javascript break one level deeper.
    static func preparePhpMyAdmin(_ root: Scratch, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let webapp = root.file("usr/share/webapps/phpmyadmin")
        try run(["mkdir", "-p", root.file("usr/share/webapps")], sourceLocation: sourceLocation)
        try run(["cp", "-rL", "/usr/share/phpmyadmin", webapp], sourceLocation: sourceLocation)
        let vendorConfig = "\(webapp)/libraries/vendor_config.php"
        let original = try String(contentsOfFile: vendorConfig, encoding: .utf8)
        let patched = original.replacingOccurrences(of: "'configFile' => '/etc/phpmyadmin/config.inc.php',",
                                                    with: "'configFile' => ROOT_PATH . 'config.inc.php',")
        try #require(patched != original, "\(vendorConfig): no Debian configFile line to patch", sourceLocation: sourceLocation)
        try patched.write(toFile: vendorConfig, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: "\(webapp)/config.inc.php",
                                                   withDestinationPath: root.file("etc/phpmyadmin/config.inc.php"))
    }

    /// curl inside the network: `-sS`, the image's certificate as the only CA (so the name or IP
    /// in the URL is checked against the [tls] SANs), a bounded time.
    static func curl(_ arguments: [String], certificate root: Scratch, network: ImageNetwork,
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> ToolResult {
        try network.run(["curl", "-sS", "--max-time", "20", "--cacert", root.file("etc/ssl/ft/tls/cert.pem")] + arguments,
                        timeout: .seconds(30), sourceLocation: sourceLocation)
    }

    /// The path of a client script of Tests/IntegrationTests/Images/Clients.
    static func client(_ name: String) -> String {
        FTInitBinary.packageRoot.appendingPathComponent("Tests/IntegrationTests/Stack/Clients/\(name)").path
    }

    private static func run(_ argv: [String], sourceLocation: SourceLocation) throws {
        let result = try Tool.run(argv, timeout: .seconds(60), sourceLocation: sourceLocation)
        try #require(result.succeeded, "\(result)", sourceLocation: sourceLocation)
    }
}

/// images/mysql running in the test's network with the same secrets, as the mysql pod the
/// wordpress and phpmyadmin pods talk to. `stop()` in a `defer`.
final class ImageDatabase {
    let network: ImageNetwork
    let root: Scratch
    let ftinit: FTInit

    /// The mysql pod's own Secrets only. Not MYSQL_HOST: the mariadb client reads it from the
    /// environment, and with MYSQL_HOST=mysql the image's bootstrap (`mariadb --protocol=socket`)
    /// fails with "Unknown server host 'mysql'" instead of using its socket.
    static var environment: [String: String] {
        WebImages.secrets.filter { ["MYSQL_ROOT_PASSWORD", "WP_DB_NAME", "WP_DB_USER", "WP_DB_PASSWORD"].contains($0.key) }
    }

    init(network: ImageNetwork, sourceLocation: SourceLocation = #_sourceLocation) throws {
        self.network = network
        root = try Scratch()
        do {
            ftinit = try ImageUnderTest.boot("mysql", network: network, root: root, environment: Self.environment,
                                             healthyWithin: .seconds(90), sourceLocation: sourceLocation)
        } catch {
            root.remove()
            throw error
        }
    }

    /// Runs SQL over TCP to mysql:3306 as the WordPress user (as wordpress and phpmyadmin do), or
    /// as root@'%' with `asRoot`.
    func sql(_ statement: String, asRoot: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws -> ToolResult {
        let user = asRoot ? "root" : WebImages.secret("WP_DB_USER")
        let password = WebImages.secret(asRoot ? "MYSQL_ROOT_PASSWORD" : "WP_DB_PASSWORD")
        return try network.run(["mariadb", "--no-defaults", "--protocol=tcp", "-h", "mysql", "-P", "3306", "-u", user,
                                "--password=\(password)", "--batch", "--skip-column-names", "--connect-timeout=10",
                                WebImages.secret("WP_DB_NAME"), "-e", statement],
                               sourceLocation: sourceLocation)
    }

    /// `sql`, required to succeed; its output, trimmed.
    func query(_ statement: String, asRoot: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let result = try sql(statement, asRoot: asRoot, sourceLocation: sourceLocation)
        try #require(result.succeeded, "\(result)\(ftinit.report)", sourceLocation: sourceLocation)
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func stop() {
        ftinit.stop()
        root.remove()
    }
}

extension HTTPResponse {
    /// `curl -i URL EXTRA...` inside the network against an image whose certificate is in `root`.
    static func fetch(_ url: String, root: Scratch, network: ImageNetwork, extra: [String] = [],
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> HTTPResponse {
        let result = try WebImages.curl(["-i"] + extra + [url], certificate: root, network: network, sourceLocation: sourceLocation)
        return try parse(result, sourceLocation: sourceLocation)
    }
}
