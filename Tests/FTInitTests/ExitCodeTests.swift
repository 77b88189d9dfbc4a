import Glibc
import Testing
@testable import FTInit

/// How a child's end becomes ftinit's exit code (docs/ftinit.md, "Exit codes").
@Suite struct ExitCodeTests {
    /// Runs `/bin/sh -c script` and returns the raw status word `waitpid` gives for it.
    static func rawWaitStatus(of script: String) throws -> Int32 {
        let argv = CStringArray(["/bin/sh", "-c", script])
        defer { argv.free() }
        // Default dispositions and an empty mask, whatever the test runner set up.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t(), none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let error = posix_spawn(&pid, "/bin/sh", nil, &attributes, argv.pointer, environ)
        try #require(error == 0, "posix_spawn: \(errorString(error))")
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            try #require(errno == EINTR, "waitpid: \(errorString(errno))")
        }
        return status
    }

    @Test(arguments: [
        ("exit 0", FTInit.ExitStatus.exited(0)),
        ("exit 1", .exited(1)),
        ("exit 3", .exited(3)),
        ("exit 127", .exited(127)),
        ("exit 255", .exited(255)),
        ("kill -KILL $$", .signaled(SIGKILL)),
        ("kill -TERM $$", .signaled(SIGTERM)),
        ("kill -HUP $$", .signaled(SIGHUP)),
        ("kill -USR1 $$", .signaled(SIGUSR1)),
        ("kill -QUIT $$", .signaled(SIGQUIT)),
    ] as [(String, FTInit.ExitStatus)])
    func decodesRealWaitStatuses(script: String, expected: FTInit.ExitStatus) throws {
        #expect(FTInit.ExitStatus(waitStatus: try Self.rawWaitStatus(of: script)) == expected)
    }

    @Test(arguments: [
        (0x0000, FTInit.ExitStatus.exited(0)),
        (0x0100, .exited(1)),
        (0x0300, .exited(3)),
        (0xff00, .exited(255)),
        (0x0009, .signaled(9)),
        (0x000f, .signaled(15)),
        (0x0086, .signaled(6)),    // SIGABRT with the core-dump bit
        (0x008b, .signaled(11)),   // SIGSEGV with the core-dump bit
        (0x0022, .signaled(34)),   // a real-time signal
    ] as [(Int32, FTInit.ExitStatus)])
    func decodesRawStatusWords(word: Int32, expected: FTInit.ExitStatus) {
        #expect(FTInit.ExitStatus(waitStatus: word) == expected)
    }

    @Test(arguments: [
        (FTInit.ExitStatus.exited(0), 0), (.exited(2), 2), (.exited(255), 255),
        (.signaled(SIGHUP), 129), (.signaled(SIGINT), 130), (.signaled(SIGQUIT), 131),
        (.signaled(SIGKILL), 137), (.signaled(SIGTERM), 143),
    ] as [(FTInit.ExitStatus, Int32)])
    func shellCodeIsTheCodeOr128PlusTheSignal(status: FTInit.ExitStatus, code: Int32) {
        #expect(status.shellCode == code)
    }

    @Test(arguments: [
        (FTInit.ExitStatus.exited(0), 1),        // a service must never exit: success is a failure
        (.exited(1), 1), (.exited(2), 2), (.exited(78), 78), (.exited(255), 255),
        (.signaled(SIGKILL), 137), (.signaled(SIGTERM), 143), (.signaled(SIGSEGV), 139),
    ] as [(FTInit.ExitStatus, Int32)])
    func unexpectedExitMapsToTheDocumentedCode(status: FTInit.ExitStatus, code: Int32) {
        #expect(ExitCode.forUnexpectedExit(status) == code)
    }

    @Test func unexpectedExitIsNeverZero() {
        let statuses = (0...255).map { FTInit.ExitStatus.exited(Int32($0)) } + (1...64).map { FTInit.ExitStatus.signaled(Int32($0)) }
        for status in statuses {
            #expect(ExitCode.forUnexpectedExit(status) != 0, "\(status)")
        }
    }

    @Test func sysexitsCodesAreTheDocumentedOnes() {
        #expect(ExitCode.usage == 64)
        #expect(ExitCode.osError == 71)
        #expect(ExitCode.config == 78)
    }

    @Test(arguments: [
        (FTInit.ExitStatus.exited(0), "code=0"), (.exited(3), "code=3"),
        (.signaled(SIGKILL), "signal=KILL"), (.signaled(SIGTERM), "signal=TERM"), (.signaled(40), "signal=40"),
    ] as [(FTInit.ExitStatus, String)])
    func describesStatusesForLogLines(status: FTInit.ExitStatus, text: String) {
        #expect(status.description == text)
    }

    @Test(arguments: [
        ("exec", ENOENT, 127), ("exec", ENOTDIR, 127),
        ("exec", EACCES, 126), ("exec", ENOEXEC, 126), ("exec", EISDIR, 126),
        ("chdir", ENOENT, 126), ("setuid", EPERM, 126),
    ] as [(String, Int32, Int32)])
    func aCommandNotFoundIs127AndOneThatCannotRunIs126(stage: String, errno: Int32, code: Int32) {
        #expect(SpawnError(stage: stage, errno: errno).exitCode == code)
    }

    @Test func spawnErrorsSayWhichStepFailedAndWhy() {
        #expect(SpawnError(stage: "exec", errno: ENOENT).description == "exec: \(errorString(ENOENT))")
        #expect(SpawnError(stage: "chdir", errno: EACCES).description == "chdir: \(errorString(EACCES))")
    }
}
