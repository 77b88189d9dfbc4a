import Foundation
import Synchronization
import Testing

/// The two images whose Dockerfiles download a release (influxdb, wordpress), built the way the
/// docker-library convention allows on a machine without the internet: the tarball is made here
/// from Debian's files in the release's layout, served on 127.0.0.1 (the build runs with
/// `--network host`), and its own checksum is passed, so the Dockerfile's checksum step runs.
enum LocalDownloads {
    /// images/influxdb from its tarball.
    static func influxdbImage(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try ImageBuild.require("influxdb", arguments: ["--network", "host"] + buildArguments("influxdb", sourceLocation: sourceLocation),
                               sourceLocation: sourceLocation)
    }

    /// images/wordpress from its tarball.
    static func wordpressImage(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try ImageBuild.require("wordpress", arguments: ["--network", "host"] + buildArguments("wordpress", sourceLocation: sourceLocation),
                               sourceLocation: sourceLocation)
    }

    /// How to make the tarball of `image` at `version` in `scratch` (the tar command, the file
    /// name, its operands): influxdb from Debian's influxd and
    /// influx, laid out as InfluxData's static tarball; wordpress from Debian's WordPress as
    /// wordpress.org's.
    private static func pack(_ image: String, version: String, in scratch: Scratch,
                             sourceLocation: SourceLocation) throws -> (command: [String], tarball: String, operands: [String]) {
        if image == "influxdb" {
            let bin = scratch.file("influxdb-\(version)-1/usr/bin")
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            for program in ["influxd", "influx"] {
                try FileManager.default.copyItem(atPath: try #require(Prerequisites.which(program), sourceLocation: sourceLocation),
                                                 toPath: "\(bin)/\(program)")
            }
            return (["tar", "-czf"], "influxdb-\(version)-static_linux_amd64.tar.gz", ["influxdb-\(version)-1"])
        }
        // Links resolved, with its default theme; wordpress/..., no wp-config.php.
        try #require(FileManager.default.fileExists(atPath: "/usr/share/wordpress/wp-content/themes/twentytwentythree/theme.json"),
                     "Debian's wordpress-theme-twentytwentythree is not installed", sourceLocation: sourceLocation)
        return (["tar", "-chzf"], "wordpress-\(version).tar.gz", ["--exclude=wordpress/wp-config.php", "-C", "/usr/share", "wordpress"])
    }

    /// `image`'s NAME_VERSION, NAME_URL and NAME_SHA1 or NAME_SHA256 build arguments (`--build-arg`
    /// pairs) for its tarball, made by `pack` the first time and served on 127.0.0.1 for the rest of the run: a build
    /// needs `--network host` to reach it.
    static func buildArguments(_ image: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        try arguments.withLock { known in
            if let given = known[image] { return given }
            let (version, checksum) = image == "influxdb" ? ("1.6.7", "sha256sum") : ("6.1", "sha1sum")
            let (command, tarball, operands) = try pack(image, version: version, in: try files(), sourceLocation: sourceLocation)
            let packed = try Tool.run(command + [tarball] + operands, directory: try files().path, timeout: .seconds(120))
            try #require(packed.succeeded, "\(packed)", sourceLocation: sourceLocation)
            let sum = try Tool.run([checksum, try files().file(tarball)])
            let digest = try #require(sum.stdout.split(separator: " ").first.map(String.init), "\(sum)", sourceLocation: sourceLocation)
            let prefix = image.uppercased()
            let given = ["--build-arg", "\(prefix)_VERSION=\(version)",
                         "--build-arg", "\(prefix)_URL=http://127.0.0.1:\(try port(sourceLocation: sourceLocation))/\(tarball)",
                         "--build-arg", "\(prefix)_\(checksum == "sha1sum" ? "SHA1" : "SHA256")=\(digest)"]
            known[image] = given
            return given
        }
    }

    private static let arguments = Mutex<[String: [String]]>([:])
    private static let served = Mutex<(files: Scratch, server: SpawnedProcess?)?>(nil)

    private static func files() throws -> Scratch {
        try served.withLock { state in
            if state == nil { state = (try Scratch(), nil) }
            return state!.files
        }
    }

    /// The port of the run's file server (started the first time; it ends with the test process).
    private static func port(sourceLocation: SourceLocation) throws -> Int {
        let directory = try files().path
        return try served.withLock { state in
            if state?.server == nil {
                state?.server = try SpawnedProcess.pythonServer(fileServer, [directory], name: "the tarballs' file server",
                                                                sourceLocation: sourceLocation)
            }
            let line = state?.server?.stdout.lines.first { $0.text.hasPrefix("port ") }?.text ?? ""
            return try #require(Int(line.dropFirst("port ".count)), "the file server said no port", sourceLocation: sourceLocation)
        }
    }

    private static let fileServer = """
        import functools, http.server, os, sys, threading, time
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        print("port", server.server_port, flush=True)
        print("listening", flush=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        parent = os.getppid()
        while os.getppid() == parent:
            time.sleep(1)
        """
}
