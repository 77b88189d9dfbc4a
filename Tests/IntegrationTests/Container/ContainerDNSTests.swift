import Foundation
import Testing

/// The images' `[metrics]` default, `http://influxdb:8086`, resolves the way a pod resolves a
/// Service name: through the cluster DNS named in /etc/resolv.conf, with the namespace's
/// search domains and `ndots:5`. ftinit is a static glibc binary and the Alpine images have
/// neither glibc's NSS modules nor an nsswitch.conf; a `FROM scratch` container has neither
/// too, so this is the images' case. The cluster DNS is a stand-in on 127.0.0.2:53 that knows
/// one name; the container shares the host's network namespace to reach it (the test uses
/// 127.0.0.2:53 and port 18087 there, nothing else).
extension Integration {
    @Suite(.requires(.root, .dockerDaemon, .tools(["docker", "busybox", "python3"]), what: "container DNS tests"))
    struct ContainerDNS {
        static let namespace = "ft-services"
        static let server = "127.0.0.2"

        @Test func influxdbResolvesThroughTheClusterDNSSearchDomains() throws {
            let fqdn = "influxdb.\(Self.namespace).svc.cluster.local"
            let dns = try SpawnedProcess.pythonServer(DNSResponder.script, [Self.server, fqdn, "127.0.0.1"], name: "the stand-in DNS server")
            defer { dns.killAndWait() }

            let files = try Scratch()
            defer { files.remove() }
            // What the kubelet writes into a pod of namespace ft-services.
            let resolvConf = try files.write("resolv.conf", """
                nameserver \(Self.server)
                search \(Self.namespace).svc.cluster.local svc.cluster.local cluster.local
                options ndots:5

                """)
            let port = 18087  // the stand-in InfluxDB (busybox nc, in the container) keeps the first push
            let container = try TestImage.build("ftinit-test-dns", config: """
                [metrics]
                url = http://influxdb:\(port)
                database = ft
                service = dns
                interval = 1s

                [service influx]
                run = /bin/sh -c 'nc -l -p \(port) > /tmp/push.txt; sleep 100000'

                """).run("ftinit-dns", ["-v", "\(resolvConf):/etc/resolv.conf:ro"], network: "host")
            defer { container.remove() }

            var push = ""
            let pushed = DockerHost.eventually(.seconds(10)) {
                push = (try? DockerHost.run(["exec", container.name, "/bin/cat", "/tmp/push.txt"]))?.stdout ?? ""
                return push.contains("ftinit_container,")
            }
            let queries = dns.stdout.lines.map(\.text).filter { $0.hasPrefix("query ") }
            #expect(pushed, "no push arrived; DNS queries: \(queries)\(container.report)")
            #expect(push.contains("Host: influxdb:\(port)\r\n"), "\(push.prefix(300))")
            // ndots:5: the search domains are tried first, the namespace's first of all.
            #expect(queries.first?.hasPrefix("query \(fqdn) ") == true, "\(queries)")
            print("ContainerDNS: queries seen: \(queries)")
        }
    }
}
