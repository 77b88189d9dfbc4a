import Foundation
import Testing

/// The alpine:3.22 stand-in (scripts/standin-base, issue 15): Alpine's real minirootfs with
/// Debian's builds of the daemons, and an `apk add` that knows exactly the packages the
/// Dockerfiles name. Built once into the private dockerd, then used as a container would be.
extension Integration {
    @Suite(.requires(.root, .dockerDaemon, .alpineMinirootfs, .tools(["docker"]), what: "alpine stand-in tests"))
    struct StandInBase {
        static let tag = "alpine:3.22"

        /// Builds the stand-in (idempotent: the same context gives the same image).
        static func build(sourceLocation: SourceLocation = #_sourceLocation) throws {
            let script = FTInitBinary.packageRoot.appendingPathComponent("scripts/standin-base").path
            let minirootfs = ProcessInfo.processInfo.environment["ALPINE_MINIROOTFS"] ?? ""
            let built = try Tool.run([script, tag], environment: ["DOCKER_HOST": "unix://\(DockerHost.socket)", "ALPINE_MINIROOTFS": minirootfs],
                                     timeout: .seconds(300), sourceLocation: sourceLocation)
            try #require(built.succeeded, "\(built)", sourceLocation: sourceLocation)
        }

        /// `sh -c SCRIPT` in a fresh container of the stand-in, without network.
        static func run(_ script: String) throws -> ToolResult {
            try DockerHost.run(["run", "--rm", "--network", "none", tag, "/bin/sh", "-c", script], timeout: .seconds(120))
        }

        @Test func itIsAlpinesUserlandWithAnApkThatKnowsOnlyItsPackages() throws {
            try Self.build()
            let userland = try Self.run("cat /etc/alpine-release; ls /lib/ld-musl-x86_64.so.1; readlink /bin/sh; grep -c . /etc/passwd")
            #expect(userland.succeeded && userland.stdout.hasPrefix("3.20.3\n/lib/ld-musl-x86_64.so.1\n/bin/busybox\n"), "\(userland)")

            let unknown = try Self.run("apk add --no-cache nginx php99-imaginary")
            #expect(unknown.code == 1 && unknown.stderr.contains("unknown package 'php99-imaginary'"), "\(unknown)")
            let nothingInstalled = try Self.run("apk add --no-cache nginx php99-imaginary; test -e /usr/sbin/nginx")
            #expect(nothingInstalled.code == 1, "a known name was installed although the command failed: \(nothingInstalled)")
            let otherCommand = try Self.run("apk del nginx")
            #expect(otherCommand.code == 1 && otherCommand.stderr.contains("only 'apk add'"), "\(otherCommand)")
            // images/influxdb asks for the architecture before it downloads the static build.
            let arch = try Self.run("apk --print-arch")
            #expect(arch.succeeded && arch.stdout == "x86_64\n", "\(arch)")
        }

        /// Every package the Dockerfiles install, as they write it (versions included): each
        /// program runs on the Alpine root, and the users are those of the aports install scripts.
        @Test func thePackagesOfTheDockerfilesInstallRunnableDaemonsAndTheirUsers() throws {
            try Self.build()
            let result = try Self.run("""
                set -e
                apk add --no-cache nginx~1.28 openssh-server~10.0 vsftpd~3.0.5 mariadb mariadb-client curl >/dev/null
                nginx -v 2>&1
                /usr/sbin/sshd -V 2>&1 | head -1 || true
                ssh-keygen -t ed25519 -N '' -q -f /tmp/key && echo keygen ok
                mariadbd --version
                mariadb --version
                curl --version | head -1
                id nginx; id mysql; id vsftp
                stat -c '%a %U:%G %n' /var/lib/nginx /var/lib/nginx/tmp /run/nginx /var/lib/mysql
                """)
            try #require(result.succeeded, "\(result)")
            for expected in ["nginx version: nginx/", "OpenSSH_", "keygen ok", "mariadbd  Ver", "mariadb  Ver", "curl ",
                             "groups=", "(www-data)", "gid=21(ftp)",
                             "750 nginx:nginx /var/lib/nginx\n", "700 nginx:nginx /var/lib/nginx/tmp\n", "755 nginx:nginx /run/nginx\n",
                             "750 mysql:mysql /var/lib/mysql\n"] {
                #expect(result.stdout.contains(expected), "missing `\(expected)`: \(result.stdout)")
            }
            // nginx.pre-install: the nginx user is in www-data (82, alpine-baselayout's group).
            let nginx = result.stdout.split(separator: "\n").first { $0.contains("(nginx)") && $0.hasPrefix("uid=") } ?? ""
            #expect(nginx.contains("82(www-data)"), "\(nginx)")
        }

        /// The PHP packages of the wordpress and phpmyadmin Dockerfiles, as they write them: PHP
        /// at Alpine's paths reads /etc/php83 and loads every extension named, in the order of
        /// the conf.d files, without one startup warning; phpMyAdmin sits where Alpine puts it.
        @Test func thePHPPackagesLoadEveryExtensionAtAlpinesPaths() throws {
            try Self.build()
            let extensions = ["mysqli", "mysqlnd", "session", "curl", "dom", "exif", "fileinfo", "mbstring", "openssl", "xml",
                              "xmlreader", "xmlwriter", "simplexml", "zip", "gd", "intl", "iconv", "ctype", "tokenizer", "sodium",
                              "bcmath", "opcache", "bz2"]
            let result = try Self.run("""
                set -e
                apk add --no-cache php83 php83-fpm \(extensions.map { "php83-\($0)" }.joined(separator: " ")) phpmyadmin >/dev/null
                echo "ini: $(readlink -f "$(php83 --ini | sed -n 's/^Loaded Configuration File: *//p')")"
                echo "scan: $(readlink -f "$(php83 --ini | sed -n 's/^Scan for additional .ini files in: *//p')")"
                php83 -m 2>/tmp/warnings | tr 'A-Z' 'a-z' | tr '\n' ' '; echo
                echo "warnings: $(cat /tmp/warnings)"
                php-fpm83 -v | head -1
                readlink /usr/share/webapps/phpmyadmin/config.inc.php
                """)
            try #require(result.succeeded, "\(result)")
            #expect(result.stdout.contains("ini: /etc/php83/php.ini\nscan: /etc/php83/conf.d\n"), "\(result.stdout)")
            #expect(result.stdout.contains("warnings: \n"), "startup warnings: \(result.stdout)")
            let modules = Set((result.stdout.split(separator: "\n").first { $0.contains("[php modules]") } ?? "").split(separator: " ").map(String.init))
            for name in extensions {
                #expect(modules.contains(name), "\(name) is not loaded: \(modules.sorted())")
            }
            #expect(result.stdout.contains("PHP 8.") && result.stdout.contains("(fpm-fcgi)"), "\(result.stdout)")
            #expect(result.stdout.contains("/etc/phpmyadmin/config.inc.php\n"), "\(result.stdout)")
        }
    }
}
