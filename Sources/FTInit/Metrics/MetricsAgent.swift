#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Samples every `interval` and pushes the points to InfluxDB's `/write`, one request at a
/// time, from the event loop. Supervision never waits for it: the address is looked up and
/// the disk paths are walked in children (`ChildWork`), every push is bounded by `timeout`,
/// and while InfluxDB is away the points wait in a bounded buffer. Problems are logged at most
/// once a minute.
final class MetricsAgent {
    private let spec: MetricsSpec
    private let target: HTTPTarget
    private let loop: EventLoop
    private let register: ChildExitRouter
    private let snapshot: () -> [StatusReport.Program]
    private var sampler: MetricsSampler
    private var buffer: MetricsBuffer
    private let requestHead: String

    private var address: SocketAddress?
    private var lookup: ChildWork?
    private var lastLookup: Instant?
    private var diskWalk: ChildWork?
    private var lastDiskWalk: Instant?
    private var exchange: HTTPExchange?
    private var timers: [Int] = []
    private var nextTick = Instant.now()

    private var failures = 0
    private var failuresUnreported = 0
    private var lastFailureLog: Instant?
    private var droppedReported = 0
    private var lastDropLog: Instant?

    /// Points per request: InfluxDB's advice for batch writes.
    static let batchLimit = 5000
    /// Minimum time between two warnings of the same kind.
    static let warningInterval = TimeSpan.seconds(60)
    /// Time between two walks of the disk paths (and the most one may take).
    static let diskWalkInterval = TimeSpan.seconds(60)

    init(spec: MetricsSpec, target: HTTPTarget, services: [String], loop: EventLoop,
         register: @escaping ChildExitRouter,
         snapshot: @escaping () -> [StatusReport.Program]) {
        self.spec = spec
        self.target = target
        self.loop = loop
        self.register = register
        self.snapshot = snapshot
        sampler = MetricsSampler(spec: spec, services: services)
        buffer = MetricsBuffer(capacity: spec.bufferPoints)
        let prefix = target.path.hasSuffix("/") ? String(target.path.dropLast()) : target.path
        var head = "POST \(prefix)/write?db=\(percentEncoded(spec.database))&precision=ms HTTP/1.1\r\n"
            + "Host: \(target.hostHeader)\r\nUser-Agent: ftinit\r\nContent-Type: text/plain; charset=utf-8\r\n"
        if let username = spec.username, let password = spec.password {
            head += "Authorization: Basic \(base64(Array("\(username):\(password)".utf8)))\r\n"
        }
        requestHead = head + "Connection: close\r\n"
    }

    func start() {
        Log.event(.info, "metrics", "pushing", Log.field("url", "http://\(target.host):\(target.port)\(target.path)"),
                  Log.field("database", spec.database), "interval=\(spec.interval)")
        if isIPAddress(target.host), case .success(let literal) = SocketAddress.resolve(host: target.host, port: target.port) {
            address = literal
        } else {
            lookUp()
        }
        nextTick = .now() + spec.interval
        schedule(at: nextTick) { [unowned self] in self.tick() }
    }

    /// Stops sampling and drops any lookup or push in progress: ftinit is on its way out.
    func stop() {
        for timer in timers { loop.cancel(timer) }
        timers.removeAll()
        exchange?.cancel()
        exchange = nil
        lookup?.cancel()
        lookup = nil
        diskWalk?.cancel()
        diskWalk = nil
    }

    private func schedule(at deadline: Instant, _ action: @escaping () -> Void) {
        var id = 0
        id = loop.schedule(at: deadline) { [unowned self] in
            self.timers.removeAll { $0 == id }
            action()
        }
        timers.append(id)
    }

    private func tick() {
        // A fixed cadence whatever each tick took; ticks missed while ftinit was stopped
        // (SIGSTOP, a frozen cgroup) are skipped rather than caught up in a burst.
        let now = Instant.now()
        repeat { nextTick = nextTick + spec.interval } while nextTick <= now
        schedule(at: nextTick) { [unowned self] in self.tick() }
        walkDisks()
        let counters = PushCounters(buffered: buffer.queued.count + buffer.inFlight, dropped: buffer.dropped, failures: failures)
        buffer.add(sampler.sample(snapshot(), counters: counters, milliseconds: wallClockMilliseconds()))
        reportDrops()
        push()
    }

    private func push() {
        guard exchange == nil, !buffer.queued.isEmpty else { return }
        guard let address else { return lookUp() }
        let batch = buffer.takeBatch(limit: Self.batchLimit)
        var body: [UInt8] = []
        for point in batch { body += point.utf8 }
        let request = Array((requestHead + "Content-Length: \(body.count)\r\n\r\n").utf8) + body
        let exchange = HTTPExchange(address: address, serverName: nil, request: request, readsBody: true, loop: loop) { [unowned self] outcome in
            self.exchange = nil
            self.settle(batch, outcome)
        }
        self.exchange = exchange
        schedule(at: .now() + spec.timeout) { [unowned self, weak exchange] in
            guard let exchange, self.exchange === exchange else { return }
            exchange.cancel()
            self.exchange = nil
            self.settle(batch, .failed("no answer within \(self.spec.timeout)"))
        }
        exchange.start()
    }

    private func settle(_ batch: [String], _ outcome: HTTPExchange.Outcome) {
        switch outcome {
        case .answered(let status, _) where (200...299).contains(status):
            buffer.delivered()
            if failures > 0 && lastFailureLog != nil {
                Log.event(.info, "metrics-push-recovered", "failures=\(failures)")
                lastFailureLog = nil
                failuresUnreported = 0
            }
            push()  // more may be queued behind this batch
        case .answered(400, _):
            // Partly or wholly malformed: sending it again would fail again. On a partial
            // write InfluxDB stored the rest and says how many it dropped.
            let refused = refusedCount(outcome.body) ?? batch.count
            buffer.refused(refused)
            Log.event(.error, "metrics-refused", "points=\(refused)", Log.field("answer", outcome.body))
        case .answered(let status, _):
            buffer.retry(batch)
            failed("InfluxDB answered \(status): \(outcome.body)")
        case .failed(let message):
            buffer.retry(batch)
            if !isIPAddress(target.host) { address = nil }  // the service may have moved
            failed(message)
        }
    }

    private func failed(_ message: String) {
        failures += 1
        failuresUnreported += 1
        let now = Instant.now()
        if let last = lastFailureLog, now.since(last) < Self.warningInterval { return }
        lastFailureLog = now
        Log.event(.warn, "metrics-push-failed", Log.field("error", message), "failures=\(failuresUnreported)",
                  "buffered=\(buffer.queued.count)")
        failuresUnreported = 0
    }

    private func reportDrops() {
        guard buffer.dropped > droppedReported else { return }
        let now = Instant.now()
        if let last = lastDropLog, now.since(last) < Self.warningInterval { return }
        Log.event(.warn, "metrics-dropped", "points=\(buffer.dropped - droppedReported)", "total=\(buffer.dropped)",
                  "buffer=\(buffer.capacity)")
        droppedReported = buffer.dropped
        lastDropLog = now
    }

    /// Starts a lookup of the target's name, at most one at a time and one per interval.
    private func lookUp() {
        let now = Instant.now()
        guard lookup == nil else { return }
        if let last = lastLookup, now.since(last) < spec.interval { return }
        lastLookup = now
        let (host, port) = (target.host, target.port)
        lookup = runInChild("resolve \(host)", NameLookup.work(host: host, port: port), within: spec.timeout,
                            clear: { $0.lookup = nil }) { agent, answer in
            switch NameLookup.decode(answer, host: host, port: port) {
            case .success(let address):
                agent.address = address
                agent.push()
            case .failure(let error):
                agent.failed("\(error)")
            }
        }
    }

    /// Starts a walk of the disk paths, at most one at a time and one per `diskWalkInterval`;
    /// its figures reach the samples that follow it.
    private func walkDisks() {
        let now = Instant.now()
        guard !spec.disks.isEmpty, diskWalk == nil else { return }
        if let last = lastDiskWalk, now.since(last) < Self.diskWalkInterval { return }
        lastDiskWalk = now
        let paths = spec.disks
        diskWalk = runInChild("measure disk usage", DiskUsage.work(paths), within: Self.diskWalkInterval,
                              clear: { $0.diskWalk = nil }) { agent, answer in
            switch answer {
            case .success(let bytes):
                if let used = DiskUsage.decode(bytes, paths: paths) { return agent.sampler.diskUsed = used }
                Log.event(.warn, "metrics-disk-failed", Log.field("error", "the walk's answer is malformed"))
            case .failure(let error):
                Log.event(.warn, "metrics-disk-failed", Log.field("error", "\(error)"))
            }
        }
    }

    /// Runs `work` in a child, cancelled after `limit`; `clear` forgets it once it is over.
    private func runInChild(_ what: String, _ work: @escaping () -> [UInt8], within limit: TimeSpan,
                            clear: @escaping (MetricsAgent) -> Void,
                            then handle: @escaping (MetricsAgent, Result<[UInt8], SystemError>) -> Void) -> ChildWork {
        let child = ChildWork(what, loop: loop, register: register, work: work) { [unowned self] answer in
            clear(self)
            handle(self, answer)
        }
        schedule(at: .now() + limit) { [unowned self, weak child] in
            guard let child, child.isPending else { return }
            child.cancel()
            clear(self)
            handle(self, .failure(SystemError(operation: what, message: "no answer within \(limit)")))
        }
        child.start()
        return child
    }
}

/// The `dropped=N` of an InfluxDB "partial write" error, if it says so.
func refusedCount(_ answer: String) -> Int? {
    let text = Array(answer.utf8), key = Array("dropped=".utf8)
    guard let start = text.firstIndex(ofBytes: key) else { return nil }
    let digits = text[(start + key.count)...].prefix(while: { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
    return Int(String(decoding: digits, as: UTF8.self))
}

/// `text` with every byte outside RFC 3986's unreserved set percent-encoded, for a query value.
func percentEncoded(_ text: String) -> String {
    let hex = Array("0123456789ABCDEF".utf8)
    var encoded: [UInt8] = []
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            encoded.append(byte)
        default:
            encoded += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
        }
    }
    return String(decoding: encoded, as: UTF8.self)
}

/// Standard base64 with padding, for HTTP basic authentication.
func base64(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var encoded: [UInt8] = []
    var index = 0
    while index < bytes.count {
        let chunk = bytes[index..<min(index + 3, bytes.count)]
        var word = 0
        for (offset, byte) in chunk.enumerated() { word |= Int(byte) << (16 - 8 * offset) }
        for position in 0..<4 {
            encoded.append(position <= chunk.count ? alphabet[(word >> (18 - 6 * position)) & 63] : UInt8(ascii: "="))
        }
        index += 3
    }
    return String(decoding: encoded, as: UTF8.self)
}
