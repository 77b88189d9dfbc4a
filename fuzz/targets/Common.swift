// Shared by every fuzz target: the fixed environment and a trap that names the broken property.
@testable import FTInit

#if canImport(Glibc)
import Glibc
#endif

/// The environment every target expands against: a few defined, one empty, the rest undefined.
let fuzzEnvironment: [String: String] = [
    "HOME": "/root", "FT_ROOT": "", "NGINX_USER": "nginx", "LB_IP": "192.168.49.20",
    "PASSWORD": "p'a\"s s$w{o}r\\d", "EMPTY": "", "PORT": "8080", "X": "x",
]

let fuzzExpander = Expander(environment: fuzzEnvironment)

/// The input as ftinit sees a file: bytes decoded as UTF-8, invalid sequences replaced.
func text(_ start: UnsafeRawPointer, _ count: Int) -> String {
    String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
}

/// A broken invariant is a crash, so libFuzzer saves the input.
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() {
        fputs("fuzz invariant broken: \(message())\n", stderr)
        abort()
    }
}
