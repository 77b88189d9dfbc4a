#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What can only be checked on the machine that runs the config, before anything starts:
/// every `user` exists and every `dir` is a directory.
func preflight(_ config: Config) -> Result<[Child], ConfigErrors> {
    var children: [Child] = []
    var diagnostics: [Diagnostic] = []
    for program in config.programs {
        var identity: Identity?
        if let user = program.user {
            do {
                identity = try Identity.resolve(user.value)
            } catch {
                diagnostics.append(Diagnostic(file: config.path, line: user.line, message: "user: \(error)"))
            }
        }
        if let dir = program.dir {
            var info = stat()
            if stat(dir.value, &info) != 0 {
                diagnostics.append(Diagnostic(file: config.path, line: dir.line, message: "dir '\(dir.value)': \(errorString(errno))"))
            } else if (info.st_mode & S_IFMT) != S_IFDIR {
                diagnostics.append(Diagnostic(file: config.path, line: dir.line, message: "dir '\(dir.value)' is not a directory"))
            }
        }
        children.append(Child(program: program, identity: identity))
    }
    if diagnostics.isEmpty { return .success(children) }
    return .failure(ConfigErrors(diagnostics.sorted { ($0.line ?? 0) < ($1.line ?? 0) }))
}
