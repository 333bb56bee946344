"""A minimal Lambda Runtime API that never hands out an event: the function starts, initialises,
asks for its first invocation and waits. That is the idle state whose memory we measure.

Usage: python fake_runtime_api.py PORT
"""

import http.server
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.endswith("/runtime/invocation/next"):
            threading.Event().wait()  # hold the long poll open, as Lambda does between events
        self.send_response(404)
        self.end_headers()

    def do_POST(self):
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
