import Foundation
import Testing

/// images/ftps built from its own Dockerfile (on the alpine:3.22 stand-in) and run as a
/// container (issue 15): a file uploaded over explicit TLS downloads with the same bytes, and a
/// plain FTP login is refused, and each killed daemon (vsftpd, its log relay) ends the container.
extension Integration {
    @Suite(.requires(.root, .dockerDaemon, .alpineMinirootfs, .tools(["docker", "nsenter", "curl"]), what: "ftps container tests"))
    struct FtpsContainer {
        static let environment = ["LB_IP": "127.0.0.1", "FTP_USER": "ftpuser", "FTP_PASSWORD": "ftp pass'word",
                                  "INFLUXDB_METRICS_USER": "metrics", "INFLUXDB_METRICS_PASSWORD": "x", "INFLUXDB_URL": ""]

        @Test func anUploadOverTLSDownloadsTheSameAndPlainFTPIsRefused() throws {
            let tag = try ImageBuild.require("ftps")
            let container = try Container.start("ft-test-ftps", tag: tag, environment: Self.environment, extra: ["--network", "none"])
            defer { container.remove() }
            try container.waitHealthy(within: .seconds(60))

            let scratch = try Scratch()
            defer { scratch.remove() }
            try #require(try DockerHost.run(["cp", "\(container.name):/etc/ssl/ft/tls/cert.pem", scratch.file("cert.pem")]).succeeded)
            let bytes = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
            try #require(FileManager.default.createFile(atPath: scratch.file("upload.bin"), contents: Data(bytes)))
            let url = "ftp://ftpuser:ftp%20pass%27word@127.0.0.1/upload.bin"
            let tls = ["curl", "-sS", "--ssl-reqd", "--cacert", scratch.file("cert.pem")]
            let upload = try container.inNetwork(tls + ["-T", scratch.file("upload.bin"), url])
            #expect(upload.succeeded, "\(upload)\(container.report)")
            let download = try container.inNetwork(tls + ["-o", scratch.file("download.bin"), url])
            #expect(download.succeeded, "\(download)")
            #expect(FileManager.default.contents(atPath: scratch.file("download.bin")).map(Array.init) == bytes,
                    "the downloaded file differs from the uploaded one")

            let plain = try container.inNetwork(["curl", "-sS", url])
            #expect(plain.code == 67 && plain.stderr.contains("530"), "a plain FTP login was not refused: \(plain)")

            try container.expectEachKilledServiceEndsIt()
        }
    }
}
