#!/usr/bin/env python3
"""query.py - evaluate a Python expression over a memtop JSON Lines file.

Usage: query.py FILE EXPR.  Every line must be a JSON object (that is part
of what the tests check).  Names: s (the summary record), samples (the
sample records), records (all), thread(s, name) (the thread with that name,
or None).  Prints the result; booleans as true/false.
"""
import json
import sys


def thread(rec, name):
    for t in rec.get("threads") or []:
        if t["name"] == name:
            return t
    return None


def main():
    path, expr = sys.argv[1], sys.argv[2]
    records = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                records.append(json.loads(line))
            except ValueError as e:
                sys.exit(f"{path}:{n}: not JSON: {e}")
    summaries = [r for r in records if r.get("type") == "summary"]
    samples = [r for r in records if r.get("type") == "sample"]
    s = summaries[-1] if summaries else None
    v = eval(expr, {"s": s, "samples": samples, "records": records, "thread": thread,
                    "len": len, "all": all, "any": any, "sum": sum, "min": min, "max": max,
                    "sorted": sorted, "abs": abs, "isinstance": isinstance})
    if isinstance(v, bool):
        print("true" if v else "false")
    else:
        print(v)


if __name__ == "__main__":
    main()
