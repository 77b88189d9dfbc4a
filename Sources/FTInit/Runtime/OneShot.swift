/// The report-once bookkeeping of an asynchronous operation driven by the loop (a health
/// check attempt, an HTTP exchange, a name lookup): `finish` releases what the operation holds
/// before reporting, `cancel` (a timeout, shutdown) releases it without reporting.
class OneShot<Outcome> {
    private var completion: ((Outcome) -> Void)?

    init(completion: @escaping (Outcome) -> Void) {
        self.completion = completion
    }

    /// Whether the outcome is still wanted (not reported, not cancelled).
    var isPending: Bool { completion != nil }

    func finish(_ outcome: Outcome) {
        let completion = self.completion
        cancel()
        completion?(outcome)
    }

    func cancel() {
        completion = nil
        release()
    }

    /// Closes sockets, kills children: what the subclass holds.
    func release() {}
}
