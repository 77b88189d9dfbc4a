import Testing

/// The command line outside `run`: usage errors, `help`, `version` (docs/ftinit.md, "Command line").
extension Integration {
    @Suite(.requires(.tools(Prerequisites.baseTools), what: "command line tests"))
    struct CommandLine {
        @Test(arguments: [["help"], ["-h"], ["--help"]])
        func helpPrintsUsageOfEverySubcommandAndExits0(arguments: [String]) throws {
            let result = try CommandResult.run(arguments)
            #expect(result.code == 0, "\(result.report)")
            let usage = result.stdout + result.stderr
            for subcommand in ["run", "--config", "check", "version", "help", "-- CMD"] {
                #expect(usage.contains(subcommand), "usage does not mention `\(subcommand)`\(result.report)")
            }
        }

        @Test func versionPrintsTheOpenSSLVersionAndExits0() throws {
            let result = try CommandResult.run(["version"])
            #expect(result.code == 0, "\(result.report)")
            #expect(result.stdout.contains("OpenSSL"), "version does not name the OpenSSL version\(result.report)")
        }

        @Test(arguments: [
            ["bogus"],
            ["run", "--bogus"],
            ["check", "--bogus"],
            ["run", "--config"],
            ["--"],
        ])
        func usageErrorPrintsUsageOnStderrAndExits64(arguments: [String]) throws {
            let result = try CommandResult.run(arguments)
            #expect(result.code == 64, "\(result.report)")
            #expect(!result.stderr.isEmpty, "usage error without a message on stderr\(result.report)")
        }
    }
}
