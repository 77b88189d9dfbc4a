import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The control socket flooded by slow clients (docs/ftinit.md, "Control socket"): "a client has
/// 1 s to send [its request]" is a deadline, not an idle timeout, so clients dripping one byte
/// at a time without ever finishing a line cannot hold ftinit's 16 slots. (Idle clients:
/// `Probe.floodOfIdleClientsIsBoundedAndDroppedAfterOneSecond`; a stopped supervisor:
/// `Probe.probeOfAStoppedSupervisorFailsWithinItsTimeout`; a missing socket:
/// `Probe.probeFailsFastWithoutASocketOrWithNobodyListening`.)
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(Prerequisites.baseTools), what: "slow client tests"))
    struct SlowClients {
        /// 40 clients each send one byte of `status` (never the newline) every 100 ms: ftinit
        /// closes every one of them by 1 s after it connected (plus scheduling slack), a probe
        /// in the middle of the flood returns a correct verdict within its timeout, and
        /// afterwards the probe is ok and ftinit holds no more fds than before.
        @Test func clientsDrippingBytesAreDroppedAtTheirOneSecondDeadline() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let ftinit = try FTInit.launch(["run", "--config", try Probe.healthyConfig(scratch)], directory: scratch.path)
            defer { ftinit.stop() }
            _ = try ftinit.requireEvent("healthy", subject: "web", timeout: .seconds(10))
            let pid = try ftinit.pid()
            Poll.sleep(.milliseconds(300))
            let baselineFds = try #require(ProcFS.fdCount(pid))

            var clients: [(fd: Int32, connected: ContinuousClock.Instant, closed: ContinuousClock.Instant?)] = []
            defer { clients.forEach { close($0.fd) } }
            for _ in 0..<40 {
                let fd = try #require(Network.connectUnix(ftinit.socketPath), "connect failed: errno \(errno)")
                clients.append((fd, .now, nil))
            }
            let byte: [UInt8] = Array("status".utf8)
            var probe: ToolResult?
            var step = 0
            // Drip for 2.5 s; note when each client is closed (a write fails or read sees EOF).
            while ContinuousClock.now - clients[0].connected < .milliseconds(2500) {
                for index in clients.indices where clients[index].closed == nil {
                    var pfd = pollfd(fd: clients[index].fd, events: Int16(POLLIN), revents: 0)
                    let gone = poll(&pfd, 1, 0) > 0 && Network.readUntilClosed(clients[index].fd, timeout: .milliseconds(1)).closed
                    let sent = gone ? -1 : send(clients[index].fd, [byte[step % byte.count]], 1, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                    if gone || sent < 0 { clients[index].closed = .now }
                }
                if step == 5 { probe = try Tool.probe(ftinit.socketPath) }
                step += 1
                Poll.sleep(.milliseconds(100))
            }

            let lifetimes = clients.map { ($0.closed ?? .now) - $0.connected }
            let longest = lifetimes.max() ?? .zero
            print("SlowClients: 40 dripping clients, longest held \(longest), probe during the flood: \(probe.map { "\($0.code.map(String.init) ?? "killed") in \($0.elapsed)" } ?? "none")")
            #expect(clients.allSatisfy { $0.closed != nil }, "\(clients.filter { $0.closed == nil }.count) dripping clients still connected after 2.5 s")
            #expect(longest < .milliseconds(1600), "a dripping client was held \(longest); clients have 1 s")
            let during = try #require(probe)
            #expect(during.code == 0 || during.code == 1, "\(during)")
            #expect(during.elapsed < .milliseconds(1100), "a probe during the flood took \(during.elapsed)\n\(during)")
            #expect(Poll.until(timeout: .seconds(2)) { ProcFS.fdCount(pid) == baselineFds },
                    "fd count \(ProcFS.fdCount(pid) ?? -1), baseline \(baselineFds)")
            let after = try Tool.probe(ftinit.socketPath)
            #expect(after.code == 0 && after.elapsed < .milliseconds(1100), "\(after)\(ftinit.report)")
            #expect(ftinit.process.ended == nil && ftinit.events("exited").isEmpty, "\(ftinit.report)")
        }
    }
}
