import Testing
@testable import FTInit

/// `[template DEST]` sections (docs/ftinit.md, "Sections and keys").
@Suite struct TemplateConfigTests {
    static func template(_ destination: String, source: String, mode: UInt32 = 0o644,
                         owner: Located<String>? = nil, line: Int) -> TemplateSpec {
        var spec = TemplateSpec(destination: destination, source: source, line: line)
        spec.mode = mode
        spec.owner = owner
        return spec
    }

    struct Example: Sendable, CustomTestStringConvertible {
        let label: String
        let text: String
        var environment: [String: String] = [:]
        let templates: [TemplateSpec]

        var testDescription: String { label }
    }

    static let valid: [Example] = [
        Example(
            label: "the reference example of docs/ftinit.md",
            text: "[template /etc/nginx/http.d/default.conf]\nsource = /etc/ftinit/nginx.conf.tmpl\nmode = 0644",
            templates: [template("/etc/nginx/http.d/default.conf", source: "/etc/ftinit/nginx.conf.tmpl", line: 1)]),
        Example(
            label: "mode defaults to 0644",
            text: "[template /etc/app.conf]\nsource = /t/app.conf",
            templates: [template("/etc/app.conf", source: "/t/app.conf", line: 1)]),
        Example(
            label: "a mode of three or four octal digits, and an owner",
            text: "[template /etc/a]\nsource = /t/a\nmode = 600\nowner = nginx:www-data\n[template /etc/b]\nsource = /t/b\nmode = 0750",
            templates: [
                template("/etc/a", source: "/t/a", mode: 0o600, owner: at("nginx:www-data", 4), line: 1),
                template("/etc/b", source: "/t/b", mode: 0o750, line: 5),
            ]),
        Example(
            label: "a setuid mode",
            text: "[template /usr/local/bin/tool]\nsource = /t/tool\nmode = 4755",
            templates: [template("/usr/local/bin/tool", source: "/t/tool", mode: 0o4755, line: 1)]),
        Example(
            label: "templates keep file order among other sections",
            text: """
                [template /etc/vsftpd/vsftpd.conf]
                source = /etc/ftinit/vsftpd.conf.tmpl
                [service ftps]
                run = vsftpd /etc/vsftpd/vsftpd.conf
                [template /var/www/wp-config.php]
                source = /etc/ftinit/wp-config.php.tmpl
                mode = 0640
                owner = nobody
                """,
            templates: [
                template("/etc/vsftpd/vsftpd.conf", source: "/etc/ftinit/vsftpd.conf.tmpl", line: 1),
                template("/var/www/wp-config.php", source: "/etc/ftinit/wp-config.php.tmpl", mode: 0o640,
                         owner: at("nobody", 8), line: 5),
            ]),
        Example(
            label: "source and owner expand variables",
            text: "[template /etc/app.conf]\nsource = ${TEMPLATES:-/etc/ftinit}/app.conf.tmpl\nowner = ${APP_USER}",
            environment: ["APP_USER": "app"],
            templates: [template("/etc/app.conf", source: "/etc/ftinit/app.conf.tmpl", owner: at("app", 3), line: 1)]),
    ]

    @Test(arguments: valid)
    func loadsTemplatesIntoTheTypedModel(_ example: Example) throws {
        let result = ConfigLoader.load(text: example.text, file: "/etc/ftinit.conf", environment: example.environment)
        let config = try #require(try? result.get(), "diagnostics: \(diagnostics(of: example.text, environment: example.environment))")
        #expect(config.templates == example.templates)
    }

    @Test func aConfigWithoutTemplatesHasNone() throws {
        let config = try ConfigLoader.load(text: "[service web]\nrun = web", file: "f", environment: [:]).get()
        #expect(config.templates.isEmpty)
    }

    // MARK: malformed

    static let absolute = "[template] needs an absolute destination path: [template /etc/app.conf]"

    static let malformed: [MalformedConfig] = [
        MalformedConfig(
            label: "a variable in the destination, set or not",
            text: "[template ${ROOT:-}/etc/app.conf]\nsource = /t/app.conf",
            diagnostics: ["/etc/ftinit.conf:1: [template ${ROOT:-}/etc/app.conf]: the destination is a literal path, no variable or '$' there"]),
        MalformedConfig(
            label: "a relative destination",
            text: "[template etc/app.conf]\nsource = /t/app.conf",
            diagnostics: ["/etc/ftinit.conf:1: \(absolute)"]),
        MalformedConfig(
            label: "a destination relative to the working directory",
            text: "[template ./app.conf]\nsource = /t/app.conf",
            diagnostics: ["/etc/ftinit.conf:1: \(absolute)"]),
        MalformedConfig(
            label: "no destination",
            text: "[template]\nsource = /t/app.conf",
            diagnostics: ["/etc/ftinit.conf:1: \(absolute)"]),
        MalformedConfig(
            label: "no source",
            text: "[service web]\nrun = web\n[template /etc/app.conf]\nmode = 0600",
            diagnostics: ["/etc/ftinit.conf:3: [template /etc/app.conf] has no 'source' key"]),
        MalformedConfig(
            label: "an empty source",
            text: "[template /etc/app.conf]\nsource =",
            diagnostics: ["/etc/ftinit.conf:2: source is empty"]),
        MalformedConfig(
            label: "an undefined variable in source",
            text: "[template /etc/app.conf]\nsource = ${TEMPLATES}/app.conf",
            diagnostics: ["/etc/ftinit.conf:2: source: undefined variable ${TEMPLATES} (set it, or write ${TEMPLATES:-default})"]),
        MalformedConfig(
            label: "a mode with a non-octal digit",
            text: "[template /etc/app.conf]\nsource = /t\nmode = 0648",
            diagnostics: ["/etc/ftinit.conf:3: mode must be octal like 0644, got '0648'"]),
        MalformedConfig(
            label: "a mode of two digits",
            text: "[template /etc/app.conf]\nsource = /t\nmode = 64",
            diagnostics: ["/etc/ftinit.conf:3: mode must be octal like 0644, got '64'"]),
        MalformedConfig(
            label: "a mode of five digits",
            text: "[template /etc/app.conf]\nsource = /t\nmode = 00644",
            diagnostics: ["/etc/ftinit.conf:3: mode must be octal like 0644, got '00644'"]),
        MalformedConfig(
            label: "a symbolic mode",
            text: "[template /etc/app.conf]\nsource = /t\nmode = rw-r--r--",
            diagnostics: ["/etc/ftinit.conf:3: mode must be octal like 0644, got 'rw-r--r--'"]),
        MalformedConfig(
            label: "an empty mode",
            text: "[template /etc/app.conf]\nsource = /t\nmode =",
            diagnostics: ["/etc/ftinit.conf:3: mode must be octal like 0644, got ''"]),
        MalformedConfig(
            label: "an unknown key",
            text: "[template /etc/app.conf]\nsource = /t\ndest = /etc/other.conf",
            diagnostics: ["/etc/ftinit.conf:3: unknown key 'dest' in [template /etc/app.conf] (expected source, mode, owner)"]),
        MalformedConfig(
            label: "an empty owner",
            text: "[template /etc/app.conf]\nsource = /t\nowner =",
            diagnostics: ["/etc/ftinit.conf:3: owner is empty"]),
        MalformedConfig(
            label: "the same destination twice",
            text: "[template /etc/app.conf]\nsource = /t/a\n[template /etc/app.conf]\nsource = /t/b",
            diagnostics: ["/etc/ftinit.conf:3: duplicate section [template /etc/app.conf] (first defined on line 1)"]),
        MalformedConfig(
            label: "a duplicate source",
            text: "[template /etc/app.conf]\nsource = /t/a\nsource = /t/b",
            diagnostics: ["/etc/ftinit.conf:3: duplicate key 'source' (first set on line 2)"]),
        MalformedConfig(
            label: "every error of a template section at once",
            text: "[template /etc/app.conf]\nmode = 9\nuser = root",
            diagnostics: [
                "/etc/ftinit.conf:1: [template /etc/app.conf] has no 'source' key",
                "/etc/ftinit.conf:2: mode must be octal like 0644, got '9'",
                "/etc/ftinit.conf:3: unknown key 'user' in [template /etc/app.conf] (expected source, mode, owner)",
            ]),
    ]

    @Test(arguments: malformed)
    func rejectsMalformedTemplatesWithExactDiagnostics(_ example: MalformedConfig) {
        #expect(diagnostics(of: example.text, environment: example.environment) == example.diagnostics)
    }
}
