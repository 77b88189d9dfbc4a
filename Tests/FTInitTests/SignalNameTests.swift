import Glibc
import Testing
@testable import FTInit

/// Signal names as users write them in `stop-signal` and as ftinit logs them.
@Suite struct SignalNameTests {
    @Test(arguments: [
        ("TERM", SIGTERM), ("SIGTERM", SIGTERM), ("term", SIGTERM), ("SigTerm", SIGTERM),
        ("QUIT", SIGQUIT), ("SIGQUIT", SIGQUIT), ("INT", SIGINT), ("HUP", SIGHUP), ("sighup", SIGHUP),
        ("KILL", SIGKILL), ("USR1", SIGUSR1), ("USR2", SIGUSR2), ("WINCH", SIGWINCH),
        ("PWR", SIGPWR), ("STOP", SIGSTOP), ("CHLD", SIGCHLD), ("SYS", SIGSYS), ("ALRM", SIGALRM),
    ] as [(String, Int32)])
    func readsNamesWithOrWithoutSIGInAnyCase(name: String, number: Int32) {
        #expect(SignalName.number(for: name) == number)
    }

    @Test(arguments: ["", "SIG", "TERMINATE", "15", "SIG15", "SIGSIGTERM", " TERM", "TERM ", "RTMIN", "SIGRTMIN+1", "IOT"])
    func rejectsWhatIsNotASignalName(text: String) {
        #expect(SignalName.number(for: text) == nil)
    }

    @Test(arguments: [(SIGTERM, "TERM"), (SIGKILL, "KILL"), (SIGQUIT, "QUIT"), (SIGHUP, "HUP"), (SIGINT, "INT"),
                      (SIGUSR1, "USR1"), (SIGWINCH, "WINCH"), (SIGCHLD, "CHLD")] as [(Int32, String)])
    func namesSignalsWithoutTheSIGPrefix(number: Int32, name: String) {
        #expect(SignalName.name(of: number) == name)
    }

    @Test(arguments: [34, 40, 64] as [Int32])
    func namesUnnamedRealTimeSignalsByNumber(number: Int32) {
        #expect(SignalName.name(of: number) == "\(number)")
    }

    @Test(arguments: Array(Int32(1)...31))
    func everyStandardSignalHasANameThatReadsBack(number: Int32) {
        let name = SignalName.name(of: number)
        #expect(name != "\(number)", "signal \(number) has no name")
        #expect(SignalName.number(for: name) == number)
        #expect(SignalName.number(for: "SIG" + name) == number)
    }
}
