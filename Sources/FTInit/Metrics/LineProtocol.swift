/// InfluxDB line protocol: `measurement,tag=v,... field=v,... timestamp`, one point per line.
enum LineProtocol {
    /// A field value. Decimals are written from integer micro-units, so a value is always
    /// printed the same way (no exponent, no rounding noise) and stays a float for InfluxDB.
    enum Value: Equatable {
        case integer(Int64)
        case micros(Int64)  // 1_500_000 is written 1.5
        case text(String)
    }

    /// The escaped `,key=value...` of `tags`, with empty values left out (InfluxDB refuses them).
    static func tagSet(_ tags: [(key: String, value: String)]) -> String {
        var text = ""
        for (key, value) in tags where !value.isEmpty {
            text += "," + escape(key, ",= ") + "=" + escape(value, ",= ")
        }
        return text
    }

    /// One point (with its trailing newline), or nil when it has no field.
    static func point(_ measurement: String, tagSet: String, fields: [(String, Value?)], milliseconds: Int64) -> String? {
        var fieldText = ""
        for (key, value) in fields {
            guard let value else { continue }
            fieldText += (fieldText.isEmpty ? "" : ",") + escape(key, ",= ") + "=" + format(value)
        }
        if fieldText.isEmpty { return nil }
        return escape(measurement, ", ") + tagSet + " " + fieldText + " \(milliseconds)\n"
    }

    static func format(_ value: Value) -> String {
        switch value {
        case .integer(let number): return "\(number)i"
        case .text(let text): return "\"" + escape(text, "\"\\") + "\""
        case .micros(let micros):
            let sign = micros < 0 ? "-" : ""
            let magnitude = micros.magnitude
            var fraction = String(magnitude % 1_000_000)
            fraction = String(repeating: "0", count: 6 - fraction.count) + fraction
            while fraction.count > 1 && fraction.hasSuffix("0") { fraction.removeLast() }
            return "\(sign)\(magnitude / 1_000_000).\(fraction)"
        }
    }

    /// A backslash before every character of `special`; newlines, which no element may hold,
    /// become blanks. (InfluxDB reads other backslashes literally, except in string values,
    /// whose `special` includes it.)
    static func escape(_ text: String, _ special: String) -> String {
        var escaped = ""
        for character in text {
            if character == "\n" || character == "\r" || character == "\r\n" {
                escaped.append(" ")
                continue
            }
            if special.contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}
