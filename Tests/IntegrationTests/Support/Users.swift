import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The user database as the privilege-drop tests need it.
enum Users {
    struct Account: Sendable {
        let name: String
        let uid: Int
        let gid: Int
        /// Every group of the user: its primary group and its supplementary groups.
        let groups: Set<Int>
    }

    static func account(_ name: String) -> Account? {
        guard let entry = getpwnam(name) else { return nil }
        let uid = Int(entry.pointee.pw_uid)
        let gid = Int(entry.pointee.pw_gid)
        var count: Int32 = 64
        var list = [gid_t](repeating: 0, count: Int(count))
        guard getgrouplist(name, gid_t(gid), &list, &count) >= 0 else { return nil }
        return Account(name: name, uid: uid, gid: gid, groups: Set(list.prefix(Int(count)).map { Int($0) }))
    }
}
