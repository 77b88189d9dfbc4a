import Foundation
import Testing

/// What the tests of the stack do as its clients: HTTPS with the service's own certificate as
/// the only CA (so the name or IP in the URL is checked against its [tls] SANs), SQL to the
/// mysql service as WordPress and phpMyAdmin do, and the client scripts of Clients/.
enum StackClients {
    /// `curl -sS -i EXTRA... URL`, trusting the certificate of the stack's `service`, redirects
    /// not followed.
    static func fetch(_ url: String, trusting service: String, extra: [String] = [],
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> HTTPResponse {
        try fetch(url, trusting: Stack.container(service), extra: extra, sourceLocation: sourceLocation)
    }

    /// `fetch`, trusting the certificate of `container`.
    static func fetch(_ url: String, trusting container: Container, extra: [String] = [],
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> HTTPResponse {
        let cacert = try Stack.certificate(of: container, sourceLocation: sourceLocation)
        let result = try Stack.run(["curl", "-sS", "-i", "--max-time", "20", "--cacert", cacert] + extra + [url],
                                   sourceLocation: sourceLocation)
        return try HTTPResponse.parse(result, sourceLocation: sourceLocation)
    }

    /// SQL over TCP to mysql:3306 (or `host`) as the WordPress user (the password through
    /// MYSQL_PWD); with `asRoot`, as root@localhost inside the shared mysql container, over its
    /// socket: root has no other way in.
    static func sql(_ statement: String, asRoot: Bool = false, host: String = "mysql",
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> ToolResult {
        if asRoot {
            return try Stack.container("mysql").exec(["mariadb", "--socket=/run/mysqld/mysqld.sock", "-u", "root", "--batch",
                                                      "--skip-column-names", "-e", statement])
        }
        return try tcpSQL(statement, user: Stack.secret("WP_DB_USER"), password: Stack.secret("WP_DB_PASSWORD"), host: host,
                          sourceLocation: sourceLocation)
    }

    /// SQL over TCP to `host`:3306 as `user`, the password through MYSQL_PWD.
    static func tcpSQL(_ statement: String, user: String, password: String, host: String = "mysql",
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> ToolResult {
        try Stack.run(["mariadb", "--no-defaults", "--protocol=tcp", "-h", host, "-P", "3306", "-u", user, "--batch",
                       "--skip-column-names", "--connect-timeout=10", Stack.secret("WP_DB_NAME"), "-e", statement],
                      environment: ["MYSQL_PWD": password], sourceLocation: sourceLocation)
    }

    /// `sql`, required to succeed; its output, trimmed.
    static func query(_ statement: String, asRoot: Bool = false, host: String = "mysql",
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let result = try sql(statement, asRoot: asRoot, host: host, sourceLocation: sourceLocation)
        try #require(result.succeeded, "\(result)\(Stack.container("mysql").report)", sourceLocation: sourceLocation)
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The path of a client script of Tests/IntegrationTests/Stack/Clients.
    static func client(_ name: String) -> String {
        FTInitBinary.packageRoot.appendingPathComponent("Tests/IntegrationTests/Stack/Clients/\(name)").path
    }
}

/// One HTTP exchange made by curl (redirects not followed).
struct HTTPResponse: CustomStringConvertible {
    let status: Int
    /// Header lines of the (last) response, without the status line.
    let headers: [String]
    let body: String
    let result: ToolResult

    /// The response `curl -i` printed.
    static func parse(_ result: ToolResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> HTTPResponse {
        try #require(result.succeeded, "\(result)", sourceLocation: sourceLocation)
        let text = result.stdout
        let split = try #require(text.range(of: "\r\n\r\n"), "no HTTP header block: \(result)", sourceLocation: sourceLocation)
        var lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let status = try #require(statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) },
                                  "status line \(statusLine)", sourceLocation: sourceLocation)
        return HTTPResponse(status: status, headers: lines, body: String(text[split.upperBound...]), result: result)
    }

    /// The values of every `name:` header line (case-insensitive name).
    func headerValues(_ name: String) -> [String] {
        let prefix = name.lowercased() + ":"
        return headers.filter { $0.lowercased().hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces) }
    }

    func header(_ name: String) -> String? { headerValues(name).first }

    /// The first `name:` header whose value starts with `value` (a cookie by its name).
    func header(_ name: String, startingWith value: String) -> String? {
        headerValues(name).first { $0.hasPrefix(value) }
    }

    var description: String {
        "HTTP \(status)\n\(headers.joined(separator: "\n"))\n\n\(body.prefix(1500))\(body.count > 1500 ? "\n[… \(body.count) bytes]" : "")\n\(result.argv.joined(separator: " "))"
    }
}
