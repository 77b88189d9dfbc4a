#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Who a child runs as: resolved from `user = name | uid | name:group | uid:gid` before fork,
/// because passwd lookups are not safe between fork and exec.
public struct Identity: Equatable, Sendable {
    public var uid: uid_t
    public var gid: gid_t
    public var groups: [gid_t]
    /// From the passwd entry, when there is one: HOME, USER and LOGNAME for the child.
    public var home: String?
    public var userName: String?

    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case unknownUser(String)
        case unknownGroup(String)
        case uidWithoutGroup(String)

        public var description: String {
            switch self {
            case .unknownUser(let u): return "unknown user '\(u)'"
            case .unknownGroup(let g): return "unknown group '\(g)'"
            case .uidWithoutGroup(let u): return "uid \(u) has no passwd entry: write \(u):GID"
            }
        }
    }

    public static func resolve(_ spec: String) throws(Failure) -> Identity {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let userPart = String(parts[0])
        let groupPart = parts.count > 1 ? String(parts[1]) : nil

        let entry = uid_t(userPart).map { getpwuid($0) } ?? getpwnam(userPart)
        var identity: Identity
        if let entry {
            let pw = entry.pointee
            let name = String(cString: pw.pw_name)
            identity = Identity(uid: pw.pw_uid, gid: pw.pw_gid, groups: supplementaryGroups(name, pw.pw_gid),
                                home: String(cString: pw.pw_dir), userName: name)
        } else if let uid = uid_t(userPart) {
            guard groupPart != nil else { throw .uidWithoutGroup(userPart) }
            identity = Identity(uid: uid, gid: 0, groups: [], home: nil, userName: nil)
        } else {
            throw .unknownUser(userPart)
        }
        if let groupPart {
            if let gid = gid_t(groupPart) {
                identity.gid = gid
            } else if let group = getgrnam(groupPart) {
                identity.gid = group.pointee.gr_gid
            } else {
                throw .unknownGroup(groupPart)
            }
            identity.groups = [identity.gid]  // like Docker's USER u:g: only that group
        }
        return identity
    }

    /// Every group `user` belongs to, primary group first.
    static func supplementaryGroups(_ user: String, _ primary: gid_t) -> [gid_t] {
        var count: Int32 = 32
        var groups = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(user, primary, &groups, &count) < 0 {
            groups = [gid_t](repeating: 0, count: Int(count))
            _ = getgrouplist(user, primary, &groups, &count)
        }
        return Array(groups.prefix(Int(max(count, 0))))
    }

    /// HOME, USER and LOGNAME for the child, when known.
    public var environment: [String] {
        var entries: [String] = []
        if let home { entries.append("HOME=\(home)") }
        if let userName { entries += ["USER=\(userName)", "LOGNAME=\(userName)"] }
        return entries
    }
}
