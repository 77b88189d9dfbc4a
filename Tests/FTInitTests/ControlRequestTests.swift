import Glibc
import Testing
@testable import FTInit

/// The control socket's request lines and command answers (docs/ftinit.md, "Commands";
/// docs/bad-input.md): exact words, single spaces, names as the config takes them.
@Suite struct ControlRequestTests {
    @Test(arguments: [
        ("status", ControlRequest.status),
        ("stop", .stop),
        ("restart web", .restart(service: "web")),
        ("restart php-fpm.8_x", .restart(service: "php-fpm.8_x")),
        ("signal nginx HUP", .signal(service: "nginx", signal: SIGHUP)),
        ("signal nginx WINCH", .signal(service: "nginx", signal: SIGWINCH)),
        ("signal nginx KILL", .signal(service: "nginx", signal: SIGKILL)),
    ] as [(String, ControlRequest)])
    func parsesEveryRequestAndPrintsItBack(line: String, expected: ControlRequest) {
        #expect(ControlRequest(line: line) == expected)
        #expect(expected.line == line + "\n")
        #expect(expected.isCommand == (line != "status"))
    }

    /// What a client other than ftinit's own might send: every one is no request at all.
    @Test(arguments: [
        "", " ", "status ", " status", "STATUS", "stop now", "restart", "restart ", "restart  web", "restart web ",
        "restart web db", "restart a/b", "restart ${X}", "restart w\u{e9}b", "signal web", "signal web hup",
        "signal web SIGHUP", "signal web 1", "signal web HUP HUP", "signal  web HUP", "signal web\tHUP",
        "signal web RTMIN", "status\0", "restart web\r", "help", "kill web",
    ])
    func rejectsAnythingElse(line: String) {
        #expect(ControlRequest(line: line) == nil)
    }

    @Test(arguments: [
        ControlAnswer.ok("restarting=db,web"), .ok("stopping"), .refused("no service named x"),
        .denied("uid 1000 may not command ftinit (only root)"), .ok(""),
    ])
    func answersReadBack(answer: ControlAnswer) {
        #expect(ControlAnswer(parsing: answer.text) == answer)
    }

    @Test(arguments: ["error unknown request\n", "ok two\nlines\n", "ok no newline", "", "fine\n", "ftinit verdict=ok summary=x\n"])
    func anythingElseIsNoAnswer(text: String) {
        #expect(ControlAnswer(parsing: text) == nil)
    }
}
