import Testing
@testable import FTInit

/// /etc/passwd and /etc/group are read by ftinit itself, never through NSS.
@Suite struct UserDatabaseTests {
    static let database = UserDatabase(
        passwd: """
            root:x:0:0:root:/root:/bin/sh
            # a comment
            nginx:x:101:102:nginx:/var/lib/nginx:/sbin/nologin
            broken:x:notanumber:1::/:/bin/sh
            short:x:5
            +nisuser::::::
            www-data:x:82:82:Linux User,,,:/home/www-data:/sbin/nologin
            """,
        group: """
            root:x:0:root
            www-data:x:82:
            nginx:x:102:nginx
            shared:x:300:nginx,www-data
            bad:x:gid:
            """)

    @Test func skipsCommentsCompatEntriesAndMalformedLines() {
        #expect(Self.database.users.map(\.name) == ["root", "nginx", "www-data"])
        #expect(Self.database.groups.map(\.name) == ["root", "www-data", "nginx", "shared"])
    }

    @Test func resolvesANameToItsIdsHomeAndEveryGroupItIsAMemberOf() throws {
        let nginx = try Identity.resolve("nginx", in: Self.database)
        #expect(nginx == Identity(uid: 101, gid: 102, groups: [102, 300], home: "/var/lib/nginx", userName: "nginx"))
    }

    @Test func primaryGroupComesFirstAndIsNotRepeated() throws {
        let www = try Identity.resolve("www-data", in: Self.database)
        #expect(www.groups == [82, 300])
    }

    @Test func aGroupByNameReplacesAllGroups() throws {
        let identity = try Identity.resolve("nginx:www-data", in: Self.database)
        #expect(identity.gid == 82)
        #expect(identity.groups == [82])
        #expect(identity.userName == "nginx")
    }

    @Test func aUidFoundInPasswdIsThatUser() throws {
        #expect(try Identity.resolve("82", in: Self.database).userName == "www-data")
    }

    @Test func unknownNamesAreErrors() {
        #expect(throws: Identity.Failure.unknownUser("apache")) { try Identity.resolve("apache", in: Self.database) }
        #expect(throws: Identity.Failure.unknownGroup("wheel")) { try Identity.resolve("root:wheel", in: Self.database) }
        #expect(throws: Identity.Failure.uidWithoutGroup("4242")) { try Identity.resolve("4242", in: Self.database) }
    }
}
