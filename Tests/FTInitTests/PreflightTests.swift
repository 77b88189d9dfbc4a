import Glibc
import Testing
@testable import FTInit

extension PasswdDatabase {
    /// What `ftinit run` checks on the machine before starting anything: users and dirs.
    @Suite struct PreflightTests {
        static func load(_ text: String) throws -> Config {
            try ConfigLoader.load(text: text, file: "/etc/ftinit.conf", environment: [:]).get()
        }

        static func problems(_ text: String) throws -> [String] {
            switch preflight(try load(text)) {
            case .success: return []
            case .failure(let errors): return errors.diagnostics.map(\.description)
            }
        }

        @Test func resolvesEveryUserBeforeStarting() throws {
            let config = try Self.load("[service a]\nrun = a\nuser = root\n[task b]\nrun = b\n[service c]\nrun = c\nuser = 4242:4343")
            let children = try preflight(config).get().children
            #expect(children.map(\.program.name) == ["a", "b", "c"])
            #expect(children[0].identity?.uid == 0)
            #expect(children[1].identity == nil)
            #expect(children[2].identity?.uid == 4242)
            #expect(children[2].identity?.gid == 4343)
            #expect(children.allSatisfy { $0.life.state == .waiting })
        }

        @Test func acceptsAnExistingDirectory() throws {
            #expect(try Self.problems("[service a]\nrun = a\ndir = /tmp") == [])
        }

        @Test func reportsEveryUnknownUserAndBadDirOnItsLine() throws {
            let text = """
                [service a]
                run = a
                user = no-such-user-ftinit
                dir = /no/such/dir
                [service b]
                run = b
                dir = /etc/passwd
                user = root:no-such-group-ftinit
                [task c]
                run = c
                user = 4242
                """
            let problems = try Self.problems(text)
            #expect(problems == [
                "/etc/ftinit.conf:3: user: unknown user 'no-such-user-ftinit'",
                "/etc/ftinit.conf:4: dir '/no/such/dir': \(errorString(ENOENT))",
                "/etc/ftinit.conf:7: dir '/etc/passwd' is not a directory",
                "/etc/ftinit.conf:8: user: unknown group 'no-such-group-ftinit'",
                "/etc/ftinit.conf:11: user: uid 4242 has no passwd entry: write 4242:GID",
            ])
        }
    }
}
