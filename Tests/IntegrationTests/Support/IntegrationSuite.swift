import Testing

/// The parent of every integration suite.
///
/// `.serialized` is recursive: every nested suite (declared in `extension Integration` in the
/// other files) and every test in them run one after another, never concurrently. The tests
/// measure timings (kill-to-exit, stop timeouts) on a 2-core machine, so two ftinit trees must
/// never compete for the CPU.
@Suite(.serialized, .timeLimit(.minutes(2)))
enum Integration {}
