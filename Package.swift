// swift-tools-version: 6.0
import PackageDescription

// ftinit: the PID-1 init and supervisor of every ft_services image.
// The library and the executable use libc and OpenSSL only (no Foundation, Dispatch or Swift
// concurrency) so the static binary stays small; the tests may use anything.
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
        .target(name: "FTInit", dependencies: ["COpenSSL", "CLinux"]),
        // Module names may not differ only in case from "FTInit", hence the explicit path.
        .executableTarget(name: "FTInitCommand", dependencies: ["FTInit"], path: "Sources/ftinit"),
        .testTarget(name: "FTInitTests", dependencies: ["FTInit"]),
        // Runs the built binary (FTINIT_BIN, default .build/release/ftinit) as a real PID 1.
        .testTarget(name: "IntegrationTests"),
    ]
)
