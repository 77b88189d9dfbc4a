// fuzz target `control`: what ftinit reads from a control-socket client (ControlRequest, the
// bytes before the first newline, bounded by the server to ControlServer.requestLimit) and what
// `ftinit signal/restart/stop` read back (ControlAnswer), with their print/parse round trips.
@testable import FTInit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzControl(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: min(count, ControlServer.requestLimit))
    if let request = ControlRequest(received: bytes) {
        // The parser takes exactly the lines a client prints: one spelling per request.
        let line = request.line
        require(Array(line.utf8.dropLast()) == Array(bytes.prefix { $0 != UInt8(ascii: "\n") }), "\(request) has another spelling")
        require(ControlRequest(received: Array(line.utf8)) == request, "\(request) does not read back")
        if case .signal(_, let signal) = request { require(SignalName.name(of: signal) != "\(signal)", "a signal without a name") }
    }
    let input = text(start, count)
    if let answer = ControlAnswer(parsing: input) {
        require(ControlAnswer(parsing: answer.text) == answer, "\(answer) does not read back")
    }
    // The command line of the clients: any words parse to a command or a usage error, never a crash.
    _ = Command.parse(input.split(separator: " ").map(String.init), environment: [:])
    return 0
}
