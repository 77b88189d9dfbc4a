import Testing
@testable import FTInit

/// The bounded buffer of points waiting for InfluxDB.
@Suite struct MetricsBufferTests {
    static func points(_ numbers: some Sequence<Int>) -> [String] { numbers.map { "p\($0)\n" } }

    @Test func whenFullTheOldestPointsAreDroppedAndCounted() {
        var buffer = MetricsBuffer(capacity: 5)
        buffer.add(Self.points(1...3))
        buffer.add(Self.points(4...8))
        #expect(buffer.queued == Self.points(4...8))
        #expect(buffer.dropped == 3)
    }

    @Test func aBatchInFlightCountsTowardsTheCapacity() {
        var buffer = MetricsBuffer(capacity: 5)
        buffer.add(Self.points(1...4))
        let batch = buffer.takeBatch(limit: 3)
        #expect(batch == Self.points(1...3) && buffer.inFlight == 3)
        buffer.add(Self.points(5...7))
        #expect(buffer.queued == Self.points(6...7) && buffer.dropped == 2)
        buffer.delivered()
        #expect(buffer.inFlight == 0 && buffer.queued == Self.points(6...7))
    }

    @Test func aFailedBatchGoesBackInFrontAndIsTheFirstToGoOnceNothingIsInFlight() {
        var buffer = MetricsBuffer(capacity: 4)
        buffer.add(Self.points(1...3))
        let batch = buffer.takeBatch(limit: 10)
        buffer.add(Self.points(4...5))  // 3 in flight + 2: the oldest queued one goes
        buffer.retry(batch)
        #expect(buffer.queued == Self.points([1, 2, 3, 5]))
        #expect(buffer.inFlight == 0 && buffer.dropped == 1)
        buffer.add(Self.points(6...6))  // nothing in flight now: the oldest of all goes
        #expect(buffer.queued == Self.points([2, 3, 5, 6]))
        #expect(buffer.dropped == 2)
    }

    @Test func aRefusedBatchIsDroppedAndCounted() {
        var buffer = MetricsBuffer(capacity: 10)
        buffer.add(Self.points(1...3))
        _ = buffer.takeBatch(limit: 2)
        buffer.refused(2)
        #expect(buffer.queued == Self.points(3...3) && buffer.dropped == 2 && buffer.inFlight == 0)
        _ = buffer.takeBatch(limit: 1)
        buffer.refused(5)  // a partial write never counts more than the batch
        #expect(buffer.dropped == 3)
    }
}
