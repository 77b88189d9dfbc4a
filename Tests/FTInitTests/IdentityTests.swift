import Foundation
import Testing
@testable import FTInit

extension PasswdDatabase {
    /// `user = name | uid | name:group | uid:gid`, resolved before fork.
    @Suite struct IdentityTests {
        /// The /etc/passwd entry of `name` as (uid, gid, home), read without libc.
        static func passwdEntry(_ name: String) throws -> (uid: UInt32, gid: UInt32, home: String) {
            let passwd = try String(contentsOfFile: "/etc/passwd", encoding: .utf8)
            let fields = try #require(passwd.split(separator: "\n").map { $0.split(separator: ":", omittingEmptySubsequences: false) }
                .first { $0.first.map(String.init) == name }, "no \(name) in /etc/passwd")
            return (UInt32(fields[2])!, UInt32(fields[3])!, String(fields[5]))
        }

        @Test func resolvesRootByName() throws {
            let root = try Identity.resolve("root")
            #expect(root.uid == 0)
            #expect(root.gid == 0)
            #expect(root.groups.first == 0, "primary group first")
            #expect(root.home == "/root")
            #expect(root.userName == "root")
            #expect(root.environment == ["HOME=/root", "USER=root", "LOGNAME=root"])
        }

        @Test func resolvesNobodyByName() throws {
            let expected = try Self.passwdEntry("nobody")
            let nobody = try Identity.resolve("nobody")
            #expect(nobody.uid == expected.uid)
            #expect(nobody.gid == expected.gid)
            #expect(nobody.groups.first == expected.gid)
            #expect(nobody.home == expected.home)
            #expect(nobody.userName == "nobody")
        }

        @Test func resolvesANumericUidThroughItsPasswdEntry() throws {
            let expected = try Self.passwdEntry("nobody")
            let nobody = try Identity.resolve(String(expected.uid))
            #expect(nobody == (try Identity.resolve("nobody")))
            #expect(nobody.userName == "nobody")
        }

        @Test func resolvesUidColonGid() throws {
            let identity = try Identity.resolve("0:0")
            #expect(identity.uid == 0)
            #expect(identity.gid == 0)
            #expect(identity.userName == "root")
            #expect(identity.home == "/root")
        }

        @Test func anExplicitGroupReplacesThePrimaryGroup() throws {
            let identity = try Identity.resolve("nobody:0")
            #expect(identity.uid == (try Self.passwdEntry("nobody")).uid)
            #expect(identity.gid == 0)
            let byName = try Identity.resolve("root:daemon")
            #expect(byName.uid == 0)
            #expect(byName.gid == 1)
        }

        @Test func aUidWithoutPasswdEntryNeedsAGidAndGetsNoHome() throws {
            let identity = try Identity.resolve("4242:4343")
            #expect(identity.uid == 4242)
            #expect(identity.gid == 4343)
            #expect(identity.groups == [4343])
            #expect(identity.home == nil)
            #expect(identity.userName == nil)
            #expect(identity.environment == [])
        }

        @Test(arguments: [
            ("no-such-user", Identity.Failure.unknownUser("no-such-user")),
            ("no-such-user:0", .unknownUser("no-such-user")),
            ("", .unknownUser("")),
            ("root:no-such-group", .unknownGroup("no-such-group")),
            ("root:", .unknownGroup("")),
            ("4242", .uidWithoutGroup("4242")),
        ] as [(String, Identity.Failure)])
        func rejectsUnknownUsersAndGroups(spec: String, failure: Identity.Failure) {
            #expect(throws: failure) { try Identity.resolve(spec) }
        }

        @Test(arguments: [
            (Identity.Failure.unknownUser("www"), "unknown user 'www'"),
            (.unknownGroup("www"), "unknown group 'www'"),
            (.uidWithoutGroup("4242"), "uid 4242 has no passwd entry: write 4242:GID"),
        ] as [(Identity.Failure, String)])
        func describesFailuresForDiagnostics(failure: Identity.Failure, text: String) {
            #expect(failure.description == text)
        }
    }
}
