import FTInit

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// argv -> command -> exit code; everything else lives in the FTInit library.
exit(execute(Command.parse(Array(CommandLine.arguments.dropFirst()),
                           environment: environmentDictionary(currentEnvironment()))))
