/// A stand-in DNS server for the tests, run with `SpawnedProcess.pythonServer`: it binds
/// SERVER:53 (an address of 127.0.0.0/8 that the test owns).
enum DNSResponder {
    /// Answers A queries for `name` with `address`, "no data" for its other types and
    /// NXDOMAIN for any other name, each `delay` seconds late (argv: SERVER NAME ADDRESS
    /// [DELAY]); prints `query NAME TYPE` for each. It ends when the test process does.
    static let script = """
        import os, socket, struct, sys, time
        server, name, address = sys.argv[1], sys.argv[2], sys.argv[3]
        delay = float(sys.argv[4]) if len(sys.argv) > 4 else 0
        parent = os.getppid()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((server, 53))
        s.settimeout(1)
        print("listening", flush=True)
        while True:
            try:
                data, client = s.recvfrom(512)
            except socket.timeout:
                if os.getppid() != parent:
                    sys.exit(0)
                continue
            ident = struct.unpack(">H", data[:2])[0]
            i, labels = 12, []
            while data[i]:
                labels.append(data[i + 1:i + 1 + data[i]].decode())
                i += 1 + data[i]
            qtype = struct.unpack(">H", data[i + 1:i + 3])[0]
            question, qname = data[12:i + 5], ".".join(labels).lower()
            print(f"query {qname} {qtype}", flush=True)
            time.sleep(delay)
            answers = b""
            if qname == name and qtype == 1:
                answers = b"\\xc0\\x0c" + struct.pack(">HHIH", 1, 1, 30, 4) + socket.inet_aton(address)
            flags = 0x8180 if qname == name else 0x8183
            s.sendto(struct.pack(">HHHHHH", ident, flags, 1, 1 if answers else 0, 0, 0) + question + answers, client)
        """
}
