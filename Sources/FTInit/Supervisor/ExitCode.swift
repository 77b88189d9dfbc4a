/// ftinit's exit codes (docs/ftinit.md): the child's code or 128+signal, sysexits otherwise.
public enum ExitCode {
    public static let usage: Int32 = 64      // EX_USAGE
    public static let osError: Int32 = 71    // EX_OSERR
    public static let config: Int32 = 78     // EX_CONFIG

    /// Why ftinit exits when a service ended or a task failed: never 0, because a service
    /// that stops on its own is a failure of the container.
    public static func forUnexpectedExit(_ status: ExitStatus) -> Int32 {
        status == .exited(0) ? 1 : status.shellCode
    }
}
