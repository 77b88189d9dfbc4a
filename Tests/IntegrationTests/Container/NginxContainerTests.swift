import Foundation
import Testing

/// images/nginx built from its own Dockerfile (on the alpine:3.22 stand-in) and run as a
/// container, clients in its network namespace (issue 15): 80 redirects to https keeping the
/// path, 443 serves the page with the certificate ftinit made, the SSH user logs in with its
/// password, and each killed daemon (nginx, sshd) ends the container at once.
extension Integration {
    @Suite(.requires(.root, .dockerDaemon, .alpineMinirootfs, .tools(["docker", "nsenter", "curl", "ssh", "sshpass"]),
                     what: "nginx container tests"))
    struct NginxContainer {
        static let environment = ["LB_IP": "127.0.0.1", "SSH_USER": "ft", "SSH_PASSWORD": "s3cret pass'word",
                                  "INFLUXDB_METRICS_USER": "metrics", "INFLUXDB_METRICS_PASSWORD": "x", "INFLUXDB_URL": ""]

        @Test func itRedirectsServesLogsInSSHAndEndsWithItsDaemons() throws {
            let tag = try ImageBuild.require("nginx")
            let container = try Container.start("ft-test-nginx", tag: tag, environment: Self.environment, extra: ["--network", "none"])
            defer { container.remove() }
            try container.waitHealthy(within: .seconds(60))

            let redirect = try container.inNetwork(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                                                    "http://127.0.0.1/some/path?q=1"])
            #expect(redirect.stdout == "301 https://127.0.0.1/some/path?q=1", "\(redirect)")

            let scratch = try Scratch()
            defer { scratch.remove() }
            let copied = try DockerHost.run(["cp", "\(container.name):/etc/ssl/ft/tls/cert.pem", scratch.file("cert.pem")])
            try #require(copied.succeeded, "\(copied)")
            let page = try container.inNetwork(["curl", "-sS", "--cacert", scratch.file("cert.pem"), "https://127.0.0.1/"])
            let expected = try String(contentsOfFile: "\(ImageUnderTest.folder("nginx"))/www/index.html", encoding: .utf8)
            #expect(page.succeeded && page.stdout == expected, "\(page)")

            let login = try container.inNetwork(["sshpass", "-p", "s3cret pass'word", "ssh", "-o", "StrictHostKeyChecking=no",
                                                 "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "ft@127.0.0.1",
                                                 "echo logged in as $(id -un)"])
            #expect(login.stdout == "logged in as ft\n", "\(login)\(container.report)")

            try container.expectEachKilledServiceEndsIt()
        }
    }
}
