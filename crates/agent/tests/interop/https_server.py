"""A static HTTPS server on loopback for the agent's TLS tests.
usage: https_server.py DIR PORT CERT_PEM KEY_PEM [MAX_TLS]   (MAX_TLS: 1.1 to cap the version)"""
import functools, http.server, ssl, sys

directory, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
if len(sys.argv) > 5 and sys.argv[5] == "1.1":
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("ALL:@SECLEVEL=0")
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
