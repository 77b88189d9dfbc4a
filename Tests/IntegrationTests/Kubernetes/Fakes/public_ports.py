"""Stand-ins for the stack's public ports on one address, for setup.sh's step 9 test.

Usage: public_ports.py ADDRESS CERT KEY PORT:KIND...  (KIND: http, https, ftp, ssh)
http and https answer every request 200; ftp and ssh send their banner. Prints "listening"
once every port is bound, then serves until killed.
"""
import http.server
import socketserver
import ssl
import sys
import threading


class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class Banner(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(self.server.banner)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def serve(address, port, kind, cert, key):
    if kind in ("http", "https"):
        server = Server((address, port), Answer)
        if kind == "https":
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            server.socket = context.wrap_socket(server.socket, server_side=True)
    else:
        server = Server((address, port), Banner)
        server.banner = b"220 ft_services FTPS\r\n" if kind == "ftp" else b"SSH-2.0-stand-in\r\n"
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main():
    address, cert, key = sys.argv[1:4]
    for spec in sys.argv[4:]:
        port, kind = spec.split(":")
        serve(address, int(port), kind, cert, key)
    print("listening", flush=True)
    threading.Event().wait()


main()
