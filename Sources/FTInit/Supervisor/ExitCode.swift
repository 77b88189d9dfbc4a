/// ftinit's exit codes (docs/ftinit.md): the child's code or 128+signal, sysexits otherwise.
public enum ExitCode {
    /// A service failed its health check: like a service that died, never 0.
    public static let unhealthy: Int32 = 1
    public static let usage: Int32 = 64      // EX_USAGE
    public static let unavailable: Int32 = 69  // EX_UNAVAILABLE
    public static let software: Int32 = 70   // EX_SOFTWARE
    public static let osError: Int32 = 71    // EX_OSERR
    public static let cannotCreate: Int32 = 73  // EX_CANTCREAT
    public static let noPermission: Int32 = 77  // EX_NOPERM
    public static let config: Int32 = 78     // EX_CONFIG

    /// Why ftinit exits when a service ended or a task failed: never 0, because a service
    /// that stops on its own is a failure of the container.
    public static func forUnexpectedExit(_ status: ExitStatus) -> Int32 {
        status == .exited(0) ? 1 : status.shellCode
    }
}
