import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The disk fills up while ftinit writes the TLS pair or a template (docs/ftinit.md, "Boot"):
/// each file is written to a temporary file and renamed, so a full disk must give a clear
/// `boot-failed` error naming the file, exit 73, nothing started, and the previous files
/// byte-identical (no temporary file left behind either).
///
/// The "disk" is a 256 KiB tmpfs mounted by the test on a directory of its scratch dir
/// (unmounted in a `defer`); ftinit's private mount namespace inherits it.
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(Prerequisites.baseTools + ["mount", "umount", "dd"]), what: "disk full tests"))
    struct DiskFull {
        /// A small tmpfs at `scratch/disk`.
        final class SmallDisk {
            let directory: String

            init(in scratch: Scratch, sourceLocation: SourceLocation = #_sourceLocation) throws {
                directory = scratch.file("disk")
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
                let mount = try Tool.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "ft-disk-full", directory],
                                         sourceLocation: sourceLocation)
                try #require(mount.succeeded, "\(mount)", sourceLocation: sourceLocation)
            }

            /// Fills the tmpfs with a file `filler` until the disk says no more, then gives back
            /// `freePages` pages of 4 KiB (tmpfs allocates whole pages).
            func fill(leavingFreePages freePages: Int = 0, sourceLocation: SourceLocation = #_sourceLocation) throws {
                let filler = "\(directory)/filler"
                let dd = try Tool.run(["dd", "if=/dev/zero", "of=\(filler)", "bs=4k"], sourceLocation: sourceLocation)
                #expect(dd.stderr.contains("No space left on device"), "\(dd)", sourceLocation: sourceLocation)
                var info = stat()
                try #require(stat(filler, &info) == 0 && truncate(filler, info.st_size / 4096 * 4096 - off_t(freePages * 4096)) == 0,
                             sourceLocation: sourceLocation)
                var disk = statvfs()
                try #require(statvfs(directory, &disk) == 0 && Int(disk.f_bavail) * Int(disk.f_bsize) == freePages * 4096,
                             "expected \(freePages) free pages, \(disk.f_bavail) blocks of \(disk.f_bsize) free", sourceLocation: sourceLocation)
            }

            func entries() -> [String] {
                ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
            }

            func unmount() {
                _ = try? Tool.run(["umount", "-l", directory])
            }
        }

        static func service(_ scratch: Scratch) -> String {
            """
            [service app]
            run = sh -c 'echo ok > \(scratch.file("started")); exec sleep 4970'

            """
        }

        /// Boots, waits for the service, stops with SIGTERM (exit 0).
        static func bootAndStop(_ path: String, environment: [String: String], scratch: Scratch,
                                sourceLocation: SourceLocation = #_sourceLocation) throws {
            let ftinit = try FTInit.launch(["run", "--config", path], environment: environment, directory: scratch.path,
                                           sourceLocation: sourceLocation)
            defer { ftinit.stop() }
            _ = try ftinit.requireEvent("started", subject: "app", timeout: .seconds(15), sourceLocation: sourceLocation)
            try ftinit.send(SIGTERM, sourceLocation: sourceLocation)
            #expect(try ftinit.exitCode(sourceLocation: sourceLocation) == 0, "\(ftinit.report)", sourceLocation: sourceLocation)
        }

        /// Boots on the full disk: must exit 73 with a `boot-failed` line whose error names
        /// `file` and ENOSPC, and start nothing.
        static func expectBootFailsOnTheFullDisk(_ path: String, environment: [String: String], scratch: Scratch, naming file: String,
                                                sourceLocation: SourceLocation = #_sourceLocation) throws {
            try? FileManager.default.removeItem(atPath: scratch.file("started"))
            let ftinit = try FTInit.launch(["run", "--config", path], environment: environment, directory: scratch.path,
                                           sourceLocation: sourceLocation)
            defer { ftinit.stop() }
            let code = try ftinit.exitCode(timeout: .seconds(15), sourceLocation: sourceLocation)
            #expect(code == 73, "expected EX_CANTCREAT (73)\(ftinit.report)", sourceLocation: sourceLocation)
            let failed = ftinit.events("boot-failed").first
            let error = failed?["error"] ?? ""
            // The destination itself is named, not the temporary file next to it.
            #expect(failed?.level == "error" && error.contains("/\(file): No space left on device"),
                    "expected `ftinit: error boot-failed error=\"unable to write the new .../\(file): No space left on device\"`\(ftinit.report)",
                    sourceLocation: sourceLocation)
            #expect(ftinit.events("started").isEmpty && !scratch.exists("started"), "a service started\(ftinit.report)",
                    sourceLocation: sourceLocation)
            print("DiskFull: \(failed?.line ?? "no boot-failed line")")
        }

        /// A good pair on the disk; the disk fills; the next boot must regenerate the pair (the
        /// load balancer IP changed) and cannot. With no page free the key (written first)
        /// fails; with one page free the new key fits but the certificate does not: the key
        /// written already must not be committed either (both files change together or not at all).
        @Test(arguments: [(0, "key.pem"), (1, "cert.pem")] as [(Int, String)])
        func fullDiskWhileWritingTheTLSPairFailsTheBootAndKeepsTheOldPair(freePages: Int, failing: String) throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let disk = try SmallDisk(in: scratch)
            defer { disk.unmount() }
            let cert = "\(disk.directory)/cert.pem", key = "\(disk.directory)/key.pem"
            let path = try scratch.config("""
                [tls]
                cert = \(cert)
                key = \(key)
                names = app.test
                ips = ${LB_IP}
                key-type = rsa2048

                \(Self.service(scratch))
                """)
            try Self.bootAndStop(path, environment: ["LB_IP": "127.0.0.1"], scratch: scratch)
            let oldCert = try #require(FileFacts.of(cert)), oldKey = try #require(FileFacts.of(key))

            try disk.fill(leavingFreePages: freePages)
            try Self.expectBootFailsOnTheFullDisk(path, environment: ["LB_IP": "10.20.30.40"], scratch: scratch, naming: failing)

            #expect(FileFacts.of(cert) == oldCert && FileFacts.of(key) == oldKey, "the old pair was changed")
            #expect(disk.entries() == ["cert.pem", "filler", "key.pem"], "left on the disk: \(disk.entries())")
        }

        /// A rendered template on the disk; the disk fills; the next boot renders a different
        /// (larger) content and cannot write it.
        @Test func fullDiskWhileWritingATemplateFailsTheBootAndKeepsTheOldFile() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let disk = try SmallDisk(in: scratch)
            defer { disk.unmount() }
            let destination = "\(disk.directory)/app.conf"
            let source = try scratch.write("app.conf.tmpl", "greeting = ${APP_GREETING}\n" + String(repeating: "# padding line\n", count: 200))
            let path = try scratch.config("""
                [template \(destination)]
                source = \(source)
                mode = 0640

                \(Self.service(scratch))
                """)
            try Self.bootAndStop(path, environment: ["APP_GREETING": "hello"], scratch: scratch)
            let old = try #require(FileFacts.of(destination))
            #expect(String(decoding: old.bytes, as: UTF8.self).hasPrefix("greeting = hello\n"))

            try disk.fill()
            try Self.expectBootFailsOnTheFullDisk(path, environment: ["APP_GREETING": "bonjour"], scratch: scratch, naming: "app.conf")

            #expect(FileFacts.of(destination) == old, "the old rendering was changed")
            #expect(disk.entries() == ["app.conf", "filler"], "left on the disk: \(disk.entries())")
        }
    }
}
