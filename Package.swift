// swift-tools-version: 6.0
import PackageDescription

// ftinit: the PID-1 init and supervisor of every ft_services image.
// The library and the executable use libc and OpenSSL only (no Foundation, Dispatch or Swift
// concurrency) so the static binary stays small; the tests may use anything.
// Enforced at compile time: the binary's code cannot even see Concurrency or StringProcessing
// (the latter alone would add the regex engine and Unicode name tables to every image).
let leanSwift: [SwiftSetting] = [
    .unsafeFlags([
        "-Xfrontend", "-disable-implicit-concurrency-module-import",
        "-Xfrontend", "-disable-implicit-string-processing-module-import",
    ]),
]

let package = Package(
    name: "ftinit",
    products: [
        .executable(name: "ftinit", targets: ["FTInitCommand"]),
    ],
    targets: [
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"]), .brew(["openssl"])]
        ),
        // Linux calls Swift cannot import as they are (variadic prctl); libc only.
        .systemLibrary(name: "CLinux"),
        .target(name: "FTInit", dependencies: ["COpenSSL", "CLinux"], swiftSettings: leanSwift),
        // Module names may not differ only in case from "FTInit", hence the explicit path.
        .executableTarget(name: "FTInitCommand", dependencies: ["FTInit"], path: "Sources/ftinit",
                          swiftSettings: leanSwift),
        .testTarget(name: "FTInitTests", dependencies: ["FTInit"]),
        // Runs the built binary (FTINIT_BIN, default .build/release/ftinit) as a real PID 1.
        // Stack/Clients: scripts the stack tests run as clients (python3), not Swift;
        // Kubernetes/Fakes: the stand-ins setup.sh's tests put on its PATH and port.
        .testTarget(name: "IntegrationTests", exclude: ["Stack/Clients", "Kubernetes/Fakes"]),
    ]
)
