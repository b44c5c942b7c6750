#!/usr/bin/env python3
"""The IMAP benchmark's corpus: a Maildir++ tree of several folders.

`scripts/bench --imap` loads this tree into a Dovecot user by copying the
files, so that no client under test does the loading. The messages are the
ones `gen-corpus.py corpus` makes for the same seed and count (same bytes,
same size mix, same flags and keywords); only their spread over folders is
new. The folders include a hierarchy (`Archive/2023`, whose parent does not
exist, as in many real stores) and a non-ASCII name, which Dovecot's maildir
keeps on disk in modified UTF-7 (`Entwürfe` is `.Entw&APw-rfe/`).

Usage:
  bench-imap.py corpus --count N --maildir DIR [--seed S] [--progress]
  bench-imap.py check MANIFEST (--maildir DIR | --doveadm-status FILE)

`corpus` prints one JSON line to stdout (the manifest): messages, bytes,
seed, seconds and folders (IMAP name -> message count).

`check` compares a copy with the manifest, folder by folder: a maildir tree
(files in cur/ and new/ of the root and every `.NAME` folder), or the output
of `doveadm -f tab mailbox status -u USER messages '*'` (`.` separated names).
Folders holding no message are ignored wherever they are. It prints the total
and exits 0 if every folder holds exactly its messages, else it lists the
differences and exits 1.

Standard library only, Python 3.9 or newer.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import random
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

# (IMAP name with `/` between levels, weight). Folder of message i is drawn
# from its own seeded rng, so it depends only on the seed and i.
FOLDERS = [
    ("INBOX", 40),
    ("Sent", 20),
    ("Archive/2023", 25),
    ("Projects", 10),
    ("Entwürfe", 5),
]


def load_generator():
    path = Path(__file__).resolve().with_name("gen-corpus.py")
    spec = importlib.util.spec_from_file_location("gen_corpus", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up
    spec.loader.exec_module(module)
    return module


def mutf7(name: str) -> str:
    """RFC 3501 §5.1.3 modified UTF-7: printable ASCII stays (`&` becomes
    `&-`), other runs are `&` + base64 of UTF-16BE with `,` for `/` + `-`."""
    out, run = [], ""

    def flush():
        if run:
            b64 = base64.b64encode(run.encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + b64.replace("/", ",") + "-")

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            run = ""
            out.append("&-" if ch == "&" else ch)
        else:
            run += ch
    flush()
    return "".join(out)


def mutf7_decode(name: str) -> str:
    out, i = [], 0
    while i < len(name):
        if name[i] != "&":
            out.append(name[i])
            i += 1
            continue
        end = name.index("-", i)
        b64 = name[i + 1:end]
        if b64:
            data = base64.b64decode(b64.replace(",", "/") + "=" * (-len(b64) % 4))
            out.append(data.decode("utf-16-be"))
        else:
            out.append("&")
        i = end + 1
    return "".join(out)


def maildir_folder(name: str) -> str:
    """IMAP name -> the MaildirWriter folder (`.` + this is the directory)."""
    if name == "INBOX":
        return ""
    return ".".join(mutf7(part) for part in name.split("/"))


def write(args) -> dict:
    gen = load_generator()
    sizes = gen.parse_sizes(gen.DEFAULT_SIZES)
    composer = gen.Composer(args.seed)
    start = datetime(2016, 1, 1, tzinfo=timezone.utc)
    writer = gen.MaildirWriter(args.maildir, host="mailtug-bench", all_cur=True)
    names = [n for n, _ in FOLDERS]
    weights = [w for _, w in FOLDERS]
    for name in names:
        writer.open_folder(maildir_folder(name))
    counts = dict.fromkeys(names, 0)
    total = 0
    t0 = time.monotonic()
    for i in range(args.count):
        # Same message as `gen-corpus.py corpus` writes for this seed and i.
        msg = gen.corpus_message(composer, args.seed, i, sizes, start)
        name = random.Random(f"{args.seed}/imap-folder/{i}").choices(names, weights)[0]
        writer.add(msg, maildir_folder(name))
        counts[name] += 1
        total += len(msg.raw)
        if args.progress and (i + 1) % 500 == 0:
            print(f"  {i + 1}/{args.count} messages, {total / 1e6:.0f} MB", file=sys.stderr)
    writer.close()
    return {"messages": args.count, "bytes": total, "seed": args.seed,
            "seconds": round(time.monotonic() - t0, 1), "folders": counts}


def maildir_counts(root: Path) -> dict[str, int]:
    counts = {}
    for d in [root] + sorted(p for p in root.iterdir() if p.name.startswith(".") and p.is_dir()):
        n = sum(1 for sub in ("cur", "new") if (d / sub).is_dir()
                for f in (d / sub).iterdir() if f.is_file())
        if d == root:
            name = "INBOX"
        else:
            try:
                name = "/".join(mutf7_decode(part) for part in d.name[1:].split("."))
            except (ValueError, UnicodeDecodeError):
                name = d.name  # not mUTF-7: reported under its directory name
        counts[name] = counts.get(name, 0) + n
    return counts


def doveadm_counts(status: Path) -> dict[str, int]:
    lines = status.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].split("\t") != ["mailbox", "messages"]:
        raise SystemExit(f"bench-imap.py: {status} is not `doveadm -f tab mailbox status "
                         "messages` output")
    counts = {}
    for line in lines[1:]:
        name, n = line.rsplit("\t", 1)
        name = name.replace(".", "/")
        counts[name] = counts.get(name, 0) + int(n)
    return counts


def check(args) -> int:
    want = json.loads(args.manifest.read_text(encoding="utf-8"))["folders"]
    if args.maildir:
        if not args.maildir.is_dir():
            print(f"{args.maildir} does not exist")
            return 1
        got = maildir_counts(args.maildir)
    else:
        got = doveadm_counts(args.doveadm_status)
    got = {k: v for k, v in got.items() if v}
    bad = [f"{name}: {got.get(name, 0)} of {n}" for name, n in want.items() if got.get(name, 0) != n]
    bad += [f"{name}: {n}, a folder the corpus does not have" for name, n in got.items()
            if name not in want]
    total = sum(got.values())
    if bad:
        print(f"{total} of {sum(want.values())} messages; " + ", ".join(bad))
        return 1
    print(f"{total} messages in {len(got)} folders")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="bench-imap.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("corpus", help="write N messages as a multi-folder Maildir++ tree")
    c.add_argument("--count", type=int, required=True, metavar="N")
    c.add_argument("--seed", default="mailtug-bench-1")
    c.add_argument("--maildir", type=Path, required=True, metavar="DIR")
    c.add_argument("--progress", action="store_true", help="report progress on stderr")
    k = sub.add_parser("check", help="compare a copy's folders with the manifest")
    k.add_argument("manifest", type=Path, help="the JSON line `corpus` printed")
    where = k.add_mutually_exclusive_group(required=True)
    where.add_argument("--maildir", type=Path, metavar="DIR")
    where.add_argument("--doveadm-status", type=Path, metavar="FILE")
    args = p.parse_args(argv)
    if args.cmd == "check":
        return check(args)
    if args.count < 1:
        p.error("--count must be positive")
    print(json.dumps(write(args), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
