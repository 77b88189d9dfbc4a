#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// ftinit's own environment, as a list of `KEY=VALUE` entries in their original order.
public func currentEnvironment() -> [String] {
    var entries: [String] = []
    var cursor = environ
    while let entry = cursor.pointee {
        entries.append(String(cString: entry))
        cursor += 1
    }
    return entries
}

/// `KEY=VALUE` entries as a dictionary; the first entry of a key wins, as with getenv(3).
public func environmentDictionary(_ entries: [String]) -> [String: String] {
    var result: [String: String] = [:]
    for entry in entries {
        guard let eq = entry.firstIndex(of: "=") else { continue }
        let key = String(entry[..<eq])
        if result[key] == nil { result[key] = String(entry[entry.index(after: eq)...]) }
    }
    return result
}

/// `base` with each of `overrides` replacing the entry of the same key, or appended.
public func mergedEnvironment(_ base: [String], _ overrides: [String]) -> [String] {
    var result = base
    for entry in overrides {
        let key = entry.prefix(while: { $0 != "=" })
        if let i = result.firstIndex(where: { $0.prefix(while: { $0 != "=" }) == key }) {
            result[i] = entry
        } else {
            result.append(entry)
        }
    }
    return result
}
