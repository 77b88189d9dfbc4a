import Foundation
import Glibc
import Testing
@testable import FTInit

/// `[template DEST]` rendering (docs/ftinit.md, "Boot: templates and the TLS pair", step 1).
@Suite struct TemplateRendererTests {
    static func render(_ text: String, _ environment: [String: String] = [:], source: String = "/t/app.tmpl") -> Result<String, ConfigErrors> {
        TemplateRenderer.render(text, source: source, expander: Expander(environment: environment))
    }

    static func undefined(_ name: String) -> String {
        "undefined variable ${\(name)} (set it, or write ${\(name):-default})"
    }

    // MARK: render

    @Test(arguments: [
        ("server_name ${HOST};\n", ["HOST": "web.local"], "server_name web.local;\n"),
        ("listen ${PORT:-80};\n", [:], "listen 80;\n"),
        ("listen ${PORT:-80};\n", ["PORT": "8080"], "listen 8080;\n"),
        ("listen ${PORT:-80};\n", ["PORT": ""], "listen 80;\n"),
        ("a=${EMPTY}.\n", ["EMPTY": ""], "a=.\n"),
        ("${A}${B}${A}\n", ["A": "1", "B": "2"], "121\n"),
        ("pasv_address=${LB_IP}\npasv_enable=YES\n", ["LB_IP": "192.168.49.2"], "pasv_address=192.168.49.2\npasv_enable=YES\n"),
        ("define('DB_PASSWORD', '${DB_PASSWORD}');\n", ["DB_PASSWORD": #"p@ss "w\ord" $x ${Y}"#],
         #"define('DB_PASSWORD', 'p@ss "w\ord" $x ${Y}');"# + "\n"),
        ("price: $$5, shell: $$HOME, pid: $$$$\n", [:], "price: $5, shell: $HOME, pid: $$\n"),
        ("$${NOT_A_VARIABLE}\n", [:], "${NOT_A_VARIABLE}\n"),
        ("base=$${file%.*}\n", [:], "base=${file%.*}\n"),
        ("proxy_set_header Host $host;\nreturn 301 https://$host$request_uri;\n", [:],
         "proxy_set_header Host $host;\nreturn 301 https://$host$request_uri;\n"),
        ("rewrite ^/(.*)$ /index.php?q=$1 last;\n", [:], "rewrite ^/(.*)$ /index.php?q=$1 last;\n"),
        ("cost $ 5 and a lone $\n$", [:], "cost $ 5 and a lone $\n$"),
        ("${HOST}:$server_port\n", ["HOST": "h"], "h:$server_port\n"),
        ("default with blanks: ${GREETING:-hello world}\n", [:], "default with blanks: hello world\n"),
        ("unicode: café ${NAME} ✓\n", ["NAME": "Zoë"], "unicode: café Zoë ✓\n"),
    ] as [(String, [String: String], String)])
    func substitutesVariablesAndKeepsOtherDollars(template: String, environment: [String: String], expected: String) throws {
        #expect(try Self.render(template, environment).get() == expected)
    }

    @Test(arguments: [
        ("a=${A}\r\nb=${B}\r\n", "a=1\r\nb=2\r\n"),
        ("a=${A}\nb=${B}", "a=1\nb=2"),
        ("a=${A}", "a=1"),
        ("a=${A}\r\nb=${B}", "a=1\r\nb=2"),
        ("\n\n${A}\n\n", "\n\n1\n\n"),
        ("mixed\r\n${A}\nend\r\n", "mixed\r\n1\nend\r\n"),
        ("", ""),
    ])
    func keepsLineEndingsAndAMissingFinalNewline(template: String, expected: String) throws {
        #expect(try Self.render(template, ["A": "1", "B": "2"]).get() == expected)
    }

    @Test func reportsEveryLineWithAnUndefinedVariable() {
        let template = "# app\nhost=${DB_HOST}\nport=${DB_PORT:-5432}\nuser=${DB_USER}\npassword=${DB_PASSWORD}\n"
        let result = Self.render(template, ["DB_USER": "app"], source: "/etc/ftinit/app.conf.tmpl")
        guard case .failure(let errors) = result else { Issue.record("rendered with undefined variables"); return }
        #expect(errors.diagnostics.map(\.description) == [
            "/etc/ftinit/app.conf.tmpl:2: \(Self.undefined("DB_HOST"))",
            "/etc/ftinit/app.conf.tmpl:5: \(Self.undefined("DB_PASSWORD"))",
        ])
    }

    @Test func linesAreCountedInCRLFTemplatesToo() {
        let template = "[global]\r\nlisten=YES\r\npasv_address=${LB_IP}\r\n"
        let result = Self.render(template, source: "/t/vsftpd.conf.tmpl")
        guard case .failure(let errors) = result else { Issue.record("rendered with an undefined variable"); return }
        #expect(errors.diagnostics.map(\.description) == ["/t/vsftpd.conf.tmpl:3: \(Self.undefined("LB_IP"))"])
    }

    @Test func anUndefinedVariableOnTheLastLineWithoutNewline() {
        guard case .failure(let errors) = Self.render("a\nb\n${C}") else { Issue.record("rendered"); return }
        #expect(errors.diagnostics == [Diagnostic(file: "/t/app.tmpl", line: 3, message: Self.undefined("C"))])
    }

    @Test(arguments: [
        ("ok\nvalue=${UNTERMINATED\n", "/t/app.tmpl:2: unterminated ${ (missing })"),
        ("ok\nok\nvalue=${1BAD}\n", "/t/app.tmpl:3: bad variable reference ${1BAD}"),
        ("value=${}\n", "/t/app.tmpl:1: bad variable reference ${}"),
        ("base=${file%.*}\n", "/t/app.tmpl:1: bad variable reference ${file%.*}"),
    ])
    func reportsMalformedReferencesOnTheirLine(template: String, diagnostic: String) {
        guard case .failure(let errors) = Self.render(template) else { Issue.record("rendered"); return }
        #expect(errors.diagnostics.map(\.description) == [diagnostic])
    }

    @Test func variablesComeOnlyFromTheGivenEnvironment() {
        // PATH is set for the test run; the renderer must not read the process environment.
        guard case .failure(let errors) = Self.render("${PATH}\n") else { Issue.record("read the process environment"); return }
        #expect(errors.diagnostics.map(\.description) == ["/t/app.tmpl:1: \(Self.undefined("PATH"))"])
    }

    // MARK: applyAll

    static func spec(_ directory: TemporaryDirectory, dest: String = "out/app.conf", mode: UInt32 = 0o644) -> TemplateSpec {
        var spec = TemplateSpec(destination: directory.file(dest), source: directory.file("app.conf.tmpl"), line: 1)
        spec.mode = mode
        return spec
    }

    @Test(arguments: [0o644, 0o600, 0o640, 0o755, 0o400] as [UInt32])
    func applyWritesTheDestinationWithItsMode(mode: UInt32) throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("app.conf.tmpl"), "listen ${PORT:-80};\nroot $document_root;\n")
        let spec = Self.spec(directory, mode: mode)
        try TemplateRenderer.applyAll([(spec, nil)], expander: Expander(environment: ["PORT": "8080"]))
        #expect(contents(of: spec.destination) == "listen 8080;\nroot $document_root;\n")
        #expect(permissions(of: spec.destination) == mode)
    }

    @Test func applyCreatesMissingDirectoriesOfTheDestination() throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("app.conf.tmpl"), "x\n")
        let spec = Self.spec(directory, dest: "a/b/c/app.conf")
        try TemplateRenderer.applyAll([(spec, nil)], expander: Expander(environment: [:]))
        #expect(contents(of: spec.destination) == "x\n")
    }

    @Test func applyReplacesAnExistingDestinationAndItsMode() throws {
        let directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("out"), withIntermediateDirectories: true)
        try writeFile(directory.file("out/app.conf"), "old content that is longer than the new one\n")
        chmod(directory.file("out/app.conf"), 0o666)
        try writeFile(directory.file("app.conf.tmpl"), "new\n")
        let spec = Self.spec(directory, mode: 0o600)
        try TemplateRenderer.applyAll([(spec, nil)], expander: Expander(environment: [:]))
        #expect(contents(of: spec.destination) == "new\n")
        #expect(permissions(of: spec.destination) == 0o600)
        #expect(directory.entries("out") == ["app.conf"], "a temporary file was left behind")
    }

    @Test func applyWritesAnEmptyTemplateAsAnEmptyFile() throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("app.conf.tmpl"), "")
        let spec = Self.spec(directory)
        try TemplateRenderer.applyAll([(spec, nil)], expander: Expander(environment: [:]))
        #expect(contents(of: spec.destination) == "")
    }

    @Test func applyWritesNothingWhenAVariableIsUndefined() throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("app.conf.tmpl"), "user=${DB_USER}\npassword=${DB_PASSWORD}\n")
        let spec = Self.spec(directory)
        let error = #expect(throws: BootError.self) {
            try TemplateRenderer.applyAll([(spec, nil)], expander: Expander(environment: [:]))
        }
        guard case .config(let diagnostics)? = error else { Issue.record("not a config error: \(String(describing: error))"); return }
        #expect(diagnostics.map(\.description) == [
            "\(spec.source):1: \(Self.undefined("DB_USER"))",
            "\(spec.source):2: \(Self.undefined("DB_PASSWORD"))",
        ])
        #expect(error?.exitCode == 78)
        #expect(contents(of: spec.destination) == nil)
        #expect(directory.entries() == ["app.conf.tmpl"], "created the destination directory or a temporary file")
    }

    @Test func applyLeavesAnExistingDestinationUntouchedOnError() throws {
        let directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("out"), withIntermediateDirectories: true)
        try writeFile(directory.file("out/app.conf"), "the previous boot's file\n")
        chmod(directory.file("out/app.conf"), 0o640)
        let before = inode(of: directory.file("out/app.conf"))
        try writeFile(directory.file("app.conf.tmpl"), "fine\nbroken=${MISSING}\n")
        let spec = Self.spec(directory, mode: 0o600)
        #expect(throws: BootError.self) {
            try TemplateRenderer.applyAll([(spec, nil)], expander: Expander(environment: [:]))
        }
        #expect(contents(of: spec.destination) == "the previous boot's file\n")
        #expect(permissions(of: spec.destination) == 0o640)
        #expect(inode(of: spec.destination) == before)
        #expect(directory.entries("out") == ["app.conf"])
    }

    @Test func applyReportsAMissingSourceAsAConfigError() throws {
        let directory = try TemporaryDirectory()
        let spec = Self.spec(directory)
        let error = #expect(throws: BootError.self) {
            try TemplateRenderer.applyAll([(spec, nil)], expander: Expander(environment: [:]))
        }
        guard case .config? = error else { Issue.record("not a config error: \(String(describing: error))"); return }
        #expect(error?.description == "\(spec.source): cannot read template: \(errorString(ENOENT))")
        #expect(error?.exitCode == 78)
        #expect(directory.entries() == [])
    }

    @Test func applyReportsAnUnwritableDestinationAsCannotCreate() throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("app.conf.tmpl"), "x\n")
        try writeFile(directory.file("out"), "a regular file where a directory should be\n")
        let spec = Self.spec(directory)  // out/app.conf
        let error = #expect(throws: BootError.self) {
            try TemplateRenderer.applyAll([(spec, nil)], expander: Expander(environment: [:]))
        }
        guard case .write? = error else { Issue.record("not a write error: \(String(describing: error))"); return }
        #expect(error?.exitCode == 73)
        #expect(error?.description == "unable to open directory \(directory.file("out")) for \(spec.destination): \(errorString(ENOTDIR))")
        #expect(contents(of: directory.file("out")) == "a regular file where a directory should be\n")
    }

    @Test(.enabled(if: getuid() == 0, "chown needs root"))
    func applyGivesTheDestinationToItsOwner() throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("app.conf.tmpl"), "x\n")
        let spec = Self.spec(directory, mode: 0o640)
        let owner = Identity(uid: 4242, gid: 4343, groups: [], home: nil, userName: nil)
        try TemplateRenderer.applyAll([(spec, owner)], expander: Expander(environment: [:]))
        var info = stat()
        try #require(stat(spec.destination, &info) == 0)
        #expect(info.st_uid == 4242 && info.st_gid == 4343)
        #expect(permissions(of: spec.destination) == 0o640)
    }

    // All templates are rendered before any is written (docs/ftinit.md, "Boot", step 1).

    @Test func applyAllWritesEveryTemplate() throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("a.tmpl"), "a=${A}\n")
        try writeFile(directory.file("b.tmpl"), "b=${B:-2}\n")
        var a = TemplateSpec(destination: directory.file("etc/a.conf"), source: directory.file("a.tmpl"), line: 1)
        a.mode = 0o600
        let b = TemplateSpec(destination: directory.file("www/b.conf"), source: directory.file("b.tmpl"), line: 4)
        try TemplateRenderer.applyAll([(a, nil), (b, nil)], expander: Expander(environment: ["A": "1"]))
        #expect(contents(of: a.destination) == "a=1\n")
        #expect(contents(of: b.destination) == "b=2\n")
        #expect(permissions(of: a.destination) == 0o600)
        #expect(permissions(of: b.destination) == 0o644)
    }

    @Test func applyAllWithNoTemplatesDoesNothing() throws {
        try TemplateRenderer.applyAll([], expander: Expander(environment: [:]))
    }

    @Test func oneBadTemplateKeepsEveryTemplateFromBeingWritten() throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("good.tmpl"), "fine\n")
        try writeFile(directory.file("bad.tmpl"), "x=${MISSING}\n")
        let good = TemplateSpec(destination: directory.file("out/good.conf"), source: directory.file("good.tmpl"), line: 1)
        let bad = TemplateSpec(destination: directory.file("out/bad.conf"), source: directory.file("bad.tmpl"), line: 3)
        // The good one comes first: it must not be written either.
        #expect(throws: BootError.self) {
            try TemplateRenderer.applyAll([(good, nil), (bad, nil)], expander: Expander(environment: [:]))
        }
        #expect(directory.entries() == ["bad.tmpl", "good.tmpl"], "wrote (or made a directory for) a template")
    }

    @Test func everyProblemOfEveryTemplateIsReportedInTemplateOrder() throws {
        let directory = try TemporaryDirectory()
        try writeFile(directory.file("one.tmpl"), "ok\nuser=${DB_USER}\n")
        try writeFile(directory.file("three.tmpl"), "${1BAD}\nok\npass=${DB_PASSWORD}\n")
        let specs = ["one", "two", "three"].map {
            TemplateSpec(destination: directory.file("out/\($0).conf"), source: directory.file("\($0).tmpl"), line: 1)
        }
        let error = #expect(throws: BootError.self) {
            try TemplateRenderer.applyAll(specs.map { ($0, nil) }, expander: Expander(environment: [:]))
        }
        guard case .config(let diagnostics)? = error else { Issue.record("not a config error: \(String(describing: error))"); return }
        #expect(diagnostics.map(\.description) == [
            "\(directory.file("one.tmpl")):2: \(Self.undefined("DB_USER"))",
            "\(directory.file("two.tmpl")): cannot read template: \(errorString(ENOENT))",
            "\(directory.file("three.tmpl")):1: bad variable reference ${1BAD}",
            "\(directory.file("three.tmpl")):3: \(Self.undefined("DB_PASSWORD"))",
        ])
        #expect(error?.exitCode == 78)
        #expect(error?.description == diagnostics.map(\.description).joined(separator: "\n"))
        #expect(directory.entries() == ["one.tmpl", "three.tmpl"])
    }
}
