/// Turns an INI document into a `Config`, collecting every problem rather than the first.
public struct ConfigLoader {
    public let file: String
    public let expander: Expander
    var diagnostics: [Diagnostic] = []

    public init(file: String, environment: [String: String]) {
        self.file = file
        self.expander = Expander(environment: environment)
    }

    /// Parses and validates `text`; returns the config or all diagnostics, in line order.
    public static func load(text: String, file: String, environment: [String: String]) -> Result<Config, ConfigErrors> {
        var loader = ConfigLoader(file: file, environment: environment)
        let (document, syntaxErrors) = IniParser.parse(text, file: file)
        loader.diagnostics = syntaxErrors
        let config = loader.build(document)
        if loader.diagnostics.isEmpty { return .success(config) }
        return .failure(ConfigErrors(loader.diagnostics.sorted { ($0.line ?? 0) < ($1.line ?? 0) }))
    }

    mutating func fail(_ line: Int, _ message: String) {
        diagnostics.append(Diagnostic(file: file, line: line, message: message))
    }

    private mutating func build(_ document: IniDocument) -> Config {
        var config = Config(path: file)
        var seen: [String: Int] = [:]  // "service web" -> line, for duplicates
        var programNames: [String: String] = [:]  // "web" -> "[service web] on line 3"
        for section in document.sections {
            let id = section.kind + (section.name.map { " " + $0 } ?? "")
            if let first = seen[id] {
                fail(section.line, "duplicate section [\(id)] (first defined on line \(first))")
                continue
            }
            seen[id] = section.line
            // Services and tasks share one namespace: `after = web` must name one thing.
            if section.kind == "service" || section.kind == "task", let name = section.name {
                if let other = programNames[name] {
                    fail(section.line, "name '\(name)' is already used by \(other)")
                    continue
                }
                programNames[name] = "[\(id)] on line \(section.line)"
            }
            rejectDuplicateKeys(section)
            switch section.kind {
            case "init":
                if section.name != nil { fail(section.line, "[init] takes no name") }
                readInit(section, into: &config)
            case "service", "task":
                if let program = readProgram(section) { config.programs.append(program) }
            case "tls":
                if section.name != nil { fail(section.line, "[tls] takes no name") }
                config.tls = readTLS(section)
            case "template":
                if let template = readTemplate(section) { config.templates.append(template) }
            case "metrics":
                if section.name != nil { fail(section.line, "[metrics] takes no name") }
                config.metrics = readMetrics(section)
            default:
                fail(section.line, "unknown section [\(section.kind)] (expected init, service, task, tls, template or metrics)")
            }
        }
        checkDependencies(config.programs)
        return config
    }

    private mutating func rejectDuplicateKeys(_ section: IniDocument.Section) {
        var firstLine: [String: Int] = [:]
        for entry in section.entries where !Self.repeatableKeys.contains(entry.key) {
            if let first = firstLine[entry.key] {
                fail(entry.line, "duplicate key '\(entry.key)' (first set on line \(first))")
            } else {
                firstLine[entry.key] = entry.line
            }
        }
    }

    static let repeatableKeys: Set<String> = ["env", "env-pass"]

    private mutating func readInit(_ section: IniDocument.Section, into config: inout Config) {
        for entry in section.entries {
            switch entry.key {
            case "stop-timeout":
                if let span = timeSpan(entry) { config.stopTimeout = span }
            case "socket":
                if let path = nonEmpty(entry) { config.socketPath = path }
            case "log-prefix":
                if let on = yesOrNo(entry) { config.logPrefix = on }
            default:
                fail(entry.line, "unknown key '\(entry.key)' in [init] (expected stop-timeout, log-prefix, socket)")
            }
        }
    }

    static let serviceKeys = ["run", "user", "dir", "env", "env-clear", "env-pass", "after", "stop-signal", "stop-timeout"] + checkKeys
    static let taskKeys = ["run", "user", "dir", "env", "env-clear", "env-pass", "after", "timeout"]

    private mutating func readProgram(_ section: IniDocument.Section) -> Program? {
        guard let kind = Program.Kind(rawValue: section.kind) else { return nil }
        guard let name = section.name else {
            fail(section.line, "[\(section.kind)] needs a name: [\(section.kind) NAME]")
            return nil
        }
        guard Self.isValidName(name) else {
            fail(section.line, "bad \(section.kind) name '\(name)' (use letters, digits, '_', '.', '-')")
            return nil
        }
        var program = Program(kind: kind, name: name, line: section.line)
        let allowed = kind == .service ? Self.serviceKeys : Self.taskKeys
        var hasRun = false
        var passed: [String] = [], passLine: Int?
        for entry in section.entries {
            guard allowed.contains(entry.key) else {
                fail(entry.line, "unknown key '\(entry.key)' in [\(kind.rawValue) \(name)] (expected \(allowed.joined(separator: ", ")))")
                continue
            }
            switch entry.key {
            case "run":
                hasRun = true
                do {
                    program.argv = try ArgvSplitter.split(entry.value, expander: expander)
                    if program.argv.first?.isEmpty ?? true { fail(entry.line, "run is empty") }
                } catch {
                    fail(entry.line, "run: \(error)")
                }
            case "user":
                // An empty user would silently mean "stay root": refuse it.
                if let value = nonEmpty(entry) { program.user = Located(value: value, line: entry.line) }
            case "dir":
                if let value = nonEmpty(entry) { program.dir = Located(value: value, line: entry.line) }
            case "env":
                guard let value = expanded(entry) else { break }
                if let eq = value.firstIndex(of: "="), Expander.isValidName(value[..<eq]) {
                    program.env.append(value)
                } else {
                    fail(entry.line, "env must be KEY=VALUE with KEY a variable name, got '\(entry.value)'")
                }
            case "env-clear":
                if let clear = yesOrNo(entry) { program.envPass = clear ? program.envPass ?? [] : nil }
            case "env-pass":
                passLine = passLine ?? entry.line
                for name in entry.value.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                    if Expander.isValidName(name) {
                        passed.append(String(name))
                    } else {
                        fail(entry.line, "env-pass names variables, got '\(name)'")
                    }
                }
            case "after":
                program.after += entry.value.split(whereSeparator: { $0 == " " || $0 == "\t" })
                    .map { Located(value: String($0), line: entry.line) }
            case "stop-signal":
                if let number = SignalName.number(for: entry.value) {
                    program.stopSignal = number
                } else {
                    fail(entry.line, "unknown signal '\(entry.value)' (expected a name like TERM, QUIT, INT, HUP)")
                }
            case "stop-timeout":
                if let span = timeSpan(entry) { program.stopTimeout = span }
            case "timeout":
                if let span = timeSpan(entry) { program.timeout = span == .zero ? nil : span }
            default:
                break
            }
        }
        if !hasRun { fail(section.line, "[\(kind.rawValue) \(name)] has no 'run' key") }
        if let passLine {
            if program.envPass == nil {
                fail(passLine, "env-pass keeps variables when the environment is cleared: it needs env-clear = yes")
            } else {
                program.envPass = passed
            }
        }
        if kind == .service { program.check = readCheck(section) }
        return program
    }

    /// A yes/no key (`yes`, `true`, `on` / `no`, `false`, `off`), or nil after reporting it.
    mutating func yesOrNo(_ entry: IniDocument.Entry) -> Bool? {
        switch entry.value {
        case "yes", "true", "on": return true
        case "no", "false", "off": return false
        default:
            fail(entry.line, "\(entry.key) must be yes or no, got '\(entry.value)'")
            return nil
        }
    }

    mutating func expanded(_ entry: IniDocument.Entry) -> String? {
        do {
            return try expander.expand(entry.value)
        } catch {
            fail(entry.line, "\(entry.key): \(error)")
            return nil
        }
    }

    /// The expanded value, or nil after reporting that it is empty.
    mutating func nonEmpty(_ entry: IniDocument.Entry) -> String? {
        guard let value = expanded(entry) else { return nil }
        if value.isEmpty { fail(entry.line, "\(entry.key) is empty") }
        return value.isEmpty ? nil : value
    }

    mutating func timeSpan(_ entry: IniDocument.Entry) -> TimeSpan? {
        guard let span = TimeSpan(parsing: entry.value) else {
            fail(entry.line, "bad duration '\(entry.value)' for \(entry.key) (expected e.g. 500ms, 10s, 1m30s)")
            return nil
        }
        guard span <= .longest else {
            fail(entry.line, "duration '\(entry.value)' for \(entry.key) is longer than \(TimeSpan.longest), the longest ftinit takes")
            return nil
        }
        return span
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
    }

    /// `after` must name defined programs, never the program itself, and must not loop.
    private mutating func checkDependencies(_ programs: [Program]) {
        let names = Set(programs.map(\.name))
        var valid = programs  // with the edges reported here left out, so a cycle still shows
        for (i, program) in programs.enumerated() {
            for dependency in program.after {
                if dependency.value == program.name {
                    fail(dependency.line, "\(program.name) cannot come after itself")
                } else if !names.contains(dependency.value) {
                    fail(dependency.line, "after names '\(dependency.value)', which is not a defined service or task")
                }
            }
            valid[i].after.removeAll { $0.value == program.name || !names.contains($0.value) }
        }
        if let cycle = DependencyGraph(valid).cycle() {
            let line = programs.first { $0.name == cycle[0] }?.after.first { $0.value == cycle[1] }?.line
            fail(line ?? 0, "dependency cycle: \(cycle.joined(separator: " -> "))")
        }
    }
}
