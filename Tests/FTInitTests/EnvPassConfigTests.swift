import FTInit
import Testing

/// `env-clear` and `env-pass`: a program that keeps only the variables it names (issue 17).
struct EnvPassConfigTests {
    static func program(_ text: String) throws -> Program {
        try #require(try ConfigLoader.load(text: text, file: "f.conf", environment: [:]).get().programs.first)
    }

    @Test func withoutEnvClearAProgramInheritsEverything() throws {
        #expect(try Self.program("[service web]\nrun = web\nenv = A=1").envPass == nil)
        #expect(try Self.program("[service web]\nrun = web\nenv-clear = no").envPass == nil)
    }

    @Test func envClearKeepsNothingButWhatEnvPassNamesInAnyOrder() throws {
        #expect(try Self.program("[service db]\nrun = db\nenv-clear = yes").envPass == [])
        #expect(try Self.program("[task init]\nrun = init\nenv-pass = A B\nenv-clear = yes\nenv-pass = C").envPass == ["A", "B", "C"])
    }

    @Test func envPassWithoutEnvClearOrWithABadNameIsAnError() {
        #expect(diagnostics(of: "[service web]\nrun = web\nenv-pass = TOKEN", file: "f.conf")
                == ["f.conf:3: env-pass keeps variables when the environment is cleared: it needs env-clear = yes"])
        #expect(diagnostics(of: "[service web]\nrun = web\nenv-clear = yes\nenv-pass = OK 1BAD", file: "f.conf")
                == ["f.conf:4: env-pass names variables, got '1BAD'"])
        #expect(diagnostics(of: "[service web]\nrun = web\nenv-clear = maybe", file: "f.conf")
                == ["f.conf:3: env-clear must be yes or no, got 'maybe'"])
    }
}
