import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The whole boot path against a real server: ftinit renders nginx's config from a
/// `[template]`, makes the `[tls]` pair, starts nginx, waits for its `https://` check, and real
/// TLS clients (curl, openssl s_client) verify what nginx serves against the files ftinit wrote.
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(Prerequisites.baseTools + ["nginx", "openssl", "curl"]),
                     what: "nginx TLS tests"))
    struct NginxTLS {
        @Test func nginxStartedByFTInitServesTheGeneratedPairAndPassesItsHTTPSCheck() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let port = try Network.freePort()
            let tlsDir = scratch.file("tls")
            try FileManager.default.createDirectory(atPath: tlsDir, withIntermediateDirectories: false)
            let cert = "\(tlsDir)/cert.pem"
            let key = "\(tlsDir)/key.pem"
            // nginx/ does not exist yet: rendering the template creates it.
            let nginxDir = scratch.file("nginx")
            let rendered = "\(nginxDir)/nginx.conf"
            let source = try scratch.write("nginx.conf.tmpl", Nginx.template(tempPaths: try Nginx.tempPathDirectives(in: nginxDir)))
            let check = "http https://127.0.0.1:\(port)/"
            let path = try scratch.config("""
                [tls]
                cert = \(cert)
                key = \(key)
                names = web.test localhost
                ips = 127.0.0.1

                [template \(rendered)]
                source = \(source)
                mode = 0600

                [service nginx]
                run = nginx -e stderr -p \(nginxDir)/ -c \(rendered)
                check = \(check)
                check-interval = 1s
                start-period = 20s
                stop-signal = QUIT
                stop-timeout = 5s

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], environment: [
                "NGINX_DIR": nginxDir, "NGINX_PORT": "\(port)", "TLS_CERT": cert, "TLS_KEY": key,
            ], directory: scratch.path)
            defer { ftinit.stop() }

            let healthy = try ftinit.requireEvent("healthy", subject: "nginx", timeout: .seconds(20))
            #expect(healthy["check"] == check, "`\(healthy)`")

            // Boot order: the template, then the pair, then nginx.
            let events = ftinit.events
            let renderedAt = events.firstIndex { $0.event == "rendered" && $0["template"] == rendered && $0["source"] == source }
            let tlsAt = events.firstIndex { $0.event == "tls" && $0.words == ["generated"] }
            let startedAt = events.firstIndex { $0.event == "started" && $0.subject == "nginx" }
            #expect(renderedAt != nil && tlsAt != nil && startedAt != nil && renderedAt! < tlsAt! && tlsAt! < startedAt!,
                    "expected rendered, tls generated, started nginx in this order\(ftinit.report)")

            // The rendered config: variables in, `$host` kept, `$$` made `$`.
            let text = try #require(FileManager.default.contents(atPath: rendered).map { String(decoding: $0, as: UTF8.self) })
            #expect(text.contains("listen 127.0.0.1:\(port) ssl;") && text.contains("ssl_certificate \(cert);")
                    && text.contains("pid \(nginxDir)/nginx.pid;") && text.contains("error_log stderr warn;"), "\(text)")
            #expect(text.contains("return 200 \"host=$host\\n\";"), "nginx's $host must survive the template\n\(text)")
            #expect(text.contains("price: $5 (a literal dollar)") && !text.contains("$$"), "$$ must become $\n\(text)")
            #expect(FileFacts.of(rendered)?.mode == 0o600)

            // curl verifies the chain and the host name against the file ftinit wrote, for a
            // DNS name, a second DNS name and the IP; nginx answers with the Host it saw.
            for (host, url) in [("web.test", "https://web.test:\(port)/"), ("localhost", "https://localhost:\(port)/"),
                                ("127.0.0.1", "https://127.0.0.1:\(port)/")] {
                let curl = try Tool.run(["curl", "-sS", "--max-time", "10", "--cacert", cert,
                                         "--resolve", "\(host):\(port):127.0.0.1", url])
                #expect(curl.code == 0 && curl.stdout == "host=\(host)\n", "\(curl)\(ftinit.report)")
            }
            // A name the certificate does not hold fails verification: curl really checks.
            let wrongName = try Tool.run(["curl", "-sS", "--max-time", "10", "--cacert", cert,
                                          "--resolve", "other.test:\(port):127.0.0.1", "https://other.test:\(port)/"])
            #expect(wrongName.code != 0, "curl accepted a name outside subjectAltName\n\(wrongName)")

            // The certificate nginx serves is the file's, byte for byte (same fingerprint).
            let handshake = try Tool.run(["openssl", "s_client", "-connect", "127.0.0.1:\(port)", "-servername", "web.test",
                                          "-CAfile", cert, "-verify_hostname", "web.test", "-verify_return_error"],
                                         timeout: .seconds(15))
            #expect(handshake.code == 0, "\(handshake)")
            let served = try scratch.write("served.pem", handshake.stdout)
            let servedFingerprint = try OpenSSL.run(["x509", "-in", served, "-noout", "-fingerprint", "-sha256"])
            let fileFingerprint = try CertificateInfo.read(cert).fingerprint
            #expect(servedFingerprint.contains(fileFingerprint), "served \(servedFingerprint), file \(fileFingerprint)")

            try ftinit.send(SIGTERM)
            #expect(try ftinit.exitCode(timeout: .seconds(10)) == 0, "\(ftinit.report)")
            #expect(ftinit.events("exited", subject: "nginx").first != nil, "\(ftinit.report)")
        }
    }
}
