import Glibc
import Testing
@testable import FTInit

// Builders shared by the config and dependency tests: a `Program` spelled the way the
// config file spells it, so an expected value reads like the section it comes from.

/// `value` as found on `line` of the config file.
func at(_ value: String, _ line: Int) -> Located<String> {
    Located(value: value, line: line)
}

/// `[service NAME]` starting on `line`, with the documented defaults unless given.
func service(
    _ name: String, line: Int, run argv: [String],
    user: Located<String>? = nil, dir: Located<String>? = nil, env: [String] = [],
    after: [Located<String>] = [], stopSignal: Int32 = SIGTERM, stopTimeout: TimeSpan = .seconds(10)
) -> Program {
    var program = Program(kind: .service, name: name, line: line)
    program.argv = argv
    program.user = user
    program.dir = dir
    program.env = env
    program.after = after
    program.stopSignal = stopSignal
    program.stopTimeout = stopTimeout
    return program
}

/// `[task NAME]` starting on `line`, with the documented defaults unless given.
func task(
    _ name: String, line: Int, run argv: [String],
    user: Located<String>? = nil, dir: Located<String>? = nil, env: [String] = [],
    after: [Located<String>] = [], timeout: TimeSpan? = nil
) -> Program {
    var program = Program(kind: .task, name: name, line: line)
    program.argv = argv
    program.user = user
    program.dir = dir
    program.env = env
    program.after = after
    program.timeout = timeout
    return program
}

/// The diagnostics of loading `text` as `file`, printed the way `ftinit check` prints them;
/// empty when the config is valid.
func diagnostics(of text: String, file: String = "/etc/ftinit.conf", environment: [String: String] = [:]) -> [String] {
    switch ConfigLoader.load(text: text, file: file, environment: environment) {
    case .success: return []
    case .failure(let errors): return errors.diagnostics.map(\.description)
    }
}

/// The suites that read the passwd and group databases. getpwnam(3) and friends return
/// static storage shared by every thread: ftinit is single-threaded, the test runner is not,
/// so these suites run one test at a time.
@Suite(.serialized) enum PasswdDatabase {}
