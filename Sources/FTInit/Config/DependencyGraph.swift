/// The `after` relation between programs: start order, stop order and cycle detection.
public struct DependencyGraph {
    /// Program names in file order, and for each the names it comes after.
    let names: [String]
    let dependencies: [String: [String]]

    public init(_ programs: [Program]) {
        names = programs.map(\.name)
        dependencies = Dictionary(programs.map { ($0.name, $0.after.map(\.value)) }, uniquingKeysWith: { a, _ in a })
    }

    /// A topological order, ties broken by file order; nil when there is a cycle.
    public func order() -> [String]? {
        var placed: Set<String> = []
        var result: [String] = []
        while result.count < names.count {
            guard let next = names.first(where: { name in
                !placed.contains(name) && dependencies[name, default: []].allSatisfy(placed.contains)
            }) else { return nil }
            placed.insert(next)
            result.append(next)
        }
        return result
    }

    /// For each program, every program that comes after it, directly or through others: what
    /// must have ended before it is stopped, and what a restart of it stops and starts again.
    public func dependents() -> [String: Set<String>] {
        var result: [String: Set<String>] = [:]
        func collect(_ name: String) -> Set<String> {
            if let known = result[name] { return known }
            result[name] = []  // a cycle (rejected by the loader) ends here instead of looping
            var found: Set<String> = []
            for other in names where dependencies[other, default: []].contains(name) {
                found.insert(other)
                found.formUnion(collect(other))
            }
            result[name] = found
            return found
        }
        for name in names { _ = collect(name) }
        return result
    }

    /// The first cycle found, as a closed path `[a, b, a]`; nil when there is none.
    public func cycle() -> [String]? {
        var finished: Set<String> = []
        var path: [String] = []

        func visit(_ name: String) -> [String]? {
            if let start = path.firstIndex(of: name) { return Array(path[start...]) + [name] }
            if finished.contains(name) { return nil }
            path.append(name)
            for dependency in dependencies[name, default: []] {
                if let cycle = visit(dependency) { return cycle }
            }
            path.removeLast()
            finished.insert(name)
            return nil
        }

        for name in names {
            if let cycle = visit(name) { return cycle }
        }
        return nil
    }
}
