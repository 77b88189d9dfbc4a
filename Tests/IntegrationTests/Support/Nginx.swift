import Foundation
import Testing

/// A real nginx (Debian's, /usr/sbin/nginx) as a service of ftinit: one process in the
/// foreground (`daemon off; master_process off;`), everything it writes (pid file, temp
/// directories) inside the test's scratch dir, error log on stderr (so in ftinit's output).
enum Nginx {
    /// The http modules whose temp directories nginx creates at start unless configured
    /// elsewhere (Debian compiles them to /var/lib/nginx/...).
    private static let tempModules = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]

    /// The `*_temp_path` directives for the modules this nginx has, pointing into `directory`
    /// (nginx-light lacks some modules, and naming an absent module's directive is an error).
    static func tempPathDirectives(in directory: String) throws -> String {
        let version = try Tool.run(["nginx", "-V"], timeout: .seconds(10))
        let configure = version.stdout + version.stderr
        return tempModules.filter { module in
            module == "client_body" || !configure.contains("--without-http_\(module)_module")
        }.map { "    \($0)_temp_path \(directory)/\($0);" }.joined(separator: "\n")
    }

    /// A config *template* for ftinit's `[template]`: `${NGINX_DIR}`, `${NGINX_PORT}`,
    /// `${TLS_CERT}` and `${TLS_KEY}` come from ftinit's environment; nginx's own `$host` must
    /// survive the rendering, and `$$` must become `$` (in a comment, nginx ignores it).
    /// The TLS server answers `host=<the Host header>`.
    static func template(tempPaths: String) -> String {
        """
        # rendered by ftinit from a template; price: $$5 (a literal dollar)
        daemon off;
        master_process off;
        pid ${NGINX_DIR}/nginx.pid;
        error_log stderr ${NGINX_LOG_LEVEL:-warn};
        events { worker_connections 64; }
        http {
            access_log off;
        \(tempPaths)
            server {
                listen 127.0.0.1:${NGINX_PORT} ssl;
                ssl_certificate ${TLS_CERT};
                ssl_certificate_key ${TLS_KEY};
                location / { return 200 "host=$host\\n"; }
            }
        }

        """
    }
}
