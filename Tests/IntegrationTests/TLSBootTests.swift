import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `[tls]` in `ftinit run`: the pair is made or kept before any service starts, regenerated
/// when it no longer fits, written so that a crash never leaves a mismatched pair in use
/// (docs/ftinit.md, "Boot: templates and the TLS pair").
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(Prerequisites.baseTools + ["openssl", "cat", "mv"]), .user("nobody"),
                     what: "[tls] boot tests"))
    struct TLSBoot {
        /// The pair lives in `tls/` of the scratch dir; the service copies the certificate it
        /// finds at its start to `seen-cert.pem` (whole, by rename), so the test knows what
        /// services got to read.
        struct Setup {
            let scratch: Scratch
            var cert: String { scratch.file("tls/cert.pem") }
            var key: String { scratch.file("tls/key.pem") }

            init() throws {
                scratch = try Scratch()
                try FileManager.default.createDirectory(atPath: scratch.file("tls"), withIntermediateDirectories: false)
            }

            @discardableResult
            func config(_ tlsExtra: String = "", owner: String? = "nobody", days: Int = 90) throws -> String {
                try scratch.config("""
                    [tls]
                    cert = \(cert)
                    key = \(key)
                    names = app.test localhost
                    ips = ${LB_IP}
                    days = \(days)
                    \(owner.map { "owner = \($0)" } ?? "")
                    \(tlsExtra)

                    [service reader]
                    run = sh -c 'cat \(cert) > \(scratch.file("seen.tmp")) && mv \(scratch.file("seen.tmp")) \(scratch.file("seen-cert.pem")); exec sleep 4701'

                    """)
            }

            /// Boots ftinit until `reader` started, then stops it (SIGTERM, exit 0).
            func boot(lbIP: String = "127.0.0.1", readOnly: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> FTInit {
                try? FileManager.default.removeItem(atPath: scratch.file("seen-cert.pem"))
                let ftinit = try FTInit.launch(["run", "--config", scratch.file("ftinit.conf")], environment: ["LB_IP": lbIP],
                                               directory: scratch.path, readOnlyMounts: readOnly, sourceLocation: sourceLocation)
                defer { ftinit.stop() }
                _ = try ftinit.requireEvent("started", subject: "reader", timeout: .seconds(15), sourceLocation: sourceLocation)
                try scratch.waitFor("seen-cert.pem", sourceLocation: sourceLocation, report: ftinit.report)
                try ftinit.send(SIGTERM, sourceLocation: sourceLocation)
                #expect(try ftinit.exitCode(sourceLocation: sourceLocation) == 0, "\(ftinit.report)", sourceLocation: sourceLocation)
                return ftinit
            }

            /// The `ftinit: info tls generated|kept ...` line, which must come before the
            /// service's `started` line.
            func tlsLine(_ ftinit: FTInit, sourceLocation: SourceLocation = #_sourceLocation) throws -> LogEvent {
                let line = try #require(ftinit.events("tls").first, "no `ftinit: info tls ...` line\(ftinit.report)",
                                        sourceLocation: sourceLocation)
                #expect(line["cert"] == cert && line["key"] == key && line["reason"].map { !$0.isEmpty } == true,
                        "expected `ftinit: info tls generated|kept cert=\(cert) key=\(key) reason=\"...\"`, got `\(line)`",
                        sourceLocation: sourceLocation)
                let events = ftinit.events
                let tlsIndex = events.firstIndex { $0.event == "tls" }
                let startedIndex = events.firstIndex { $0.event == "started" }
                #expect(tlsIndex != nil && startedIndex != nil && tlsIndex! < startedIndex!,
                        "the pair must be ready before any service starts\(ftinit.report)", sourceLocation: sourceLocation)
                #expect(scratch.read("seen-cert.pem") == scratch.read("tls/cert.pem"),
                        "the service read another certificate than the one left in place", sourceLocation: sourceLocation)
                return line
            }

            /// Nothing but the pair in the directory: no temporary file was left behind.
            func expectOnlyThePair(sourceLocation: SourceLocation = #_sourceLocation) {
                #expect(scratch.entries("tls") == ["cert.pem", "key.pem"], "left in tls/: \(scratch.entries("tls"))",
                        sourceLocation: sourceLocation)
            }
        }

        @Test func firstBootMakesThePairBeforeServicesStartWithModesAndOwner() throws {
            let setup = try Setup()
            defer { setup.scratch.remove() }
            try setup.config()
            let before = Date()

            let ftinit = try setup.boot(lbIP: "127.0.0.1")

            let line = try setup.tlsLine(ftinit)
            #expect(line.words == ["generated"], "`\(line)`")
            let info = try CertificateInfo.read(setup.cert)
            #expect(Set(info.subjectAltNames) == ["DNS:app.test", "DNS:localhost", "IP Address:127.0.0.1"],
                    "names, and `ips = ${LB_IP}` expanded: \(info.subjectAltNames)")
            #expect(info.subject == "CN=app.test")
            #expect(abs(info.notAfter.timeIntervalSince(before) - 90 * 86_400) < 300, "days = 90: notAfter \(info.notAfter)")
            #expect(try OpenSSL.keyMatches(cert: setup.cert, key: setup.key))

            let nobody = try #require(Users.account("nobody"))
            let key = try #require(FileFacts.of(setup.key))
            let cert = try #require(FileFacts.of(setup.cert))
            #expect(key.mode == 0o600 && key.uid == uid_t(nobody.uid) && key.gid == gid_t(nobody.gid),
                    "key: expected mode 600 owned by nobody (\(nobody.uid):\(nobody.gid)), got \(key)")
            #expect(cert.mode == 0o644, "cert: \(cert)")
            setup.expectOnlyThePair()
        }

        @Test func secondBootKeepsThePairUntouched() throws {
            let setup = try Setup()
            defer { setup.scratch.remove() }
            try setup.config()
            _ = try setup.boot()
            let cert = try #require(FileFacts.of(setup.cert))
            let key = try #require(FileFacts.of(setup.key))

            let second = try setup.boot()

            let line = try setup.tlsLine(second)
            #expect(line.words == ["kept"], "`\(line)`")
            #expect(FileFacts.of(setup.cert) == cert, "the certificate changed on a boot that kept it")
            #expect(FileFacts.of(setup.key) == key, "the key changed on a boot that kept it")
            setup.expectOnlyThePair()
        }

        @Test func changedIPsRegenerateThePair() throws {
            let setup = try Setup()
            defer { setup.scratch.remove() }
            try setup.config()
            _ = try setup.boot(lbIP: "127.0.0.1")
            let oldPublicKey = try OpenSSL.publicKey(ofKey: setup.key)

            let second = try setup.boot(lbIP: "10.20.30.40")

            let line = try setup.tlsLine(second)
            #expect(line.words == ["generated"], "a new LoadBalancer IP must regenerate: `\(line)`")
            let sans = try CertificateInfo.read(setup.cert).subjectAltNames
            #expect(Set(sans) == ["DNS:app.test", "DNS:localhost", "IP Address:10.20.30.40"], "\(sans)")
            #expect(try OpenSSL.publicKey(ofKey: setup.key) != oldPublicKey, "the key was not regenerated")
            #expect(try OpenSSL.keyMatches(cert: setup.cert, key: setup.key))
            setup.expectOnlyThePair()
        }

        /// A pair made by openssl, valid for 1 day: kept with `renew-before = 12h`, regenerated
        /// with `renew-before = 2d`.
        @Test func pairExpiringWithinRenewBeforeIsRegenerated() throws {
            let setup = try Setup()
            defer { setup.scratch.remove() }
            try OpenSSL.run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                             "-keyout", setup.key, "-out", setup.cert, "-days", "1", "-subj", "/CN=app.test",
                             "-addext", "subjectAltName=DNS:app.test,DNS:localhost,IP:127.0.0.1"])
            chmod(setup.key, 0o600)
            let original = try #require(FileFacts.of(setup.cert))

            try setup.config("renew-before = 12h", owner: nil)
            let keeping = try setup.boot()
            #expect(try setup.tlsLine(keeping).words == ["kept"], "a fitting pair expiring in 24 h, renew-before 12h\(keeping.report)")
            #expect(FileFacts.of(setup.cert) == original)

            try setup.config("renew-before = 2d", owner: nil)
            let renewing = try setup.boot()
            let line = try setup.tlsLine(renewing)
            #expect(line.words == ["generated"], "expires in 24 h, renew-before 2d: `\(line)`")
            #expect(line["reason"]?.lowercased().contains("expir") == true, "the reason should say it expires: `\(line)`")
            let info = try CertificateInfo.read(setup.cert)
            #expect(info.notAfter.timeIntervalSinceNow > 89 * 86_400, "the new certificate is valid for days = 90: \(info.notAfter)")
            #expect(try OpenSSL.keyMatches(cert: setup.cert, key: setup.key))
            setup.expectOnlyThePair()
        }

        /// A renew-before as long as the validity would make a new pair on every boot: that is
        /// refused as a config error before anything is written or started.
        /// Issue 14, defect 11 (first part): a kept key whose file was swapped for a symbolic
        /// link (by a user who can write its directory) is refused, exit 73, and the link's
        /// target keeps its owner. Before, ftinit as root chowned the target to the key's
        /// owner: a way to take any file of the machine.
        @Test func aKeySwappedForASymbolicLinkIsRefusedAndItsTargetKeepsItsOwner() throws {
            let setup = try Setup()
            defer { setup.scratch.remove() }
            try setup.config()
            _ = try setup.boot()
            // The attack: the real key moved elsewhere (the pair still fits), a link in its place.
            let victim = setup.scratch.file("victim-key.pem")
            try FileManager.default.moveItem(atPath: setup.key, toPath: victim)
            try #require(chown(victim, 0, 0) == 0)
            try FileManager.default.createSymbolicLink(atPath: setup.key, withDestinationPath: victim)
            let ftinit = try FTInit.launch(["run", "--config", setup.scratch.file("ftinit.conf")], environment: ["LB_IP": "127.0.0.1"],
                                           directory: setup.scratch.path)
            defer { ftinit.stop() }
            #expect(try ftinit.exitCode(timeout: .seconds(15)) == 73, "\(ftinit.report)")
            #expect(ftinit.stderr.text.contains("unable to use \(setup.key) as the TLS key: it is a symbolic link"), "\(ftinit.report)")
            var info = stat()
            #expect(stat(victim, &info) == 0 && info.st_uid == 0, "the link's target was handed to uid \(info.st_uid)")
            #expect(ftinit.events("started").isEmpty, "\(ftinit.report)")
        }

        /// Issue 14, defect 11: the pair's directory replaced by a link to another directory
        /// (by a user who can write its parent), or left writable by every user as minikube
        /// makes its volumes (0777). Root followed the link and wrote there, and trusted the
        /// 0777 directory; now both are refused before anything starts, naming the directory,
        /// and a directory of ftinit's own inside the 0777 one is fine. The previous binary
        /// wrote the key through the link (exit 0).
        @Test func aPairDirectorySwappedForALinkOrWritableByEveryUserIsRefused() throws {
            let setup = try Setup()
            defer { setup.scratch.remove() }
            try setup.config()
            let elsewhere = setup.scratch.file("elsewhere")
            try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: false)
            try FileManager.default.removeItem(atPath: setup.scratch.file("tls"))
            try FileManager.default.createSymbolicLink(atPath: setup.scratch.file("tls"), withDestinationPath: elsewhere)
            let linked = try FTInit.launch(["run", "--config", setup.scratch.file("ftinit.conf")], environment: ["LB_IP": "127.0.0.1"],
                                           directory: setup.scratch.path)
            defer { linked.stop() }
            #expect(try linked.exitCode(timeout: .seconds(15)) == 73, "\(linked.report)")
            #expect(linked.stderr.text.contains("unable to write \(setup.key): \(setup.scratch.file("tls")) is a symbolic link"), "\(linked.report)")
            #expect((try? FileManager.default.contentsOfDirectory(atPath: elsewhere)) == [], "written through the link")
            #expect(linked.events("started").isEmpty, "\(linked.report)")

            try FileManager.default.removeItem(atPath: setup.scratch.file("tls"))
            try FileManager.default.createDirectory(atPath: setup.scratch.file("tls"), withIntermediateDirectories: false)
            try #require(chmod(setup.scratch.file("tls"), 0o777) == 0)
            let shared = try FTInit.launch(["run", "--config", setup.scratch.file("ftinit.conf")], environment: ["LB_IP": "127.0.0.1"],
                                           directory: setup.scratch.path)
            defer { shared.stop() }
            #expect(try shared.exitCode(timeout: .seconds(15)) == 73, "\(shared.report)")
            #expect(shared.stderr.text.contains("unable to write \(setup.key): its directory \(setup.scratch.file("tls")) can be changed by another user: every user may write it (mode 0777)"),
                    "\(shared.report)")
            #expect((try? FileManager.default.contentsOfDirectory(atPath: setup.scratch.file("tls"))) == [], "written into the 0777 directory")
        }

        @Test func renewBeforeNotShorterThanTheValidityIsAConfigError() throws {
            let setup = try Setup()
            defer { setup.scratch.remove() }
            let path = try setup.config("renew-before = 400d", days: 365)
            let ftinit = try FTInit.launch(["run", "--config", path], environment: ["LB_IP": "127.0.0.1"], directory: setup.scratch.path)
            defer { ftinit.stop() }

            #expect(try ftinit.exitCode(timeout: .seconds(5)) == 78, "\(ftinit.report)")
            let line = try #require(ftinit.stderr.lines.first?.text, "\(ftinit.report)")
            #expect(line == "\(path):1: days (365d) must be longer than renew-before (400d), or every boot makes a new pair", "\(ftinit.report)")
            #expect(FileFacts.of(setup.cert) == nil && FileFacts.of(setup.key) == nil, "a pair was written")
            #expect(ftinit.events("started").isEmpty)
        }

        /// The state a crash between the key's rename and the certificate's leaves: a new key
        /// next to the old certificate. The next boot notices before any service reads them.
        @Test func keyThatDoesNotMatchTheCertificateIsReplacedBeforeServicesStart() throws {
            let setup = try Setup()
            defer { setup.scratch.remove() }
            try setup.config()
            _ = try setup.boot()
            try OpenSSL.makeKey(setup.key)
            chmod(setup.key, 0o600)
            chown(setup.key, 65534, 65534)
            #expect(try !OpenSSL.keyMatches(cert: setup.cert, key: setup.key), "the simulated crash did not mismatch the pair")

            let ftinit = try setup.boot()

            let line = try setup.tlsLine(ftinit)
            #expect(line.words == ["generated"], "`\(line)`")
            #expect(line["reason"]?.contains("does not match") == true, "the reason should say the key does not match: `\(line)`")
            #expect(try OpenSSL.keyMatches(cert: setup.cert, key: setup.key), "a mismatched pair was left in place")
            #expect(FileFacts.of(setup.key)?.mode == 0o600)
            setup.expectOnlyThePair()
        }

        /// The pair must be regenerated (new IP) but its directory is read-only: exit 73 with
        /// a `boot-failed` line, nothing started, the old pair intact.
        @Test func pairThatCannotBeWrittenExits73AndLeavesTheOldPairIntact() throws {
            let setup = try Setup()
            defer { setup.scratch.remove() }
            try setup.config()
            _ = try setup.boot(lbIP: "127.0.0.1")
            let cert = try #require(FileFacts.of(setup.cert))
            let key = try #require(FileFacts.of(setup.key))

            let ftinit = try FTInit.launch(["run", "--config", setup.scratch.file("ftinit.conf")], environment: ["LB_IP": "10.20.30.40"],
                                           directory: setup.scratch.path, readOnlyMounts: [setup.scratch.file("tls")])
            defer { ftinit.stop() }
            let code = try ftinit.exitCode(timeout: .seconds(10))

            #expect(code == 73, "expected EX_CANTCREAT\(ftinit.report)")
            let failed = ftinit.events("boot-failed").first
            #expect(failed?.level == "error" && failed?["error"].map { !$0.isEmpty } == true,
                    "expected `ftinit: error boot-failed error=\"...\"`\(ftinit.report)")
            #expect(ftinit.events("started").isEmpty, "a service started without its pair\(ftinit.report)")
            #expect(FileFacts.of(setup.cert) == cert && FileFacts.of(setup.key) == key, "the old pair was changed")
            setup.expectOnlyThePair()
        }

        /// A pair that fits needs no writing, so a read-only directory (a Secret or ConfigMap
        /// volume) must not stop the boot: it is kept.
        @Test func fittingPairInAReadOnlyDirectoryIsKept() throws {
            let setup = try Setup()
            defer { setup.scratch.remove() }
            try setup.config(owner: nil)
            _ = try setup.boot()
            let cert = try #require(FileFacts.of(setup.cert))
            let key = try #require(FileFacts.of(setup.key))
            #expect(key.mode == 0o600 && key.uid == 0, "precondition: the key is already 0600 root")

            let ftinit = try FTInit.launch(["run", "--config", setup.scratch.file("ftinit.conf")], environment: ["LB_IP": "127.0.0.1"],
                                           directory: setup.scratch.path, readOnlyMounts: [setup.scratch.file("tls")])
            defer { ftinit.stop() }
            let started = ftinit.waitForEvent("started", subject: "reader", timeout: .seconds(10))

            #expect(started != nil, "a fitting pair on a read-only volume stopped the boot\(ftinit.report)")
            #expect(ftinit.events("tls").first?.words == ["kept"], "\(ftinit.report)")
            #expect(FileFacts.of(setup.cert) == cert && FileFacts.of(setup.key) == key)
        }
    }
}
