/// One problem found in a config file, printed as `PATH:LINE: message`.
public struct Diagnostic: Error, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int?
    public let message: String

    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}

/// A value together with the line it came from, for errors found after parsing.
public struct Located<Value: Equatable & Sendable>: Equatable, Sendable {
    public var value: Value
    public var line: Int
}

/// Every problem found in one config, in line order.
public struct ConfigErrors: Error, Equatable {
    public let diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
}
