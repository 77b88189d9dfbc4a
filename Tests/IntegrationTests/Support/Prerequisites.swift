import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Something an integration test needs from the machine it runs on.
enum Requirement: Sendable, Hashable, CustomStringConvertible {
    /// Running as root (`unshare --pid`, `user =` privilege drop).
    case root
    /// `unshare --pid --fork --mount-proc` actually works here (not in a restricted container).
    case pidNamespaces
    /// Tools the test's services run, looked up in `Prerequisites.path`.
    case tools([String])
    /// A user that exists in the user database.
    case user(String)
    /// The private dockerd of `scripts/dockerd-private` answers on its socket.
    case dockerDaemon
    /// Alpine's minirootfs tarball at `ALPINE_MINIROOTFS` (../shared/alpine/README.md).
    case alpineMinirootfs

    var description: String {
        switch self {
        case .root: "root"
        case .pidNamespaces: "PID namespaces (unshare --pid --fork --mount-proc)"
        case .tools(let names): "tools \(names.joined(separator: ", "))"
        case .user(let name): "user \(name)"
        case .dockerDaemon: "a dockerd on \(DockerHost.socket) (scripts/dockerd-private start)"
        case .alpineMinirootfs: "Alpine's minirootfs at ALPINE_MINIROOTFS"
        }
    }
}

/// Decides whether a test may run on this machine.
///
/// The rule: outside CI (`CI` is not `true`) a missing prerequisite skips the test and prints
/// why; under `CI=true` a missing prerequisite is a failure, never a skip, so a broken CI machine
/// cannot turn the suite green by skipping it.
enum Prerequisites {
    /// The PATH given to ftinit (and so to every service) in the tests.
    /// The system directories first, then the test runner's own PATH, where tools installed
    /// with pip (hadolint) live.
    static let path = (["/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        + [ProcessInfo.processInfo.environment["PATH"]].compactMap { $0 }).joined(separator: ":")

    /// The tools nearly every test's services use.
    static let baseTools = ["sh", "sleep"]

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Why each of `requirements` is not met on this machine; empty when all are.
    static func missing(_ requirements: [Requirement]) -> [String] {
        requirements.compactMap(reasonMissing)
    }

    /// Throws (after recording an issue) unless every requirement is met. Call it in the test
    /// body: under CI a missing prerequisite must fail the test.
    static func require(_ requirements: [Requirement], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let reasons = missing(requirements)
        try #require(
            reasons.isEmpty,
            "missing prerequisite: \(reasons.joined(separator: "; "))",
            sourceLocation: sourceLocation
        )
    }

    /// Whether a suite or test should run: yes when everything is present. Otherwise, under CI,
    /// throws, which Swift Testing records as a failure of each test without running it; outside
    /// CI, prints the reason and skips.
    static func shouldRun(_ requirements: [Requirement], what: String) throws -> Bool {
        let reasons = missing(requirements)
        if reasons.isEmpty { return true }
        if isCI { throw MissingPrerequisite(what: what, reasons: reasons) }
        let message = "IntegrationTests: skipping \(what): missing prerequisite: \(reasons.joined(separator: "; ")) (CI is not \"true\", so this is a skip, not a failure)"
        if printedSkips.withLock({ $0.insert(message).inserted }) { print(message) }
        return false
    }

    /// Skip messages already printed (a suite's condition is evaluated once per test).
    private static let printedSkips = Mutex<Set<String>>([])

    private static func reasonMissing(_ requirement: Requirement) -> String? {
        switch requirement {
        case .root:
            return geteuid() == 0 ? nil : "not running as root (euid \(geteuid())); run the tests as root"
        case .pidNamespaces:
            if geteuid() != 0 { return "unshare --pid needs root" }
            return pidNamespaceProbe
        case .tools(let names):
            let absent = names.filter { which($0) == nil }
            return absent.isEmpty ? nil : "not found in \(path): \(absent.joined(separator: ", "))"
        case .user(let name):
            return getpwnam(name) == nil ? "no user named \(name) in the user database" : nil
        case .dockerDaemon:
            return DockerHost.whyUnavailable
        case .alpineMinirootfs:
            guard let path = ProcessInfo.processInfo.environment["ALPINE_MINIROOTFS"], !path.isEmpty else {
                return "ALPINE_MINIROOTFS is not set (Alpine's alpine-minirootfs-*-x86_64.tar.gz: .ci/run points it at ../shared/alpine/)"
            }
            return access(path, R_OK) == 0 ? nil : "ALPINE_MINIROOTFS: cannot read \(path)"
        }
    }

    /// Full path of `tool` in `path`, or nil.
    static func which(_ tool: String) -> String? {
        if tool.contains("/") { return access(tool, X_OK) == 0 ? tool : nil }
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(tool)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Runs `unshare --pid --fork --mount-proc true` once; nil when it works, else why not.
    private static let pidNamespaceProbe: String? = {
        guard let unshare = which("unshare") else { return "unshare (util-linux) not found" }
        guard let truePath = which("true") else { return "true not found" }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: unshare)
        process.arguments = ["--pid", "--fork", "--mount-proc", truePath]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return "cannot run unshare: \(error)" }
        process.waitUntilExit()
        if process.terminationReason == .exit && process.terminationStatus == 0 { return nil }
        return "`unshare --pid --fork --mount-proc true` failed (status \(process.terminationStatus)); a restricted container?"
    }()
}

extension Trait where Self == ConditionTrait {
    /// Skips the suite or test (with a printed reason) when a requirement is missing; under
    /// `CI=true` it fails instead.
    static func requires(_ requirements: Requirement..., what: String = "integration tests") -> Self {
        .enabled(Comment(rawValue: "needs \(requirements.map(\.description).joined(separator: ", "))")) {
            try Prerequisites.shouldRun(requirements, what: what)
        }
    }
}

/// Thrown by a `.requires(...)` condition under `CI=true`: the test fails instead of skipping.
struct MissingPrerequisite: Error, CustomStringConvertible {
    let what: String
    let reasons: [String]

    var description: String {
        "\(what): missing prerequisite: \(reasons.joined(separator: "; ")) (CI=true: a missing prerequisite is a failure, not a skip)"
    }
}

/// Where the ftinit binary under test is.
enum FTInitBinary {
    /// The package root, derived from this file's path (Tests/IntegrationTests/Support/...).
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent() // Support
            .deletingLastPathComponent() // IntegrationTests
            .deletingLastPathComponent() // Tests
            .deletingLastPathComponent() // package root
    }

    /// `FTINIT_BIN` if set, else `<package root>/.build/release/ftinit`.
    static var path: String {
        if let bin = ProcessInfo.processInfo.environment["FTINIT_BIN"], !bin.isEmpty { return bin }
        return packageRoot.appendingPathComponent(".build/release/ftinit").path
    }

    /// The binary's path; a missing binary is always a failure (CI or not), with the way to
    /// build it.
    static func require(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let path = path
        try #require(
            access(path, X_OK) == 0,
            """
            ftinit binary not found or not executable at \(path). Build it first with \
            `swift build -c release -Xswiftc -static-executable` (or point FTINIT_BIN at it).
            """,
            sourceLocation: sourceLocation
        )
        return path
    }
}
