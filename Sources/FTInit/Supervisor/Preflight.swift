#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What can only be checked on the machine that runs the config, before anything starts:
/// every user and owner exists, every `dir` is a directory, every check's host resolves.
struct RunPlan {
    var children: [Child] = []
    var templateOwners: [Identity?] = []
    var tlsOwner: Identity?
}

func preflight(_ config: Config, users: UserDatabase = .system()) -> Result<RunPlan, ConfigErrors> {
    var plan = RunPlan()
    var diagnostics: [Diagnostic] = []
    func problem(_ line: Int, _ message: String) {
        diagnostics.append(Diagnostic(file: config.path, line: line, message: message))
    }
    func identity(_ spec: Located<String>?, _ key: String) -> Identity? {
        guard let spec else { return nil }
        do {
            return try Identity.resolve(spec.value, in: users)
        } catch {
            problem(spec.line, "\(key): \(error)")
            return nil
        }
    }

    for program in config.programs {
        let child = Child(program: program, identity: identity(program.user, "user"))
        if let dir = program.dir {
            var info = stat()
            if stat(dir.value, &info) != 0 {
                problem(dir.line, "dir '\(dir.value)': \(errorString(errno))")
            } else if (info.st_mode & S_IFMT) != S_IFDIR {
                problem(dir.line, "dir '\(dir.value)' is not a directory")
            }
        }
        if let (host, port) = program.check?.probe.endpoint {
            switch SocketAddress.resolve(host: host, port: port) {
            case .success(let address): child.checkAddress = address
            case .failure(let error): problem(program.line, "check: \(error)")
            }
        }
        plan.children.append(child)
    }
    plan.templateOwners = config.templates.map { identity($0.owner, "owner") }
    plan.tlsOwner = identity(config.tls?.owner, "owner")
    if diagnostics.isEmpty { return .success(plan) }
    return .failure(ConfigErrors(diagnostics.sorted { ($0.line ?? 0) < ($1.line ?? 0) }))
}
