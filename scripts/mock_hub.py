"""A Hugging Face hub (and ModelScope's file API) on loopback, for the live check (scripts/live_hub_check.py): serves a model folder as one
repository through the endpoints huggingface_hub and swift-vllm call — repository info and tree, `resolve` (HEAD and GET)
with ETag / X-Repo-Commit, LFS files (*.safetensors) as redirects to an absolute /cdn/<sha256> URL carrying
X-Linked-Etag and X-Linked-Size, and that URL with Range. `--cut-first-lfs N` ends the first LFS download after N
bytes (a dropped connection). Logs each request that carries a Range header to stderr.
usage: python3 mock_hub.py FOLDER REPO_ID PORT [--cut-first-lfs N]"""
import hashlib, json, os, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = "fedcba9876543210fedcba9876543210fedcba98"


def serve(folder, repo, port, cut_first_lfs=None):
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            files[os.path.relpath(path, folder)] = open(path, "rb").read()
    sha256 = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    git_oid = {name: hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() for name, data in files.items()}
    state = {"cut": cut_first_lfs}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, code, headers, body=b""):
            self.send_response(code)
            for key, value in headers.items():
                self.send_header(key, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def ranged(self, data):
            """(status, headers, body) of `data` for this request's `Range: bytes=N-`, if it has one."""
            if not self.headers.get("Range", "").startswith("bytes="):
                return 200, {}, data
            start = int(self.headers["Range"][6:].split("-")[0])
            return 206, {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"}, data[start:]

        def route(self):
            if self.headers.get("Range"):
                sys.stderr.write(f"mock hub: {self.command} {self.path} Range: {self.headers['Range']}\n")
            path = self.path.split("?")[0]
            # ModelScope's endpoints, as the modelscope client calls them (VLLM_USE_MODELSCOPE=true).
            scope = f"/api/v1/models/{repo}/"
            if path == scope + "repo/files":
                listing = [{"Name": os.path.basename(n), "Path": n, "Type": "blob", "Size": len(files[n]), "Sha256": sha256[n],
                            "Revision": "master"} for n in sorted(files)]
                return self.reply(200, {"Content-Type": "application/json"},
                                  json.dumps({"Code": 200, "Success": True, "Data": {"Files": listing}}).encode())
            if path == scope + "repo":
                from urllib.parse import parse_qs, urlparse
                name = parse_qs(urlparse(self.path).query).get("FilePath", [""])[0]
                if name not in files:
                    return self.reply(404, {"Content-Type": "application/json"}, b'{"Code": 404, "Message": "file not found"}')
                return self.reply(*self.ranged(files[name]))
            info = f"/api/models/{repo}/revision/"
            tree = f"/api/models/{repo}/tree/"
            if path.startswith(tree):
                entries = []
                for name in sorted(files):
                    entry = {"type": "file", "oid": git_oid[name], "size": len(files[name]), "path": name}
                    if name.endswith(".safetensors"):
                        entry["lfs"] = {"oid": sha256[name], "size": len(files[name]), "pointerSize": 134}
                    entries.append(entry)
                return self.reply(200, {"Content-Type": "application/json"}, json.dumps(entries).encode())
            resolve = f"/{repo}/resolve/"
            if path.startswith(info):
                body = json.dumps({"id": repo, "modelId": repo, "sha": COMMIT, "private": False, "gated": False,
                                   "disabled": False, "tags": [], "lastModified": "2026-11-30T00:00:00.000Z",
                                   "siblings": [{"rfilename": name} for name in sorted(files)]}).encode()
                return self.reply(200, {"Content-Type": "application/json"}, body)
            if path.startswith(resolve):
                name = path[len(resolve):].split("/", 1)[1]
                if name not in files:
                    return self.reply(404, {"X-Error-Code": "EntryNotFound"})
                if name.endswith(".safetensors"):
                    # Another host name for this server: the hub's CDN, where clients stop following a HEAD.
                    cdn = self.headers["Host"].replace("127.0.0.1", "localhost")
                    return self.reply(302, {"Location": f"http://{cdn}/cdn/{sha256[name]}",
                                            "X-Repo-Commit": COMMIT, "X-Linked-Etag": f'"{sha256[name]}"',
                                            "X-Linked-Size": str(len(files[name])), "ETag": f'"{git_oid[name]}"'})
                return self.reply(200, {"X-Repo-Commit": COMMIT, "ETag": f'"{git_oid[name]}"'}, files[name])
            if path.startswith("/cdn/"):
                name = next((n for n, s in sha256.items() if s == path[5:]), None)
                if name is None:
                    return self.reply(404, {})
                code, headers, data = self.ranged(files[name])
                with lock:
                    cut, state["cut"] = state["cut"], None
                if cut is not None and self.command == "GET":
                    self.send_response(code)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                return self.reply(code, headers, data)
            self.reply(404, {})

        do_GET = route
        do_HEAD = route

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


if __name__ == "__main__":
    args = sys.argv[1:]
    cut = None
    if "--cut-first-lfs" in args:
        i = args.index("--cut-first-lfs")
        cut = int(args[i + 1])
        del args[i:i + 2]
    folder, repo, port = args[0], args[1], int(args[2])
    serve(folder, repo, port, cut).serve_forever()
