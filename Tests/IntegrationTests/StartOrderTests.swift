import Testing

/// Tasks and services start in `after` order; whatever has its dependencies satisfied starts at
/// once; a task counts as started when it exited 0 (docs/ftinit.md, "Runtime behaviour" 2).
extension Integration {
    @Suite(.requires(.root, .pidNamespaces, .tools(Prerequisites.baseTools + ["touch", "test"]), what: "start order tests"))
    struct StartOrder {
        @Test func servicesStartInAfterOrderAndADependentStartsOnlyAfterItsTaskFinished() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let prepDone = scratch.file("prep.done")
            // Defined in an order that is neither the start order nor its reverse.
            let path = try scratch.config("""
                [service independent]
                run = sleep 3901

                [service second]
                run = sleep 3902
                after = first

                [service first]
                run = sh -c 'test -f \(prepDone) && touch \(scratch.file("first.saw-prep")); exec sleep 3903'
                after = prep

                [task prep]
                run = sh -c 'sleep 0.3; touch \(prepDone)'

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }

            let starting = try ftinit.requireEvent("starting")
            #expect(starting["config"] == path && starting["services"] == "3" && starting["tasks"] == "1",
                    "expected `ftinit: info starting config=\(path) services=3 tasks=1`, got `\(starting)`")
            _ = try ftinit.requireStarted(["independent", "first", "second"])
            let prepExited = try ftinit.requireEvent("exited", subject: "prep")
            #expect(prepExited["task"] == "prep" && prepExited["code"] == "0", "`\(prepExited)`")

            // Log order: independent starts at once (before prep is done); first only after prep
            // exited 0; second only after first started.
            let events = ftinit.events
            func index(_ name: String, _ subject: String) -> Int? {
                events.firstIndex { $0.event == name && $0.subject == subject }
            }
            let order = events.map(\.line).joined(separator: "\n")
            if let independent = index("started", "independent"), let prep = index("exited", "prep"),
               let first = index("started", "first"), let second = index("started", "second") {
                #expect(independent < prep, "`independent` waited for the task although it does not depend on it:\n\(order)")
                #expect(prep < first, "`first` started before its task `prep` finished:\n\(order)")
                #expect(first < second, "`second` started before `first`:\n\(order)")
            }
            // `started` means exec succeeded; give the shell a moment to run its first command.
            let sawPrep = Poll.until(timeout: .seconds(2)) { scratch.exists("first.saw-prep") }
            #expect(sawPrep, "`first` ran before `prep` had finished its work\(ftinit.report)")

            // A task that exited 0 is not a death: everything keeps running.
            Poll.sleep(.milliseconds(500))
            #expect(ftinit.process.ended == nil, "ftinit exited after the task finished\(ftinit.report)")
            #expect(ftinit.events("stopping").isEmpty, "something was stopped\(ftinit.report)")
        }

        @Test func independentServicesStartTogether() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let path = try scratch.config("""
                [task slow]
                run = sleep 0.5

                [service one]
                run = sleep 3904

                [service two]
                run = sleep 3905

                [service three]
                run = sleep 3906
                after = slow

                """)
            let ftinit = try FTInit.launch(["run", "--config", path], directory: scratch.path)
            defer { ftinit.stop() }

            let started = try ftinit.requireStarted(["one", "two", "three"])
            let slowExited = try ftinit.requireEvent("exited", subject: "slow")

            let time = Dictionary(uniqueKeysWithValues: started.map { ($0.subject ?? "", $0.time) })
            if let one = time["one"], let two = time["two"], let three = time["three"] {
                #expect(abs((one - two).seconds) < 0.2, "one and two did not start together\(ftinit.report)")
                #expect(three >= slowExited.time && (three - one).seconds > 0.3,
                        "three did not wait for the 0.5 s task\(ftinit.report)")
            }
        }
    }
}
