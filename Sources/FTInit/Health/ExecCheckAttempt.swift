#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `exec CMD...`: healthy when the command exits 0. It runs as a child of ftinit (with the
/// service's user, dir and env) in its own session; its output is kept, the last line of it
/// becomes the failure message. A late command is killed with its whole group and reaped.
final class ExecCheckAttempt: OneShotAttempt, CheckAttempt {
    private let request: SpawnRequest
    private let subject: String
    private let loop: EventLoop
    private let register: ChildExitRouter
    private var pid: pid_t?
    private var outputFD: Int32 = -1
    private var output: [UInt8] = []
    private static let keptOutput = 512

    /// `register` routes the exit of the spawned pid, once reaped, back to this attempt;
    /// `subject` names the service in a log line.
    init(request: SpawnRequest, subject: String, loop: EventLoop, register: @escaping ChildExitRouter,
         completion: @escaping (CheckResult) -> Void) {
        self.request = request
        self.subject = subject
        self.loop = loop
        self.register = register
        super.init(completion: completion)
    }

    func start() {
        do {
            let output = try loop.watchedPipe { [unowned self] in self.collectOutput() }
            defer { close(output.write) }
            outputFD = output.read
            var request = self.request
            request.stdout = output.write
            request.stderr = output.write
            let pid = try spawn(request)
            self.pid = pid
            register(pid) { [weak self] status in self?.exited(status) }
        } catch {
            finish(.failed("\(error)"))
        }
    }

    private func collectOutput() {
        let end = drain(outputFD) { output = Array((output + $0).suffix(Self.keptOutput)) }
        if end == .endOfStream { closeWatched(&outputFD, loop) }
    }

    private func exited(_ status: ExitStatus) {
        pid = nil  // reaped: never signal it again
        guard isPending else { return }
        if outputFD >= 0 { collectOutput() }
        if status == .exited(0) { return finish(.passed) }
        let lastLine = String(decoding: output, as: UTF8.self)
            .split(whereSeparator: { $0 == "\n" || $0 == "\r" }).last.map(String.init) ?? ""
        let what = status.phrase
        finish(.failed(lastLine.isEmpty ? "exited with \(what)" : "exited with \(what): \(lastLine)"))
    }

    /// Kills a command still running (its whole group); its exit is still reaped later. A
    /// refusal is reported: a check running as another user needs ftinit to have KILL.
    override func release() {
        if let pid { _ = deliver(SIGKILL, to: -pid, subject: subject) }
        closeWatched(&outputFD, loop)
    }
}
