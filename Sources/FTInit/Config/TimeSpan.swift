/// A length of time in milliseconds, as written in the config (`500ms`, `10s`, `1m30s`, `30d`).
public struct TimeSpan: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public static func seconds(_ s: Int64) -> TimeSpan { TimeSpan(milliseconds: s * 1000) }
    public static let zero = TimeSpan(milliseconds: 0)
    /// The longest duration a config may give (`36500d`, 100 years: a certificate's validity
    /// is the longest real use): deadlines computed from it stay far from Int64's end.
    public static let longest = TimeSpan(milliseconds: 36_500 * 86_400_000)

    public static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.milliseconds < b.milliseconds }
    public static func - (a: TimeSpan, b: TimeSpan) -> TimeSpan {
        TimeSpan(milliseconds: max(0, a.milliseconds - b.milliseconds))
    }

    private static let units: [(suffix: String, milliseconds: Int64)] = [
        ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
    ]

    /// Parses one or more `NUMBER UNIT` pairs; `0` alone is zero. Returns nil when malformed.
    public init?(parsing text: String) {
        if text == "0" { self = .zero; return }
        var total: Int64 = 0
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
            guard !digits.isEmpty, digits.count <= 9, let value = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let letters = rest.prefix(while: { $0.isASCII && $0.isLetter })
            guard let unit = Self.units.first(where: { $0.suffix == letters }) else { return nil }
            rest = rest.dropFirst(letters.count)
            let (part, overflow1) = value.multipliedReportingOverflow(by: unit.milliseconds)
            let (sum, overflow2) = total.addingReportingOverflow(part)
            guard !overflow1, !overflow2 else { return nil }
            total = sum
        }
        self.milliseconds = total
    }

    /// The largest number the parser takes in one `NUMBER UNIT` pair (at most 9 digits).
    static let maxNumber: Int64 = 999_999_999

    /// The shortest exact spelling: `1500ms`, `10s`, `2m`, `1h`. When that number would have
    /// more than 9 digits, which the parser refuses (an uptime past 11.6 days is
    /// `1000000123ms`), a sum of units instead, `11d13h46m40s123ms`, so every duration printed
    /// reads back (found by fuzz/targets/argv.swift).
    public var description: String {
        if milliseconds == 0 { return "0s" }
        for unit in Self.units.reversed() where milliseconds % unit.milliseconds == 0 {
            let count = milliseconds / unit.milliseconds
            if count <= Self.maxNumber || milliseconds < 0 { return "\(count)\(unit.suffix)" }
            break
        }
        var rest = milliseconds
        var text = ""
        for unit in Self.units.reversed() {
            var count = rest / unit.milliseconds
            rest %= unit.milliseconds
            while count > Self.maxNumber { text += "\(Self.maxNumber)\(unit.suffix)"; count -= Self.maxNumber }
            if count > 0 { text += "\(count)\(unit.suffix)" }
        }
        return text
    }
}
