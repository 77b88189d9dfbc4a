import Foundation
import Testing

/// images/ftps as a container of the stack: FTP_USER uploads and downloads over explicit TLS at
/// the LB IP (the bytes come back unchanged, passive ports in 30000–30004 at LB_IP, published
/// there like 21), a plain-FTP or anonymous login is refused, logins go through the image's own
/// PAM service, and a dead daemon ends the container.
extension Integration {
    @Suite(.requires(.root, .dockerDaemon, .alpineMinirootfs, .tools(["docker", "unshare", "curl", "lftp", "python3", "kubectl"]), what: "ftps container tests"))
    struct FtpsStack {
        static let lbIP = Stack.lbIP
        static var user: String { Stack.secret("FTP_USER") }

        /// curl, FTP over explicit TLS required (`--ssl-reqd`), the certificate of `container` as
        /// the only CA, passive mode, as `user:password`. `--tls-max 1.2`: Debian 12's curl 7.88
        /// closes a TLS 1.3 FTP upload before the server has read it all (curl issue 13556,
        /// addressed by curl PR 13904; seen as "426" after 114688 bytes, now and then). It is the
        /// client's bug, not the server's, so the image keeps TLS 1.3 for the clients that handle it.
        static func ftps(_ arguments: [String], password: String = Stack.secret("FTP_PASSWORD"),
                         container: Container = Stack.container("ftps"), sourceLocation: SourceLocation = #_sourceLocation) throws -> ToolResult {
            let cacert = try Stack.certificate(of: container, sourceLocation: sourceLocation)
            return try Stack.run(["curl", "-sS", "--max-time", "20", "--ssl-reqd", "--tls-max", "1.2", "--cacert", cacert,
                                  "--user", "\(user):\(password)"] + arguments, timeout: .seconds(30), sourceLocation: sourceLocation)
        }

        @Test func aFileUploadedOverFTPSDownloadsWithTheSameBytes() throws {
            let ftps = try Stack.require("ftps")
            let files = try Scratch()
            defer { files.remove() }

            // Random bytes (every byte value, not a multiple of any buffer size): a binary transfer.
            let bytes = Data((0..<(300_000 + Int.random(in: 0..<4096))).map { _ in UInt8.random(in: 0...255) })
            let upload = files.file("upload.bin")
            try bytes.write(to: URL(fileURLWithPath: upload))
            let name = "probe-\(UInt32.random(in: 0...UInt32.max)).bin"

            let put = try Self.ftps(["-T", upload, "ftp://\(Self.lbIP)/\(name)"])
            #expect(put.succeeded, "upload: \(put)\(ftps.report)")
            // The file is in FTP_USER's home (its chroot, on the home volume), owned by it.
            let stored = "/home/\(Self.user)/\(name)"
            let owner = try ftps.exec(["stat", "-c", "%U %s", stored])
            #expect(owner.stdout == "\(Self.user) \(bytes.count)\n", "\(stored): \(owner)")

            // Downloaded back with PASV (not EPSV) so that vsftpd's advertised address and port show.
            let download = files.file("download.bin")
            let get = try Self.ftps(["-v", "--disable-epsv", "-o", download, "ftp://ftps/\(name)"])
            #expect(get.succeeded, "download: \(get)\(ftps.report)")
            #expect(FileManager.default.contents(atPath: download) == bytes, "the downloaded bytes differ from the uploaded ones")
            let pasv = try #require(get.stderr.firstMatch(of: /227 Entering Passive Mode \((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/),
                                    "no PASV reply: \(get)")
            let address = [pasv.output.1, pasv.output.2, pasv.output.3, pasv.output.4].joined(separator: ".")
            let port = Int(pasv.output.5)! * 256 + Int(pasv.output.6)!
            #expect(address == Self.lbIP, "passive address \(address), not LB_IP: \(get)")
            #expect((30000...30004).contains(port), "passive port \(port) outside 30000-30004: \(get)")

            // The listing shows the file; a wrong password is refused.
            let list = try Self.ftps(["ftp://\(Self.lbIP)/"])
            #expect(list.succeeded && list.stdout.contains(name), "listing: \(list)")
            let wrong = try Self.ftps(["ftp://\(Self.lbIP)/"], password: "not-the-password")
            #expect(wrong.code == 67, "a wrong password: \(wrong)")
        }

        @Test func aPlainFTPLoginIsRefused() throws {
            let ftps = try Stack.require("ftps")
            // No AUTH TLS: the right user and password are refused before any file is touched.
            let plain = try Stack.run(["curl", "-sS", "-v", "--max-time", "20", "--user", "\(Self.user):\(Stack.secret("FTP_PASSWORD"))",
                                       "ftp://\(Self.lbIP)/"])
            #expect(plain.code == 67, "plain FTP: \(plain)\(ftps.report)")
            #expect(plain.stderr.contains("< 530"), "no 530 reply: \(plain)")
            // Nor anonymously, even over TLS.
            let anonymous = try Stack.run(["curl", "-sS", "--max-time", "20", "--ssl-reqd", "--cacert", try Stack.certificate(of: ftps),
                                           "ftp://\(Self.lbIP)/"])
            #expect(anonymous.code == 67, "anonymous FTPS: \(anonymous)")
            // The same login over TLS works (so the refusals above are about TLS and anonymity).
            let tls = try Self.ftps(["ftp://\(Self.lbIP)/"])
            #expect(tls.succeeded, "\(tls)\(ftps.report)")
        }

        /// A client that does not resume its control connection's TLS session on a data
        /// connection, as Python's ftplib.FTP_TLS does not.
        static let clientWithoutReuse = #"""
            import ftplib, ssl, sys
            host, user, password, cafile = sys.argv[1:5]
            ftp = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=cafile), timeout=20)
            ftp.connect(host, 21)
            ftp.auth()
            ftp.login(user, password)
            ftp.prot_p()
            try:
                print("listed:", ftp.nlst())
            except ftplib.error_perm as refused:
                print("refused:", refused)
            """#

        /// Issue 17: with every client behind the node's address (externalTrafficPolicy:
        /// Cluster), only the TLS session tells whose data connection it is. lftp and curl
        /// resume it and transfer; a client that does not is refused (522), so someone
        /// connecting to the passive port first gets nothing.
        @Test func aDataConnectionMustResumeItsLoginsTLSSession() throws {
            let ftps = try Stack.require("ftps")
            let files = try Scratch()
            defer { files.remove() }
            let cacert = try Stack.certificate(of: ftps)
            let bytes = Data((0..<(200_000 + Int.random(in: 0..<4096))).map { _ in UInt8.random(in: 0...255) })
            try bytes.write(to: URL(fileURLWithPath: files.file("up.bin")))
            let name = "lftp-\(UInt32.random(in: 0...UInt32.max)).bin"
            // lftp (GnuTLS): TLS required for login and data, the certificate pinned as the only
            // CA; the password in its environment (LFTP_PASSWORD with --env-password).
            let script = """
                set ftp:ssl-force true; set ftp:ssl-protect-data true; set ftp:passive-mode true; set ftp:prefer-epsv false
                set ssl:ca-file \(cacert); set ssl:verify-certificate true; set net:max-retries 1; set net:timeout 15
                open --user \(Self.user) --env-password ftp://\(Self.lbIP)
                put \(files.file("up.bin")) -o \(name); get \(name) -o \(files.file("down.bin")); rm \(name); cls -1
                """
            let lftp = try Stack.run(["lftp", "-c", script], environment: ["LFTP_PASSWORD": Stack.secret("FTP_PASSWORD")])
            #expect(lftp.succeeded, "lftp: \(lftp)\(ftps.report)")
            #expect(FileManager.default.contents(atPath: files.file("down.bin")) == bytes, "lftp: the downloaded bytes differ")
            // curl resumes too (aFileUploadedOverFTPSDownloadsWithTheSameBytes transfers with it).
            let curl = try Self.ftps(["ftp://\(Self.lbIP)/"])
            #expect(curl.succeeded, "curl: \(curl)")

            let plain = try Stack.run(["python3", "-c", Self.clientWithoutReuse, Self.lbIP, Self.user, Stack.secret("FTP_PASSWORD"), cacert])
            #expect(plain.stdout.contains("refused: 522") && plain.stdout.contains("session reuse required"),
                    "a data connection without the login's session: \(plain)\(ftps.report)")
        }

        /// Alpine's vsftpd is built with PAM and its package ships no /etc/pam.d/vsftpd: the image
        /// ships its own, in the form libpam reads (`type control module [arguments]`, bare module
        /// names that libpam looks up in its own module directory), under the name vsftpd.conf
        /// asks for.
        @Test func theImageShipsVsftpdsPAMServiceUnderTheNameVsftpdAsksFor() throws {
            let folder = ImageFolder.path("ftps")
            let text = try String(contentsOfFile: "\(folder)/vsftpd.pam", encoding: .utf8)
            var modulesByType: [String: [String]] = [:]
            for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || line.hasPrefix("#") { continue }
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                #expect(fields.count >= 3, "vsftpd.pam:\(number + 1): not `type control module [arguments]`: \(line)")
                guard fields.count >= 3 else { continue }
                let type = fields[0].hasPrefix("-") ? String(fields[0].dropFirst()) : fields[0]
                #expect(["auth", "account", "password", "session"].contains(type), "vsftpd.pam:\(number + 1): type \(fields[0])")
                #expect(["required", "requisite", "sufficient", "optional"].contains(fields[1]) || fields[1].hasPrefix("["),
                        "vsftpd.pam:\(number + 1): control \(fields[1]) (include/substack would depend on other files)")
                #expect(fields[2].hasSuffix(".so") && !fields[2].contains("/"),
                        "vsftpd.pam:\(number + 1): module \(fields[2]) is not a bare module name")
                modulesByType[type, default: []].append(fields[2])
            }
            #expect(modulesByType["auth"]?.contains("pam_unix.so") == true, "no `auth ... pam_unix.so`: \(modulesByType)")
            #expect(modulesByType["account"]?.contains("pam_unix.so") == true, "no `account ... pam_unix.so`: \(modulesByType)")

            // The Dockerfile puts it at /etc/pam.d/NAME, NAME being vsftpd.conf's pam_service_name.
            let dockerfile = try String(contentsOfFile: "\(folder)/Dockerfile", encoding: .utf8)
            let copy = try #require(dockerfile.firstMatch(of: /\nCOPY vsftpd\.pam \/etc\/pam\.d\/(\S+)\n/),
                                    "images/ftps/Dockerfile does not COPY vsftpd.pam into /etc/pam.d")
            let template = try String(contentsOfFile: "\(folder)/vsftpd.conf.tmpl", encoding: .utf8)
            let service = try #require(template.firstMatch(of: /\npam_service_name=(\S+)\n/), "no pam_service_name in vsftpd.conf.tmpl")
            #expect(copy.output.1 == service.output.1, "COPY to /etc/pam.d/\(copy.output.1), pam_service_name=\(service.output.1)")
        }

        /// A real PAM login through that file: the image's /etc/pam.d holds its vsftpd service and
        /// no fallback `other`. The right password passes, a wrong one is refused; with the file
        /// removed (the control, in a container of its own) the right password is refused too, so
        /// the passing login really went through the image's service.
        @Test func loginsGoThroughTheImagesPAMService() throws {
            let ftps = try Stack.require("ftps")
            let services = try ftps.exec(["ls", "/etc/pam.d"])
            #expect(services.stdout == "vsftpd\n", "the image's PAM services: \(services)")
            let login = try Self.ftps(["ftp://\(Self.lbIP)/"])
            #expect(login.succeeded, "the image's PAM service refused the right password: \(login)\(ftps.report)")

            let control = try Stack.startExtra("ft-test-ftps-no-pam", image: "ftps", environment: Stack.environment(of: "ftps"))
            defer { control.remove() }
            try control.waitHealthy(within: .seconds(60))
            #expect(try control.exec(["rm", "/etc/pam.d/vsftpd"]).succeeded)
            let refused = try Self.ftps(["--connect-to", "ftps:21:\(control.address):21", "--ftp-skip-pasv-ip", "ftp://ftps/"],
                                        container: control)
            #expect(refused.code == 67, "logged in with no /etc/pam.d/vsftpd nor other: PAM was not consulted? \(refused)\(control.report)")
        }

        /// Issue 18 (5): a frozen vsftpd still completes TCP handshakes (into its listen
        /// backlog), so only its greeting tells. The image's own check (`expect "220"`), run
        /// every second here instead of every 30 s, turns unhealthy within interval x retries +
        /// timeout, and ftinit stops everything and exits 1, which ends the container.
        @Test func aFrozenVsftpdTurnsUnhealthyAndEndsTheContainer() throws {
            let files = try Scratch()
            defer { files.remove() }
            let shipped = try String(contentsOfFile: "\(ImageFolder.path("ftps"))/ftinit.conf", encoding: .utf8)
            try #require(shipped.contains("check = tcp 127.0.0.1:21 expect \"220\"\n") && shipped.contains("check-interval = 30s\n"), "\(shipped)")
            let config = try files.write("ftinit.conf", shipped.replacingOccurrences(of: "check-interval = 30s\n", with: "check-interval = 1s\n"))
            let ftps = try Stack.startExtra("ft-test-ftps-frozen", image: "ftps", environment: Stack.environment(of: "ftps"),
                                            extra: ["-v", "\(config):/etc/ftinit.conf:ro"])
            defer { ftps.remove() }
            try ftps.waitHealthy(within: .seconds(60))
            let vsftpd = try #require(ftps.pid(of: "vsftpd"), "\(ftps.report)")
            let frozenAt = ContinuousClock.now
            try #require(try ftps.exec(["kill", "-STOP", vsftpd]).succeeded, "\(ftps.report)")

            let ended = try DockerHost.eventually(.seconds(30)) { try DockerHost.inspect(ftps.name, "{{.State.Running}}") == "false" }
            let after = (ContinuousClock.now - frozenAt).seconds
            try #require(ended, "still running 30 s after vsftpd froze\(ftps.report)")
            // 3 failures 1 s apart, each after its 2 s timeout: about 9 s, with the stop.
            #expect(after < 15, "the container ended \(after) s after the freeze\(ftps.report)")
            #expect(try DockerHost.inspect(ftps.name, "{{.State.ExitCode}}") == "1", "\(ftps.report)")
            let unhealthy = try #require(ftps.events("unhealthy", subject: "vsftpd").first, "\(ftps.report)")
            #expect(unhealthy["check"] == "tcp 127.0.0.1:21 expect \"220\"", "`\(unhealthy)`")
        }

        @Test func killingEachDaemonEndsTheContainer() throws {
            let ftps = try Stack.startExtra("ft-test-ftps-faults", image: "ftps", environment: Stack.environment(of: "ftps"))
            defer { ftps.remove() }
            try ftps.waitHealthy(within: .seconds(60))
            try ftps.expectEachKilledServiceEndsIt()
        }
    }
}
