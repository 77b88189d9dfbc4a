import Foundation
import Testing

/// The two images whose Dockerfiles download a release (influxdb, wordpress), built the way the
/// docker-library convention allows on a machine without the internet: the tarball is made here
/// from Debian's files in the release's layout, served on 127.0.0.1 (the build runs with
/// `--network host`), and its own checksum is passed, so the Dockerfile's checksum step runs.
enum LocalDownloads {
    /// images/influxdb from Debian's influxd and influx, laid out as InfluxData's static tarball.
    static func influxdbImage(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try build("influxdb", version: "1.6.7", checksum: "sha256sum", sourceLocation: sourceLocation) { scratch, version in
            let bin = scratch.file("influxdb-\(version)-1/usr/bin")
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            for program in ["influxd", "influx"] {
                try FileManager.default.copyItem(atPath: try #require(Prerequisites.which(program), sourceLocation: sourceLocation),
                                                 toPath: "\(bin)/\(program)")
            }
            return (["tar", "-czf"], "influxdb-\(version)-static_linux_amd64.tar.gz", ["influxdb-\(version)-1"])
        }
    }

    /// images/wordpress from Debian's WordPress (links resolved, with its default theme) as
    /// wordpress.org's tarball lays it out: wordpress/..., no wp-config.php.
    static func wordpressImage(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try build("wordpress", version: "6.1", checksum: "sha1sum", sourceLocation: sourceLocation) { _, version in
            try #require(FileManager.default.fileExists(atPath: "/usr/share/wordpress/wp-content/themes/twentytwentythree/theme.json"),
                         "Debian's wordpress-theme-twentytwentythree is not installed", sourceLocation: sourceLocation)
            return (["tar", "-chzf"], "wordpress-\(version).tar.gz",
                    ["--exclude=wordpress/wp-config.php", "-C", "/usr/share", "wordpress"])
        }
    }

    /// Makes the tarball in a scratch directory (`pack` returns the tar command, the file name
    /// and its operands), serves it, and builds `image` with NAME_VERSION, NAME_URL and NAME_SHA1
    /// or NAME_SHA256 as build arguments.
    private static func build(
        _ image: String, version: String, checksum: String, sourceLocation: SourceLocation,
        pack: (Scratch, String) throws -> (command: [String], tarball: String, operands: [String])
    ) throws -> String {
        if let tag = ImageBuild.builtTag(image) { return tag }
        let scratch = try Scratch()
        defer { scratch.remove() }
        let (command, tarball, operands) = try pack(scratch, version)
        let packed = try Tool.run(command + [tarball] + operands, directory: scratch.path, timeout: .seconds(120))
        try #require(packed.succeeded, "\(packed)", sourceLocation: sourceLocation)
        let sum = try Tool.run([checksum, scratch.file(tarball)])
        let digest = try #require(sum.stdout.split(separator: " ").first.map(String.init), "\(sum)", sourceLocation: sourceLocation)
        // Port 0: the server takes a free one and says which on its first line.
        let python = try #require(Prerequisites.which("python3"), sourceLocation: sourceLocation)
        let server = try SpawnedProcess(executable: python, arguments: ["-u", "-m", "http.server", "--bind", "127.0.0.1", "0"],
                                        environment: ["PATH": Prerequisites.path], directory: scratch.path)
        defer { server.killAndWait() }
        var port: Int?
        Poll.until(timeout: .seconds(10)) {
            let words = server.stdout.text.split(separator: " ")
            port = words.firstIndex(of: "port").flatMap { words.indices.contains($0 + 1) ? Int(words[$0 + 1]) : nil }
            return port != nil
        }
        let served = try #require(port, "python3 -m http.server did not say its port: \(server.stdout.text)", sourceLocation: sourceLocation)
        let prefix = image.uppercased()
        return try ImageBuild.require(image, arguments: [
            "--network", "host",
            "--build-arg", "\(prefix)_VERSION=\(version)",
            "--build-arg", "\(prefix)_URL=http://127.0.0.1:\(served)/\(tarball)",
            "--build-arg", "\(prefix)_\(checksum == "sha1sum" ? "SHA1" : "SHA256")=\(digest)",
        ], sourceLocation: sourceLocation)
    }
}
