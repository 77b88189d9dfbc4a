import Foundation
import Testing

extension Integration.MetricsPush {
    /// A stand-in for InfluxDB (or a DNS server) in a test network, run with python3: nothing
    /// but a listener that accepts connections and never answers, one that forwards them to the
    /// real InfluxDB, or a UDP port that swallows every datagram. It prints one line per
    /// connection or datagram.
    final class Listener: Sendable {
        enum Kind: Sendable {
            case blackHole
            case forward(to: Int)
            case silentUDP
        }

        let process: SpawnedProcess

        static let script = """
            import socket, sys, threading
            kind, port, upstream = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
            if kind == "udp":
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(("127.0.0.1", port))
                print("listening", flush=True)
                while True:
                    s.recvfrom(65536)
                    print("received", flush=True)
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
            s.listen(64)
            print("listening", flush=True)
            def pipe(source, sink):
                try:
                    while True:
                        data = source.recv(65536)
                        if not data:
                            break
                        if sink:
                            sink.sendall(data)
                except OSError:
                    pass
                if sink:
                    sink.shutdown(socket.SHUT_WR)
            while True:
                c, _ = s.accept()
                print("accepted", flush=True)
                if kind == "forward":
                    u = socket.create_connection(("127.0.0.1", upstream))
                    threading.Thread(target=pipe, args=(c, u), daemon=True).start()
                    threading.Thread(target=pipe, args=(u, c), daemon=True).start()
                else:
                    threading.Thread(target=pipe, args=(c, None), daemon=True).start()
            """

        init(_ kind: Kind, port: Int, network: TestNetwork, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let (name, upstream) = switch kind {
            case .blackHole: ("black-hole", 0)
            case .forward(let upstream): ("forward", upstream)
            case .silentUDP: ("udp", 0)
            }
            process = try SpawnedProcess.pythonServer(Self.script, [name, "\(port)", "\(upstream)"], prefix: network.prefix,
                                                      name: "\(name) listener on \(port)", sourceLocation: sourceLocation)
        }

        /// Connections accepted (datagrams received) so far.
        var count: Int { process.stdout.lines.count { $0.text == "accepted" || $0.text == "received" } }

        func requireConnections(_ count: Int, timeout: Duration, report: @autoclosure () -> String,
                                sourceLocation: SourceLocation = #_sourceLocation) throws {
            let reached = Poll.until(timeout: timeout, interval: .milliseconds(20)) { self.count >= count }
            try #require(reached, "\(self.count) connections to the listener within \(timeout), \(count) expected\(report())",
                         sourceLocation: sourceLocation)
        }

        func stop() { process.killAndWait() }
    }
}
