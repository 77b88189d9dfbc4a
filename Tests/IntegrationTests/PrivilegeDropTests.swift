import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `user = name | uid | uid:gid`: the child runs with that uid and gid and the user's
/// supplementary groups, none of root's left (docs/ftinit.md, "Sections and keys").
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(Prerequisites.baseTools + ["id"]), what: "privilege drop tests"))
    struct PrivilegeDrop {
        @Test func userNobodyRunsTheServiceAsUid65534WithNobodysGroupsOnly() throws {
            try Prerequisites.require([.user("nobody")])
            let nobody = try #require(Users.account("nobody"))
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service dropped]
                run = sleep 4401
                user = nobody

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            let started = try ftinit.requireEvent("started", subject: "dropped")

            let pid = try ftinit.hostPid(of: started)

            try expectIdentity(pid, uid: nobody.uid, gid: nobody.gid, groups: nobody.groups, report: ftinit.report)
        }

        @Test func numericUidAndGidAreApplied() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [service numeric]
                run = sleep 4402
                user = 1234:5678

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            let started = try ftinit.requireEvent("started", subject: "numeric")

            let pid = try ftinit.hostPid(of: started)

            try expectIdentity(pid, uid: 1234, gid: 5678, groups: [5678], report: ftinit.report)
        }

        /// A user of a test user database (/etc/passwd, /etc/group and a files-only
        /// /etc/nsswitch.conf, bind-mounted in ftinit's namespace only): primary group 4242,
        /// member of 4243 and 4244.
        @Test(.requires(.tools(["mount"]), what: "supplementary groups test"))
        func supplementaryGroupsOfTheNamedUserAreSet() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let passwd = try scratch.write("passwd", """
                root:x:0:0:root:/root:/bin/sh
                nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
                ftinit-it:x:4242:4242:ftinit test user:/nonexistent:/usr/sbin/nologin

                """)
            let group = try scratch.write("group", """
                root:x:0:
                nogroup:x:65534:
                ftinit-it:x:4242:
                ftinit-it-one:x:4243:ftinit-it
                ftinit-it-two:x:4244:nobody,ftinit-it
                ftinit-it-none:x:4245:nobody

                """)
            let nsswitch = try scratch.write("nsswitch.conf", "passwd: files\ngroup: files\nshadow: files\n")
            let path = try scratch.config("""
                [service member]
                run = sleep 4403
                user = ftinit-it

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path,
                                           bindMounts: [passwd: "/etc/passwd", group: "/etc/group", nsswitch: "/etc/nsswitch.conf"])
            defer { ftinit.stop() }
            let started = try ftinit.requireEvent("started", subject: "member")

            let pid = try ftinit.hostPid(of: started)

            try expectIdentity(pid, uid: 4242, gid: 4242, groups: [4242, 4243, 4244], report: ftinit.report)
            let groups = Set(ProcFS.statusNumbers(pid, "Groups") ?? [])
            #expect(groups.isSuperset(of: [4243, 4244]), "supplementary groups not set: Groups \(groups.sorted())\(ftinit.report)")
        }

        @Test func taskRunsAsItsUserToo() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let out = scratch.file("ids")
            let path = try scratch.config("""
                [task whoami]
                run = sh -c 'id -u > \(out); id -g >> \(out); id -G >> \(out)'
                user = 1234:5678

                [service idle]
                run = sleep 4404
                after = whoami

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }
            _ = try ftinit.requireEvent("started", subject: "idle")

            let lines = scratch.lines("ids")
            #expect(lines.count == 3, "\(lines)\(ftinit.report)")
            #expect(lines.first == "1234" && lines.dropFirst().first == "5678", "\(lines)")
            #expect(!(lines.last ?? "").split(separator: " ").contains("0"), "root's group is left: \(lines)")
        }

        /// Real, effective, saved and filesystem ids all dropped; the supplementary groups are
        /// the user's (the primary group may or may not be listed among them).
        private func expectIdentity(_ pid: pid_t, uid: Int, gid: Int, groups: Set<Int>, report: String,
                                    sourceLocation: SourceLocation = #_sourceLocation) throws {
            let uids = try #require(ProcFS.statusNumbers(pid, "Uid"), sourceLocation: sourceLocation)
            let gids = try #require(ProcFS.statusNumbers(pid, "Gid"), sourceLocation: sourceLocation)
            let supplementary = Set(ProcFS.statusNumbers(pid, "Groups") ?? [])
            #expect(uids == [uid, uid, uid, uid], "Uid: \(uids), expected \(uid)\(report)", sourceLocation: sourceLocation)
            #expect(gids == [gid, gid, gid, gid], "Gid: \(gids), expected \(gid)\(report)", sourceLocation: sourceLocation)
            #expect(supplementary.union([gid]) == groups.union([gid]),
                    "Groups: \(supplementary.sorted()), expected \(groups.sorted())\(report)", sourceLocation: sourceLocation)
            #expect(!supplementary.contains(0) || groups.contains(0), "root's group 0 was kept\(report)", sourceLocation: sourceLocation)
        }
    }
}
