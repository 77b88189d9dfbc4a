#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `[tls]`, `[template DEST]` and the `check` keys of `[service]`.
extension ConfigLoader {
    static let tlsKeys = ["cert", "key", "names", "ips", "key-type", "days", "owner", "renew-before"]
    static let templateKeys = ["source", "mode", "owner"]
    static let checkKeys = ["check", "check-interval", "check-start-interval", "check-timeout", "check-retries", "start-period"]

    mutating func readTLS(_ section: IniDocument.Section) -> TLSSpec? {
        var spec = TLSSpec(cert: "", key: "", names: [], ips: [], line: section.line)
        for entry in section.entries {
            switch entry.key {
            case "cert": spec.cert = nonEmpty(entry) ?? ""
            case "key": spec.key = nonEmpty(entry) ?? ""
            case "names": spec.names += words(entry)
            case "ips":
                for ip in words(entry) {
                    if isIPAddress(ip) { spec.ips.append(ip) } else { fail(entry.line, "ips: '\(ip)' is not an IPv4 or IPv6 address") }
                }
            case "key-type":
                if let type = KeyType(rawValue: entry.value) {
                    spec.keyType = type
                } else {
                    fail(entry.line, "unknown key-type '\(entry.value)' (expected \(KeyType.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
            case "days":
                if let days = Int(entry.value), (1...36500).contains(days) { spec.days = days } else {
                    fail(entry.line, "days must be a whole number from 1 to 36500, got '\(entry.value)'")
                }
            case "owner":
                if let owner = nonEmpty(entry) { spec.owner = Located(value: owner, line: entry.line) }
            case "renew-before":
                if let span = timeSpan(entry) { spec.renewBefore = span }
            default:
                fail(entry.line, "unknown key '\(entry.key)' in [tls] (expected \(Self.tlsKeys.joined(separator: ", ")))")
            }
        }
        for key in ["cert", "key"] where !section.entries.contains(where: { $0.key == key }) {
            fail(section.line, "[tls] has no '\(key)' key")
        }
        if spec.names.isEmpty && spec.ips.isEmpty { fail(section.line, "[tls] needs at least one of 'names' or 'ips'") }
        if !section.entries.contains(where: { $0.key == "renew-before" }) {
            spec.renewBefore = TLSSpec.defaultRenewBefore(days: spec.days)
        } else if let problem = spec.renewalProblem {
            fail(section.line, problem)
        }
        return spec.cert.isEmpty || spec.key.isEmpty ? nil : spec
    }

    mutating func readTemplate(_ section: IniDocument.Section) -> TemplateSpec? {
        // The destination is the path as written: where a file goes is the image's own
        // decision, never the environment's (variables are for what is written into it).
        let destination = section.name ?? ""
        guard !destination.contains("$") else {
            fail(section.line, "[template \(destination)]: the destination is a literal path, no variable or '$' there")
            return nil
        }
        guard destination.hasPrefix("/") else {
            fail(section.line, "[template] needs an absolute destination path: [template /etc/app.conf]")
            return nil
        }
        var spec = TemplateSpec(destination: destination, source: "", line: section.line)
        for entry in section.entries {
            switch entry.key {
            case "source": spec.source = nonEmpty(entry) ?? ""
            case "mode":
                if entry.value.count >= 3, entry.value.count <= 4, let mode = UInt32(entry.value, radix: 8) {
                    spec.mode = mode
                } else {
                    fail(entry.line, "mode must be octal like 0644, got '\(entry.value)'")
                }
            case "owner":
                if let owner = nonEmpty(entry) { spec.owner = Located(value: owner, line: entry.line) }
            default:
                fail(entry.line, "unknown key '\(entry.key)' in [template \(destination)] (expected \(Self.templateKeys.joined(separator: ", ")))")
            }
        }
        if !section.entries.contains(where: { $0.key == "source" }) {
            fail(section.line, "[template \(destination)] has no 'source' key")
        }
        return spec.source.isEmpty ? nil : spec
    }

    /// The `check` of a service section with its timing keys; timing keys without a check are an error.
    mutating func readCheck(_ section: IniDocument.Section) -> HealthCheckSpec? {
        let entries = section.entries.filter { Self.checkKeys.contains($0.key) }
        guard let checkEntry = entries.first(where: { $0.key == "check" }) else {
            for entry in entries { fail(entry.line, "\(entry.key) needs a 'check' in the same section") }
            return nil
        }
        // A bad check still gets its timing keys validated, so every error shows at once.
        let parsed = parseCheck(checkEntry)
        var spec = parsed ?? HealthCheckSpec(probe: .exec(argv: []), text: "")
        for entry in entries {
            switch entry.key {
            case "check-interval": if let span = positiveSpan(entry) { spec.interval = span }
            case "check-start-interval": if let span = positiveSpan(entry) { spec.startInterval = span }
            case "check-timeout": if let span = positiveSpan(entry) { spec.timeout = span }
            case "start-period": if let span = timeSpan(entry) { spec.startPeriod = span }
            case "check-retries":
                if let retries = Int(entry.value), (1...1000).contains(retries) { spec.retries = retries } else {
                    fail(entry.line, "check-retries must be a whole number from 1 to 1000, got '\(entry.value)'")
                }
            default: break
            }
        }
        return parsed == nil ? nil : spec
    }

    private mutating func parseCheck(_ entry: IniDocument.Entry) -> HealthCheckSpec? {
        let kind = entry.value.prefix(while: { $0 != " " && $0 != "\t" })
        let argument = IniParser.trimmed(entry.value.dropFirst(kind.count))
        let usage = "check must be 'tcp HOST:PORT [expect TEXT]', 'http URL' or 'exec COMMAND...'"
        switch kind {
        case "tcp":
            let words: [String]
            do {
                words = try ArgvSplitter.split(String(argument), expander: expander)
            } catch {
                fail(entry.line, "check: \(error)")
                return nil
            }
            guard words.count == 1 || (words.count == 3 && words[1] == "expect"),
                  let (host, port) = splitHostPort(Substring(words[0]), defaultPort: nil) else {
                fail(entry.line, "\(usage), got '\(entry.value)'")
                return nil
            }
            guard let expect = words.count == 3 ? words[2] : nil else {
                return HealthCheckSpec(probe: .tcp(host: host, port: port), text: "tcp \(shown(argument, as: words)[0])")
            }
            guard (1...TCPCheckAttempt.greetingLimit).contains(expect.utf8.count) else {
                fail(entry.line, "check tcp ... expect: the greeting to expect must be 1 to \(TCPCheckAttempt.greetingLimit) bytes, got \(expect.utf8.count)")
                return nil
            }
            let text = shown(argument, as: words)
            return HealthCheckSpec(probe: .tcp(host: host, port: port, expect: expect), text: "tcp \(text[0]) expect \(Self.doubleQuoted(text[2]))")
        case "http":
            guard let value = expandedText(String(argument), entry) else { return nil }
            guard let target = HTTPTarget(url: value) else {
                fail(entry.line, "\(usage) (URL as http://HOST[:PORT]/PATH or https://...), got '\(entry.value)'")
                return nil
            }
            let text = (try? expander.hidingSecrets.expand(String(argument))) ?? String(argument)
            return HealthCheckSpec(probe: .http(target), text: "http \(text)")
        case "exec":
            do {
                let argv = try ArgvSplitter.split(String(argument), expander: expander)
                guard !(argv.first?.isEmpty ?? true) else { fail(entry.line, "check exec needs a command"); return nil }
                return HealthCheckSpec(probe: .exec(argv: argv), text: "exec " + shown(argument, as: argv).map(Self.shellWord).joined(separator: " "))
            } catch {
                fail(entry.line, "check: \(error)")
                return nil
            }
        default:
            fail(entry.line, "\(usage), got '\(entry.value)'")
            return nil
        }
    }

    /// The words of `argument` as ftinit shows them (`ftinit status`, log lines): expanded as
    /// they run, secrets hidden (`Expander.hidingSecrets`). Values are replaced whole after the
    /// split, so the words are those of `words`; the split that gave `words` cannot fail here,
    /// and if it ever did, nothing of them is shown.
    private func shown(_ argument: Substring, as words: [String]) -> [String] {
        (try? ArgvSplitter.split(String(argument), expander: expander.hidingSecrets)) ?? words.map { _ in Expander.hidden }
    }

    /// `word` as a shell (and `ArgvSplitter`) reads it back: as is when plain, else in single quotes.
    static func shellWord(_ word: String) -> String {
        let plain = !word.isEmpty && word.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_@%+=:,./*-".contains($0)) }
        return plain ? word : "'" + word.map { $0 == "'" ? #"'\''"# : String($0) }.joined() + "'"
    }

    /// `text` in double quotes as the splitter reads them back (`"` and `\` escaped).
    private static func doubleQuoted(_ text: String) -> String {
        "\"" + text.map { $0 == "\"" || $0 == "\\" ? "\\\($0)" : String($0) }.joined() + "\""
    }

    private mutating func expandedText(_ text: String, _ entry: IniDocument.Entry) -> String? {
        do {
            return try expander.expand(text)
        } catch {
            fail(entry.line, "\(entry.key): \(error)")
            return nil
        }
    }

    private mutating func positiveSpan(_ entry: IniDocument.Entry) -> TimeSpan? {
        guard let span = timeSpan(entry) else { return nil }
        if span == .zero { fail(entry.line, "\(entry.key) must be more than 0"); return nil }
        return span
    }

    /// Blank-separated words of an expanded value.
    mutating func words(_ entry: IniDocument.Entry) -> [String] {
        (expanded(entry) ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).map(String.init)
    }
}

/// Whether `text` is a literal IPv4 or IPv6 address.
func isIPAddress(_ text: String) -> Bool {
    var buffer = in6_addr()
    return inet_pton(AF_INET, text, &buffer) == 1 || inet_pton(AF_INET6, text, &buffer) == 1
}
