import Foundation
import Testing

/// The scripts outside the images pass the linters too: shellcheck on every shell script
/// (scripts/, fuzz/, .ci/run; setup.sh and the images' scripts have their own suites) and
/// pyflakes on every Python file. Nothing else runs the benchmarks, the dashboard generator's
/// helpers or fuzz/ in full in CI, so this is what keeps them from rotting unseen.
extension Integration {
    @Suite(.requires(.tools(["shellcheck", "pyflakes", "git"]), what: "repository lint tests"))
    struct RepositoryLint {
        static var root: String { FTInitBinary.packageRoot.path }

        /// The tracked files, paths relative to the repository root.
        static func trackedFiles() throws -> [String] {
            let listed = try Tool.run(["git", "ls-files"], directory: root)
            try #require(listed.succeeded, "\(listed)")
            return listed.stdout.split(separator: "\n").map(String.init)
        }

        @Test func shellScriptsOutsideTheImagesPassShellcheck() throws {
            let scripts = try Self.trackedFiles().filter { path in
                guard !path.hasPrefix("images/"), path != "setup.sh",
                      let head = FileManager.default.contents(atPath: "\(Self.root)/\(path)")?.prefix(64) else { return false }
                return String(decoding: head, as: UTF8.self).split(separator: "\n").first.map { $0.hasPrefix("#!") && $0.hasSuffix("sh") } ?? false
            }
            #expect(scripts.contains("scripts/dockerd-private") && scripts.contains(".ci/run") && scripts.contains("fuzz/build"),
                    "the shell scripts were not found: \(scripts)")
            // -x: the sourced scripts (scripts/credentials.sh) are checked with what sources them.
            let result = try Tool.run(["shellcheck", "-x", "--severity=style"] + scripts, directory: Self.root)
            #expect(result.succeeded, "\(result)")
        }

        @Test func pythonFilesPassPyflakes() throws {
            let files = try Self.trackedFiles().filter { $0.hasSuffix(".py") }
            #expect(files.contains("bench/compare.py") && files.contains("images/grafana/dashboards/generate.py"), "\(files)")
            let result = try Tool.run(["pyflakes"] + files, directory: Self.root)
            #expect(result.succeeded, "\(result)")
        }
    }
}
