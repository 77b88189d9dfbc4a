#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import COpenSSL

public let ftinitVersion = "0.1.0"

/// Runs a parsed command and returns the process exit code.
public func execute(_ command: Command) -> Int32 {
    switch command {
    case .run(let path):
        return Supervisor.run(configPath: path)
    case .single(let argv):
        return SingleCommand.run(argv)
    case .check(let path):
        return check(path)
    case .cert(let spec):
        return makeCertificate(spec)
    case .probe(let socket, let timeout, let ready):
        return ControlClient.probe(socket: socket, timeout: timeout, ready: ready)
    case .status(let socket):
        return ControlClient.status(socket: socket, timeout: .seconds(2))
    case .control(let request, let socket, let wait):
        return ControlClient.command(request, socket: socket, wait: wait)
    case .version:
        let openssl = String(cString: OpenSSL_version(Int32(OPENSSL_VERSION)))
        writeAll(STDOUT_FILENO, "ftinit \(ftinitVersion) (\(openssl))\n")
        return 0
    case .help:
        writeAll(STDOUT_FILENO, Command.usageText + "\n")
        return 0
    case .usageError(let message):
        writeAll(STDERR_FILENO, "ftinit: \(message)\n\(Command.usageText)\n")
        return ExitCode.usage
    }
}

/// `ftinit check`: every problem as `PATH:LINE: message`, or a one-line summary.
func check(_ path: String) -> Int32 {
    switch loadConfig(path: path, environment: environmentDictionary(currentEnvironment())) {
    case .success(let config):
        writeAll(STDOUT_FILENO, "\(path): OK: \(counted(config.services.count, "service")), \(counted(config.tasks.count, "task"))\n")
        return 0
    case .failure(let errors):
        Log.diagnostics(errors.diagnostics)
        return ExitCode.config
    }
}

/// `1 service`, `2 services`.
func counted(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

/// `ftinit cert`: what `[tls]` does at boot, from the command line.
func makeCertificate(_ spec: TLSSpec) -> Int32 {
    do {
        let outcome = try TLSProvisioner.ensure(spec, owner: nil)
        writeAll(STDOUT_FILENO, "\(spec.cert), \(spec.key): \(outcome)\n")
        return 0
    } catch {
        writeAll(STDERR_FILENO, "ftinit: \(error)\n")
        return error.exitCode
    }
}
