/// Points waiting for InfluxDB, oldest first, never more than `capacity` of them in all (the
/// batch being pushed included): when full, the oldest points not being pushed right now are
/// dropped and counted.
struct MetricsBuffer {
    let capacity: Int
    private(set) var queued: [String] = []
    /// Points handed out by `takeBatch` and not settled yet.
    private(set) var inFlight = 0
    private(set) var dropped = 0

    init(capacity: Int) { self.capacity = capacity }

    mutating func add(_ points: [String]) {
        queued += points
        trim()
    }

    /// The oldest `limit` queued points, now in flight until `delivered`, `refused` or `retry`.
    mutating func takeBatch(limit: Int) -> [String] {
        let batch = Array(queued.prefix(limit))
        queued.removeFirst(batch.count)
        inFlight = batch.count
        return batch
    }

    /// InfluxDB stored the batch.
    mutating func delivered() { inFlight = 0 }

    /// InfluxDB will never take `count` points of the batch (malformed): they are dropped.
    mutating func refused(_ count: Int) {
        dropped += min(count, inFlight)
        inFlight = 0
    }

    /// The push failed: the batch goes back in front, to be sent again.
    mutating func retry(_ batch: [String]) {
        inFlight = 0
        queued = batch + queued
        trim()
    }

    private mutating func trim() {
        let excess = min(queued.count, queued.count + inFlight - capacity)
        guard excess > 0 else { return }
        queued.removeFirst(excess)
        dropped += excess
    }
}
