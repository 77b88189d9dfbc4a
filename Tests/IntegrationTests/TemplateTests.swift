import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `[template DEST]`: rendered from ftinit's environment before anything starts, atomically,
/// with its mode and owner; an undefined variable writes nothing and exits 78 (docs/ftinit.md,
/// "Boot: templates and the TLS pair").
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(Prerequisites.baseTools + ["cat", "touch", "mv"]), .user("nobody"),
                     what: "template tests"))
    struct Templates {
        static let template = """
            greeting = ${APP_GREETING}
            port = ${APP_PORT:-80}
            fallback = ${APP_MISSING:-use-default}
            empty-with-default = ${APP_EMPTY:-was-empty}
            empty-plain = [${APP_EMPTY}]
            dollars = $$ $$$$ $${APP_GREETING}
            kept = $host $remote_addr $1 $ end$
            twice = ${APP_PORT}${APP_PORT}

            """
        static let rendered = """
            greeting = hello world
            port = 8080
            fallback = use-default
            empty-with-default = was-empty
            empty-plain = []
            dollars = $ $$ ${APP_GREETING}
            kept = $host $remote_addr $1 $ end$
            twice = 80808080

            """
        static let environment = ["APP_GREETING": "hello world", "APP_PORT": "8080", "APP_EMPTY": ""]

        @Test func templatesAreRenderedWithModeAndOwnerBeforeServicesStart() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let source = try scratch.write("app.conf.tmpl", Self.template)
            let secondSource = try scratch.write("second.tmpl", "version ${APP_PORT}\n")
            // etc/app/ does not exist: it is created. replaced.conf exists (0600) and is replaced.
            let destination = scratch.file("etc/app/app.conf")
            let replaced = try scratch.write("replaced.conf", "old content\n", mode: 0o600)
            let oldReplaced = try #require(FileFacts.of(replaced))
            let path = try scratch.config("""
                [template \(destination)]
                source = \(source)
                mode = 0640
                owner = nobody

                [template \(replaced)]
                source = \(secondSource)

                [service reader]
                run = sh -c 'cat \(destination) > \(scratch.file("seen.tmp")) && mv \(scratch.file("seen.tmp")) \(scratch.file("seen.conf")); exec sleep 4801'

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], environment: Self.environment, directory: scratch.path)
            defer { ftinit.stop() }
            _ = try ftinit.requireEvent("started", subject: "reader")
            try scratch.waitFor("seen.conf", report: ftinit.report)

            #expect(scratch.read("etc/app/app.conf") == Self.rendered, "rendering\(ftinit.report)")
            #expect(scratch.read("seen.conf") == Self.rendered, "the service did not find the rendered file at its start")
            let nobody = try #require(Users.account("nobody"))
            let facts = try #require(FileFacts.of(destination))
            #expect(facts.mode == 0o640 && facts.uid == uid_t(nobody.uid) && facts.gid == gid_t(nobody.gid),
                    "expected mode 640 owned by nobody (\(nobody.uid):\(nobody.gid)), got \(facts)")

            #expect(scratch.read("replaced.conf") == "version 8080\n")
            let replacedFacts = try #require(FileFacts.of(replaced))
            #expect(replacedFacts.mode == 0o644 && replacedFacts.uid == 0, "default mode 0644, ftinit's user: \(replacedFacts)")
            #expect(replacedFacts.inode != oldReplaced.inode, "DEST was rewritten in place instead of renamed over")

            // One `rendered` line per template, both before the service started.
            let events = ftinit.events
            for (dest, src) in [(destination, source), (replaced, secondSource)] {
                let index = events.firstIndex { $0.event == "rendered" && $0["template"] == dest && $0["source"] == src }
                let started = events.firstIndex { $0.event == "started" }
                #expect(index != nil && started != nil && index! < started!,
                        "expected `ftinit: info rendered template=\(dest) source=\(src)` before `started`\(ftinit.report)")
            }
            // No temporary file left anywhere.
            #expect(scratch.entries("etc/app") == ["app.conf"], "\(scratch.entries("etc/app"))")
            #expect(scratch.entries() == ["app.conf.tmpl", "etc", "ftinit.conf", "ftinit.sock", "replaced.conf", "second.tmpl", "seen.conf"],
                    "\(scratch.entries())")
        }

        /// Lines 2 and 4 name undefined variables (line 3's has a default): both are reported as
        /// `SOURCE:LINE: undefined variable ${NAME} (...)`, ftinit exits 78 before starting
        /// anything, and DEST is not written: absent stays absent, an old one stays as it was.
        @Test(arguments: [false, true])
        func undefinedVariableIsReportedPerLineExits78AndWritesNothing(destinationExists: Bool) throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let source = try scratch.write("bad.tmpl", """
                ok = ${APP_GREETING}
                bad = ${APP_UNDEFINED_ONE}
                fine = ${APP_UNDEFINED_TWO:-x}
                both = ${APP_GREETING} ${APP_UNDEFINED_THREE}

                """)
            let outDir = scratch.file("out")
            try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: false)
            let destination = "\(outDir)/app.conf"
            if destinationExists { try scratch.write("out/app.conf", "previous content\n", mode: 0o640) }
            let previous = FileFacts.of(destination)
            let path = try scratch.config("""
                [template \(destination)]
                source = \(source)

                [task early]
                run = touch \(scratch.file("task-ran"))

                [service later]
                run = sh -c 'touch \(scratch.file("service-ran")); exec sleep 4802'

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], environment: Self.environment, directory: scratch.path)
            defer { ftinit.stop() }

            let code = try ftinit.exitCode(timeout: .seconds(10))

            #expect(code == 78, "expected EX_CONFIG\(ftinit.report)")
            let lines = ftinit.stderr.lines.map(\.text)
            for (line, name) in [(2, "APP_UNDEFINED_ONE"), (4, "APP_UNDEFINED_THREE")] {
                let prefix = "\(source):\(line): undefined variable ${\(name)}"
                #expect(lines.contains { $0.hasPrefix(prefix) }, "expected a line starting `\(prefix)`\(ftinit.report)")
            }
            #expect(!lines.contains { $0.hasPrefix("\(source):3:") || $0.hasPrefix("\(source):1:") }, "\(ftinit.report)")
            #expect(ftinit.events("started").isEmpty && ftinit.events("rendered").isEmpty, "\(ftinit.report)")
            #expect(!scratch.exists("task-ran") && !scratch.exists("service-ran"), "something ran")
            if destinationExists {
                #expect(FileFacts.of(destination) == previous, "the old DEST was changed")
            } else {
                #expect(!scratch.exists("out/app.conf"), "DEST was created")
            }
            #expect(scratch.entries("out") == (destinationExists ? ["app.conf"] : []), "left in out/: \(scratch.entries("out"))")
        }
    }
}
