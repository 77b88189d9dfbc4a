/// /etc/passwd and /etc/group, read directly. ftinit is a static glibc binary: going through
/// NSS would dlopen the host's shared NSS modules (libnss_systemd crashes a static binary),
/// and in a container the files are the only source anyway.
public struct UserDatabase: Sendable {
    public struct User: Equatable, Sendable {
        public var name: String
        public var uid: UInt32
        public var gid: UInt32
        public var home: String
    }

    public struct Group: Equatable, Sendable {
        public var name: String
        public var gid: UInt32
        public var members: [String]
    }

    public var users: [User]
    public var groups: [Group]

    public init(users: [User], groups: [Group]) {
        self.users = users
        self.groups = groups
    }

    /// Parses passwd(5) and group(5) text; malformed lines are skipped, as libc does.
    public init(passwd: String, group: String) {
        users = Self.records(passwd).compactMap { f in
            guard f.count >= 7, let uid = UInt32(f[2]), let gid = UInt32(f[3]) else { return nil }
            return User(name: String(f[0]), uid: uid, gid: gid, home: String(f[5]))
        }
        groups = Self.records(group).compactMap { f in
            guard f.count >= 4, let gid = UInt32(f[2]) else { return nil }
            return Group(name: String(f[0]), gid: gid, members: f[3].split(separator: ",").map(String.init))
        }
    }

    /// The machine's own databases (missing files read as empty).
    public static func system() -> UserDatabase {
        UserDatabase(passwd: readFile("/etc/passwd") ?? "", group: readFile("/etc/group") ?? "")
    }

    private static func records(_ text: String) -> [[Substring]] {
        text.split(separator: "\n")
            .filter { !$0.hasPrefix("#") && !$0.hasPrefix("+") && !$0.hasPrefix("-") }
            .map { $0.split(separator: ":", omittingEmptySubsequences: false) }
    }

    public func user(named name: String) -> User? { users.first { $0.name == name } }
    public func user(uid: UInt32) -> User? { users.first { $0.uid == uid } }
    public func group(named name: String) -> Group? { groups.first { $0.name == name } }

    /// The primary group, then every group listing `user` as a member (getgrouplist(3)).
    public func groupIDs(of user: User) -> [UInt32] {
        var ids = [user.gid]
        for group in groups where group.members.contains(user.name) && !ids.contains(group.gid) {
            ids.append(group.gid)
        }
        return ids
    }
}
