"""Live check of models by hub id (#17) against huggingface_hub, the oracle, over a mock hub on loopback
(scripts/mock_hub.py serving ../shared/models/stories260K as test-org/stories260K):
1. `swift-vllm download` is cut off mid-file, then resumes with a Range request; huggingface_hub, offline, finds every
   file of that cache (snapshot_download / hf_hub_download with local_files_only) with the source's bytes;
2. huggingface_hub fills a cache from the same hub; swift-vllm with HF_HUB_OFFLINE=1 finds the same snapshot and
   generates from the hub id exactly what it generates from the folder;
3. the same both ways with ModelScope (VLLM_USE_MODELSCOPE=true) and the modelscope client;
4. `serve ORG/NAME` names the model by its hub id.
usage: python3 live_hub_check.py --bin SWIFT_VLLM --folder ../shared/models/stories260K --port P"""
import argparse, json, os, subprocess, sys, tempfile, threading, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mock_hub  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--bin", required=True)
parser.add_argument("--folder", required=True)
parser.add_argument("--port", type=int, required=True)
args = parser.parse_args()
repo = "test-org/stories260K"
endpoint = f"http://127.0.0.1:{args.port}"
server = mock_hub.serve(args.folder, repo, args.port, cut_first_lfs=40_000)
threading.Thread(target=server.serve_forever, daemon=True).start()
os.environ["HF_ENDPOINT"] = endpoint
import huggingface_hub  # noqa: E402  (reads HF_ENDPOINT at import)


def run(*command, env=None, check=True):
    result = subprocess.run(command, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        sys.exit(f"FAIL: {' '.join(command)} exited {result.returncode}: {result.stderr[-2000:]}")
    return result


ours = tempfile.mkdtemp()
first = run(args.bin, "download", repo, env={"HF_HOME": ours}, check=False)
assert first.returncode != 0, "the cut-off download should have failed"
second = run(args.bin, "download", repo, env={"HF_HOME": ours})
snapshot = second.stdout.strip()
print(f"ok: a download cut off mid-file failed ({first.stderr.strip().splitlines()[-1][:120]}), the next resumed")

cache = os.path.join(ours, "hub")
found = huggingface_hub.snapshot_download(repo, cache_dir=cache, local_files_only=True)
assert found == snapshot, (found, snapshot)
needed = sorted(f for f in os.listdir(args.folder) if not f.endswith(".md"))
for name in needed:
    path = huggingface_hub.hf_hub_download(repo, name, cache_dir=cache, local_files_only=True)
    assert open(path, "rb").read() == open(os.path.join(args.folder, name), "rb").read(), name
assert not os.path.exists(os.path.join(snapshot, "README.md")), "README.md is not a file a model needs"
print(f"ok: huggingface_hub {huggingface_hub.__version__}, offline, finds swift-vllm's snapshot and all {len(needed)} files with the source's bytes")

theirs = tempfile.mkdtemp()
their_snapshot = huggingface_hub.snapshot_download(repo, cache_dir=os.path.join(theirs, "hub"))
offline = {"HF_HOME": theirs, "HF_HUB_OFFLINE": "1"}
found = run(args.bin, "download", repo, env=offline).stdout.strip()
assert found == their_snapshot, (found, their_snapshot)
generate = ["generate", "--device", "cpu", "--prompt", "Once upon a time", "--max-tokens", "24", "--temperature", "0", "--json"]
by_id = json.loads(run(args.bin, *generate, "--model", repo, env=offline).stdout)
by_folder = json.loads(run(args.bin, *generate, "--model", args.folder).stdout)
assert by_id["outputs"][0]["token_ids"] == by_folder["outputs"][0]["token_ids"], (by_id, by_folder)
missing = run(args.bin, "download", "test-org/absent", env=offline, check=False)
assert missing.returncode != 0 and "HF_HUB_OFFLINE" in missing.stderr, missing.stderr
print("ok: a cache huggingface_hub filled serves offline (same snapshot, same greedy text); an uncached id names HF_HUB_OFFLINE")

# ModelScope (VLLM_USE_MODELSCOPE=true), the modelscope client as the oracle, over the same mock.
try:
    import modelscope  # noqa: F401
except ImportError:
    modelscope = None
if modelscope is None and os.environ.get("CI") == "true":
    sys.exit("FAIL: the modelscope client (pip install modelscope) is needed for the ModelScope check")
if modelscope is not None:
    scope = {"VLLM_USE_MODELSCOPE": "true", "MODELSCOPE_ENDPOINT": endpoint}
    ours = tempfile.mkdtemp()
    folder = run(args.bin, "download", repo, env={**scope, "MODELSCOPE_CACHE": ours}).stdout.strip()
    check = ("import os, sys; from modelscope import snapshot_download; "
             "print(snapshot_download(sys.argv[1], local_files_only=sys.argv[2] == 'offline'))")
    found = run(sys.executable, "-c", check, repo, "offline", env={**scope, "MODELSCOPE_CACHE": ours}).stdout.strip().splitlines()[-1]
    assert os.path.realpath(found) == os.path.realpath(folder), (found, folder)
    for name in needed:
        assert open(os.path.join(found, name), "rb").read() == open(os.path.join(args.folder, name), "rb").read(), name
    theirs = tempfile.mkdtemp()
    their_folder = run(sys.executable, "-c", check, repo, "online", env={**scope, "MODELSCOPE_CACHE": theirs}).stdout.strip().splitlines()[-1]
    offline_scope = {**scope, "MODELSCOPE_CACHE": theirs, "HF_HUB_OFFLINE": "1"}
    found = run(args.bin, "download", repo, env=offline_scope).stdout.strip()
    assert os.path.realpath(found) == os.path.realpath(their_folder), (found, their_folder)
    by_scope = json.loads(run(args.bin, *generate, "--model", repo, env=offline_scope).stdout)
    assert by_scope["outputs"][0]["token_ids"] == by_folder["outputs"][0]["token_ids"]
    print(f"ok: ModelScope: the modelscope client finds what swift-vllm fetched, swift-vllm serves what it fetched (same greedy text)")
else:
    print("SKIPPED: ModelScope check (pip install modelscope)")

serve = subprocess.Popen([args.bin, "serve", repo, "--device", "cpu", "--port", str(args.port + 1), "--host", "127.0.0.1"],
                         env={**os.environ, **offline}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
try:
    for _ in range(150):
        try:
            models = json.load(urllib.request.urlopen(f"http://127.0.0.1:{args.port + 1}/v1/models", timeout=2))
            break
        except OSError:
            time.sleep(0.2)
    else:
        sys.exit("FAIL: serve by hub id did not come up")
    assert [m["id"] for m in models["data"]] == [repo], models
finally:
    serve.terminate()
    serve.wait(timeout=30)
print("ok: serve ORG/NAME names the model by its hub id")
print("live hub check passed")
