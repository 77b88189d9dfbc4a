import Testing
@testable import FTInit

/// The `after` relation: start order (topological, ties in file order) and cycles.
@Suite struct DependencyGraphTests {
    /// Programs in file order from `name: dependencies` pairs.
    static func graph(_ spec: KeyValuePairs<String, [String]>) -> DependencyGraph {
        DependencyGraph(spec.enumerated().map { index, pair in
            service(pair.key, line: index + 1, run: [pair.key], after: pair.value.map { at($0, index + 1) })
        })
    }

    @Test func independentProgramsStartInFileOrder() {
        #expect(Self.graph(["c": [], "a": [], "b": []]).order() == ["c", "a", "b"])
    }

    @Test func aProgramStartsAfterWhatItNamesEvenWhenDefinedEarlier() {
        #expect(Self.graph(["web": ["db"], "db": []]).order() == ["db", "web"])
    }

    @Test func aChainStartsFromItsEnd() {
        #expect(Self.graph(["a": ["b"], "b": ["c"], "c": ["d"], "d": []]).order() == ["d", "c", "b", "a"])
    }

    @Test func tiesAreBrokenByFileOrder() {
        // Ready at first: worker and db (worker is first in the file); api once db is placed.
        #expect(Self.graph(["web": ["api"], "api": ["db"], "worker": [], "db": []]).order()
                == ["worker", "db", "api", "web"])
        // Once a program is placed, the earliest ready one in the file comes next.
        #expect(Self.graph(["late": ["x"], "x": [], "early": []]).order() == ["x", "late", "early"])
    }

    @Test func aDiamondStartsItsBaseFirstAndItsTopLast() {
        #expect(Self.graph(["top": ["left", "right"], "right": ["base"], "left": ["base"], "base": []]).order()
                == ["base", "right", "left", "top"])
    }

    @Test func theOrderPutsEveryProgramAfterItsDependencies() throws {
        let spec: KeyValuePairs<String, [String]> = [
            "nginx": ["php", "keys"], "php": ["migrate", "redis"], "keys": [], "migrate": ["db"],
            "db": [], "redis": [], "cron": ["php"], "metrics": [],
        ]
        let order = try #require(Self.graph(spec).order())
        #expect(order.sorted() == spec.map(\.key).sorted())
        for (name, dependencies) in spec {
            for dependency in dependencies {
                #expect(order.firstIndex(of: dependency)! < order.firstIndex(of: name)!, "\(name) after \(dependency)")
            }
        }
    }

    @Test func dependentsAreEverythingThatComesAfterDirectlyOrThroughOthers() {
        let dependents = Self.graph(["top": ["left", "right"], "right": ["base"], "left": ["base"], "base": [], "alone": []])
            .dependents()
        #expect(dependents == ["base": ["left", "right", "top"], "left": ["top"], "right": ["top"], "top": [], "alone": []])
        #expect(Self.graph(["c": ["b"], "b": ["a"], "a": []]).dependents()["a"] == ["b", "c"])
    }

    @Test func anEmptyGraphHasAnEmptyOrderAndNoCycle() {
        let graph = DependencyGraph([])
        #expect(graph.order() == [])
        #expect(graph.cycle() == nil)
    }

    @Test func anAcyclicGraphHasNoCycle() {
        #expect(Self.graph(["top": ["left", "right"], "right": ["base"], "left": ["base"], "base": []]).cycle() == nil)
    }

    @Test func aGraphWithACycleHasNoOrder() {
        #expect(Self.graph(["a": ["b"], "b": ["a"], "c": []]).order() == nil)
    }

    @Test(arguments: [
        (["a": ["b"], "b": ["a"]], ["a", "b", "a"]),
        (["a": ["c"], "b": ["a"], "c": ["b"]], ["a", "c", "b", "a"]),
        (["self": ["self"]], ["self", "self"]),
        // Reached through programs outside it: only the cycle itself, as a closed path.
        (["web": ["api"], "api": ["cache", "db"], "cache": [], "db": ["api"]], ["api", "db", "api"]),
        // The first cycle met when walking programs in file order.
        (["x": [], "p": ["q"], "q": ["p"], "m": ["n"], "n": ["m"]], ["p", "q", "p"]),
    ] as [(KeyValuePairs<String, [String]>, [String])])
    func findsCyclesAsClosedPaths(spec: KeyValuePairs<String, [String]>, cycle: [String]) {
        #expect(Self.graph(spec).cycle() == cycle)
    }

    @Test func everyStepOfAFoundCycleIsAnAfterEdge() throws {
        let spec: KeyValuePairs<String, [String]> = [
            "a": ["b", "e"], "b": ["c"], "c": ["d"], "d": ["b"], "e": [],
        ]
        let cycle = try #require(Self.graph(spec).cycle())
        #expect(cycle.first == cycle.last)
        let dependencies = Dictionary(uniqueKeysWithValues: spec.map { ($0.key, $0.value) })
        for (from, to) in zip(cycle, cycle.dropFirst()) {
            #expect(dependencies[from]!.contains(to), "\(from) -> \(to) is not an edge")
        }
        #expect(Set(cycle) == ["b", "c", "d"])
    }
}
