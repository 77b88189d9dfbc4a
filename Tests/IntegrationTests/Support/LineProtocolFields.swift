/// The fields of one InfluxDB line-protocol line (`measurement,tags field=value,... time`), by
/// name, values as written (`12i`, `0.5`, `"text"`). Enough for ftinit's own lines, whose tag
/// and field values hold no escaped space or comma.
func lineProtocolFields(_ line: Substring) -> [String: String] {
    let parts = line.split(separator: " ")
    guard parts.count >= 2 else { return [:] }
    return Dictionary(parts[1].split(separator: ",").compactMap { pair -> (String, String)? in
        let halves = pair.split(separator: "=", maxSplits: 1)
        return halves.count == 2 ? (String(halves[0]), String(halves[1])) : nil
    }) { first, _ in first }
}
