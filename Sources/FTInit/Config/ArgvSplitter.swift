/// Splits a `run` line into argv the way a POSIX shell splits words, without running a shell:
/// blanks separate words; `'...'` is literal; in `"..."` only `\"`, `\\`, `\$` and `` \` ``
/// are escapes; outside quotes a backslash escapes the next character.
/// `${VAR}` references are expanded while splitting, so a value is never split or unquoted.
public enum ArgvSplitter {
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case unterminatedQuote(Character)
        case trailingBackslash
        case expansion(Expander.Failure)

        public var description: String {
            switch self {
            case .unterminatedQuote(let q): return "unterminated \(q) quote"
            case .trailingBackslash: return "trailing backslash"
            case .expansion(let failure): return failure.description
            }
        }
    }

    public static func split(_ line: String, expander: Expander) throws(Failure) -> [String] {
        var words: [String] = []
        var word = ""
        var inWord = false  // distinguishes an empty quoted word ('') from no word
        var quote: Character? = nil
        var rest = Substring(line)

        while let c = rest.first {
            if c == "$" {  // ftinit's own syntax: expanded in every quoting context
                do {
                    switch try expander.piece(at: &rest) {
                    case .literal(let s), .substituted(let s): word += s
                    }
                } catch {
                    throw .expansion(error)
                }
                inWord = true
                continue
            }
            rest = rest.dropFirst()
            switch (quote, c) {
            case (nil, " "), (nil, "\t"):
                if inWord { words.append(word); word = ""; inWord = false }
            case (nil, "'"), (nil, "\""):
                quote = c; inWord = true
            case (nil, "\\"):
                guard let next = rest.first else { throw .trailingBackslash }
                word.append(next); rest = rest.dropFirst(); inWord = true
            case ("'", "'"), ("\"", "\""):
                quote = nil
            case ("\"", "\\"):
                if let next = rest.first, "\"\\$`".contains(next) {
                    word.append(next); rest = rest.dropFirst()
                } else {
                    word.append(c)
                }
            default:
                word.append(c); inWord = true
            }
        }
        if let quote { throw .unterminatedQuote(quote) }
        if inWord { words.append(word) }
        return words
    }
}
