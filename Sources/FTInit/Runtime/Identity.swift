#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Who a child runs as: resolved from `user = name | uid | name:group | uid:gid` before fork,
/// from /etc/passwd and /etc/group (`UserDatabase`).
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

    /// Resolves `spec` against the machine's /etc/passwd and /etc/group.
    public static func resolve(_ spec: String) throws(Failure) -> Identity {
        try resolve(spec, in: .system())
    }

    public static func resolve(_ spec: String, in database: UserDatabase) throws(Failure) -> Identity {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let userPart = String(parts[0])
        let groupPart = parts.count > 1 ? String(parts[1]) : nil

        var identity: Identity
        if let user = UInt32(userPart).flatMap(database.user(uid:)) ?? database.user(named: userPart) {
            identity = Identity(uid: user.uid, gid: user.gid, groups: database.groupIDs(of: user),
                                home: user.home, userName: user.name)
        } else if let uid = UInt32(userPart) {
            guard groupPart != nil else { throw .uidWithoutGroup(userPart) }
            identity = Identity(uid: uid, gid: 0, groups: [], home: nil, userName: nil)
        } else {
            throw .unknownUser(userPart)
        }
        if let groupPart {
            guard let gid = UInt32(groupPart) ?? database.group(named: groupPart)?.gid else {
                throw .unknownGroup(groupPart)
            }
            identity.gid = gid
            identity.groups = [gid]  // like Docker's USER u:g: only that group
        }
        return identity
    }

    /// HOME, USER and LOGNAME for the child, when known.
    public var environment: [String] {
        var entries: [String] = []
        if let home { entries.append("HOME=\(home)") }
        if let userName { entries += ["USER=\(userName)", "LOGNAME=\(userName)"] }
        return entries
    }
}
