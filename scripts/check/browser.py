"""What the checks use to talk HTTP(S) as a browser does: cookies kept, redirects seen one by
one (never followed behind the check's back), any certificate accepted (the stack's are
self-signed) but readable, and the forms of a page."""
import html.parser
import http.cookiejar
import json
import os
import socket
import ssl
import tempfile
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT = 15


class Forms(html.parser.HTMLParser):
    """The forms of a page (attributes, and name -> (type, value) of their <input>s) and its title."""

    def __init__(self, body):
        super().__init__(convert_charrefs=True)
        self.forms, self.title = [], ""
        self._current, self._in_title = None, False
        self.feed(body)

    def handle_starttag(self, tag, attrs):
        attributes = {name: (value or "") for name, value in attrs}
        if tag == "form":
            self._current = {"attrs": attributes, "inputs": {}}
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and "name" in attributes:
            self._current["inputs"][attributes["name"]] = (attributes.get("type", "text"), attributes.get("value", ""))
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data

    def form(self, **wanted):
        """The first form whose attributes include `wanted` (e.g. id="login_form")."""
        for form in self.forms:
            if all(form["attrs"].get(key) == value for key, value in wanted.items()):
                return form
        return None


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def insecure_context():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def location(self):
        return self.headers.get("Location") if self.headers else None

    def __str__(self):
        return f"{self.status}" + (f" -> {self.location}" if self.location else "")


class Browser:
    """`cafile`: verify the servers against that certificate instead of accepting any. Every
    request and its status is kept in `visited`, in order."""

    def __init__(self, cafile=None):
        self.jar = http.cookiejar.CookieJar()
        context = ssl.create_default_context(cafile=cafile) if cafile else insecure_context()
        self.opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context),
                                                  urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)
        self.visited = []

    def fetch(self, url, data=None, headers=None):
        """GET, or POST of the form fields `data`; the response, whatever its status."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        return self._open(urllib.request.Request(url, data=body, headers=headers or {}))

    def post_json(self, url, payload, headers=None):
        """POST of `payload` as JSON; the response, whatever its status."""
        return self._open(urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                                 headers={"Content-Type": "application/json", **(headers or {})}))

    def _open(self, request):
        try:
            with self.opener.open(request, timeout=TIMEOUT) as response:
                answer = Response(response.status, response.headers, response.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as error:
            answer = Response(error.code, error.headers, error.read().decode("utf-8", "replace"))
        self.visited.append(f"{request.get_method()} {request.full_url} -> {answer}")
        return answer

    def cookies(self):
        return sorted(cookie.name for cookie in self.jar)


def hidden_fields(form):
    return {name: value for name, (kind, value) in form["inputs"].items() if kind == "hidden"}


def certificate_names(host, port):
    """The subjectAltName entries of the certificate host:port serves, as ("DNS"|"IP Address", value)."""
    with socket.create_connection((host, port), timeout=TIMEOUT) as raw:
        with insecure_context().wrap_socket(raw, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
    with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as pem:
        pem.write(ssl.DER_cert_to_PEM_cert(der))
    try:
        # CPython's own decoder of a PEM file (what getpeercert() gives for a verified peer).
        return ssl._ssl._test_decode_cert(pem.name).get("subjectAltName", ())
    finally:
        os.unlink(pem.name)
