/// `[metrics]`: where and how often ftinit pushes its samples (docs/metrics.md).
public struct MetricsSpec: Sendable, Equatable {
    /// InfluxDB's base URL; nil when `url` is empty, which turns metrics off.
    public var target: HTTPTarget?
    public var database = ""
    public var username: String?
    public var password: String?
    /// The `service` tag: the image's name.
    public var service = ""
    /// The `container` tag; nil means the hostname (the pod's name).
    public var container: String?
    /// Extra tags on every point, in config order.
    public var tags: [MetricsTag] = []
    /// Paths whose disk usage is reported.
    public var disks: [String] = []
    public var interval: TimeSpan = .seconds(10)
    public var timeout: TimeSpan = .seconds(5)
    /// Points kept while InfluxDB cannot be reached.
    public var bufferPoints = 5000
    public var line: Int

    public init(line: Int) { self.line = line }
}

public struct MetricsTag: Sendable, Equatable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}
