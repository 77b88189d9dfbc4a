import Glibc
import Testing
@testable import FTInit

/// ftinit's environment as a list (what children inherit) and as a dictionary (for `${VAR}`).
@Suite struct EnvironmentTests {
    @Test func dictionaryMapsEachKeyToItsValue() {
        #expect(environmentDictionary(["A=1", "PATH=/bin:/usr/bin", "EMPTY="])
                == ["A": "1", "PATH": "/bin:/usr/bin", "EMPTY": ""])
    }

    @Test func dictionaryKeepsEverythingAfterTheFirstEquals() {
        #expect(environmentDictionary(["OPTS=--a=1 --b=2", "X==y"]) == ["OPTS": "--a=1 --b=2", "X": "=y"])
    }

    @Test func dictionaryTakesTheFirstOfRepeatedKeysAsGetenvDoes() {
        #expect(environmentDictionary(["A=first", "B=b", "A=second"]) == ["A": "first", "B": "b"])
    }

    @Test func dictionarySkipsEntriesWithoutEquals() {
        #expect(environmentDictionary(["GARBAGE", "A=1", ""]) == ["A": "1"])
    }

    @Test func currentEnvironmentIsTheProcessEnvironment() throws {
        let path = try #require(getenv("PATH"))
        let entries = currentEnvironment()
        #expect(environmentDictionary(entries)["PATH"] == String(cString: path))
        #expect(entries.allSatisfy { $0.contains("=") })
    }

    @Test func mergeReplacesAnExistingKeyInPlace() {
        #expect(mergedEnvironment(["A=1", "B=2", "C=3"], ["B=two"]) == ["A=1", "B=two", "C=3"])
    }

    @Test func mergeAppendsNewKeysInOrder() {
        #expect(mergedEnvironment(["A=1"], ["Z=26", "M=13"]) == ["A=1", "Z=26", "M=13"])
    }

    @Test func mergeLetsTheLastOverrideOfAKeyWin() {
        // The identity's HOME first, then the program's `env = HOME=...`.
        #expect(mergedEnvironment(["HOME=/root", "PATH=/bin"], ["HOME=/home/app", "USER=app", "HOME=/srv"])
                == ["HOME=/srv", "PATH=/bin", "USER=app"])
    }

    @Test func mergeComparesWholeKeysNotPrefixes() {
        #expect(mergedEnvironment(["PATH=/bin", "PATHEXT=x"], ["PATHEXT=y", "PAT=z"])
                == ["PATH=/bin", "PATHEXT=y", "PAT=z"])
    }

    @Test func mergeCanSetAnEmptyValue() {
        #expect(mergedEnvironment(["DEBUG=1"], ["DEBUG="]) == ["DEBUG="])
    }

    @Test func mergeWithNoOverridesIsTheBase() {
        #expect(mergedEnvironment(["B=2", "A=1"], []) == ["B=2", "A=1"])
        #expect(mergedEnvironment([], ["A=1"]) == ["A=1"])
    }

    @Test func aMergedKeyIsSeenWithItsNewValue() {
        let merged = mergedEnvironment(["A=1", "B=2"], ["A=override"])
        #expect(environmentDictionary(merged)["A"] == "override")
    }
}
