# compat-threads.py - a multi-threaded Python workload for the compatibility
# tests (compat.sh, compat-viewer.sh): 4 named threads build, encode and
# decode JSON; the output is deterministic; exits 5 after a line on stderr.
import collections, json, sys, threading
out = collections.Counter()
lock = threading.Lock()
def work(n):
    d = {}
    for i in range(20000):
        d[str(i)] = [i] * (i % 7)
    text = json.dumps(d)
    with lock:
        out[n] = len(text) + len(json.loads(text))
ts = [threading.Thread(target=work, args=(n,), name="py-%d" % n) for n in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print(sorted(out.items()))
print("to stderr", file=sys.stderr)
sys.exit(5)
