import Foundation

/// Where the sources of each image live: images/NAME of this checkout.
enum ImageFolder {
    static func path(_ image: String) -> String {
        FTInitBinary.packageRoot.appendingPathComponent("images/\(image)").path
    }
}
