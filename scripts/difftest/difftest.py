#!/usr/bin/env python3
"""Differential test of our `.circ` parser/printer (the `circ` CLI) against the original
rust_circuit (a development aid only: never a dependency of the project, its tests or CI).

For every random circuit (generated with the ORIGINAL's Python API, see gen.py) and for the
original's outputs on the shared format examples:

  parse[V]   the original prints the circuit with PrintOptions variant V; `circ fmt` of that
             text must equal the original's own canonical reprint (Parser()(text), default
             PrintOptions) byte for byte.
  print[V]   `circ fmt --V` of the default text must equal the original's PrintOptions(V)
             print of the same circuit.
  reverse    our default output must parse in the original to the same circuits (same
             hashes) and reprint to the original's canonical text.

Mismatches are categorised (check, variant, node kind, field of the first differing line),
counted, and the smallest example of each category is minimised (subtree deletion, hoisting
a child into its parent's place, renaming) while the original still parses it and the same
category still fails.

Run (one command, from the repo root): scripts/difftest/run.sh [--cases 2000]
or by hand:  VENV/bin/python scripts/difftest/difftest.py --circ target-difftest/release/circ
"""
import argparse
import collections
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

VARIANTS = {
    "default": ({}, []),
    "serial": ({"force_use_serial_numbers": True}, ["--serial"]),
    "arrows": ({"arrows": True}, ["--arrows"]),
    "ocb": ({"only_child_below": True}, ["--only-child-below"]),
    "arrows+ocb": ({"arrows": True, "only_child_below": True}, ["--arrows", "--only-child-below"]),
    "shapes": ({"shape_only_when_necessary": False}, ["--shapes"]),
}

KINDS = ["Array", "Scalar", "Symbol", "Einsum", "Add", "Rearrange", "Index", "Scatter", "Concat",
         "GeneralFunction", "Conv", "Module", "SetSymbolicShape", "Tag", "DiscreteVar",
         "StoredCumulantVar", "Cumulant"]

rc = None
torch = None
np = None
P = None
CIRC = None
ENV = None
NPY_DIR = None


# ---------------------------------------------------------------------------- plumbing
@contextlib.contextmanager
def quiet_stderr():
    """pyo3 panics print to fd 2 even when caught; silence them."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def setup(workdir, circ):
    global rc, torch, np, P, CIRC, ENV, NPY_DIR
    os.makedirs(workdir, exist_ok=True)
    os.environ["TENSORS_CACHE_DIR"] = os.path.join(workdir, "rc-tensors")
    os.environ["RUST_BACKTRACE"] = "0"
    os.environ["RUST_LIB_BACKTRACE"] = "0"
    NPY_DIR = os.path.join(workdir, "npy")
    os.makedirs(NPY_DIR, exist_ok=True)
    import numpy as _np
    import rust_circuit as _rc
    import torch as _torch

    rc, torch, np = _rc, _torch, _np
    P = rc.PrintOptions()
    CIRC = circ
    ENV = dict(os.environ)
    ENV["CIRCUIT_TENSOR_DIR"] = NPY_DIR


def ours(text, flags=()):
    p = subprocess.run([CIRC, "fmt", *flags, "-"], input=text.encode("utf-8"), capture_output=True, env=ENV)
    out = p.stdout.decode("utf-8", "replace")
    if out.endswith("\n"):
        out = out[:-1]
    return p.returncode, out, p.stderr.decode("utf-8", "replace")


def orig_parse(text):
    with quiet_stderr():
        return rc.Parser().parse_circuits(text)


def orig_print(circuits, opts=None):
    with quiet_stderr():
        return (rc.PrintOptions(**opts) if opts else P).repr(*circuits)


def short_err(e):
    s = str(e).strip().split("\n")[0]
    return f"{type(e).__name__}: {s[:160]}"


def walk(circuits):
    seen, stack, out = set(), list(circuits), []
    while stack:
        c = stack.pop()
        if c.hash in seen:
            continue
        seen.add(c.hash)
        out.append(c)
        stack.extend(c.children)
        if c.is_module():
            stack.extend(a.symbol for a in c.cast_module().spec.arg_specs)
    return out


def export_tensors(circuits):
    """Writes every Array / index tensor as <hash>.npy for our CIRCUIT_TENSOR_DIR."""
    tensors = []
    for c in walk(circuits):
        if c.is_array():
            tensors.append(c.cast_array().value)
        elif c.is_index():
            tensors += [i for i in c.cast_index().idx if isinstance(i, torch.Tensor)]
    for t in tensors:
        h = rc.hash_tensor(t).hex()
        path = os.path.join(NPY_DIR, h + ".npy")
        if not os.path.exists(path):
            np.save(path, t.detach().cpu().numpy())


# ---------------------------------------------------------------------------- line classification
def _closing_quote(s, i):
    bs = 0
    j = i + 1
    while j < len(s):
        ch = s[j]
        if ch == "\\":
            bs += 1
        elif ch == "'":
            nxt = s[j + 1] if j + 1 < len(s) else ""
            if bs % 2 == 0 and (nxt == "" or nxt.isspace() or nxt in "#!"):
                return j
            bs = 0
        else:
            bs = 0
        j += 1
    return None


TREE = set(" \t│└├‣─┌")


def split_line(line):
    """(indent, ident, name, ad, shape, kind, payload) of a printed node line (best effort)."""
    i = 0
    while i < len(line) and line[i] in TREE:
        i += 1
    indent, s = line[:i], line[i:]
    fields = {"indent": indent, "ident": "", "name": "", "ad": "", "shape": "", "kind": "", "payload": "",
              "binding": ""}
    if s.startswith("'"):
        j = _closing_quote(s, 0)
        if j is None:
            fields["ident"] = s
            return fields
        fields["ident"], s = s[: j + 1], s[j + 1:].lstrip()
    else:
        m = re.match(r"\d+|▼|\|/", s)
        if not m:
            fields["ident"] = s
            return fields
        fields["ident"], s = m.group(0), s[m.end():].lstrip()
    if s.startswith("'"):
        j = _closing_quote(s, 0)
        if j is not None:
            fields["name"], s = s[: j + 1], s[j + 1:].lstrip()
    if s.startswith("AD") and (len(s) == 2 or s[2] in " ["):
        fields["ad"], s = "AD", s[2:].lstrip()
    if s.startswith("["):
        j = s.find("]")
        fields["shape"], s = s[: j + 1], s[j + 1:].lstrip()
    m = re.match(r"[A-Za-z]+", s)
    if m and m.group(0) in KINDS:
        fields["kind"], s = m.group(0), s[m.end():]
    # payload up to a `!` outside quotes (module binding)
    k = 0
    while k < len(s):
        if s[k] == "'":
            j = _closing_quote(s, k)
            k = (j + 1) if j is not None else k + 1
            continue
        if s[k] == "!":
            break
        k += 1
    fields["payload"], fields["binding"] = s[:k].strip(), s[k:].strip()
    return fields


def classify_text(got, want):
    """Names the first difference between two printed texts: (kind, field, got_line, want_line).
    AD differences propagate to every ancestor, so for those the deepest differing line
    (the node where the difference starts) is named instead."""
    gl, wl = got.split("\n"), want.split("\n")
    if len(gl) == len(wl):
        ad_only = []
        for a, b in zip(gl, wl):
            if a != b:
                fa, fb = split_line(a), split_line(b)
                if fa["ad"] != fb["ad"] and a.replace(" AD", "", 1) in (b, b.replace(" AD", "", 1)):
                    ad_only.append((a, b, fa, fb))
        if ad_only:
            # the node where the difference starts: a Module or SetSymbolicShape if one
            # differs (their AD rules are special), else the last one in print order
            special = [x for x in ad_only if (x[3]["kind"] or x[2]["kind"]) in ("Module", "SetSymbolicShape")]
            a, b, fa, fb = (special or ad_only)[-1]
            return fb["kind"] or fa["kind"] or "repeat", "ad", a, b
    for a, b in zip(gl, wl):
        if a != b:
            fa, fb = split_line(a), split_line(b)
            kind = fb["kind"] or fa["kind"] or "repeat"
            for f in ["indent", "ident", "name", "ad", "shape", "kind", "payload", "binding"]:
                if fa[f] != fb[f]:
                    return kind, f, a, b
            return kind, "other", a, b
    return "-", "line-count", f"{len(gl)} lines", f"{len(wl)} lines"


def _strip_axis_names(shape):
    return re.sub(r"[^,\[\]]*:", "", shape)


def _labels_in_order(spec):
    seen = []
    for ch in spec.replace(",", "").replace("->", ""):
        if ch not in seen:
            seen.append(ch)
    order = [c for c in spec if c not in ",->"]
    first = []
    for ch in order:
        if ch not in first:
            first.append(ch)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return all(alphabet.find(ch) == i for i, ch in enumerate(first))


def refine(kind, field, got_line, want_line):
    """Names the cause of a differing line: (label, status). Status is `bug` (ours
    should change), `intended` (a deliberate difference, documented or not) or `check`."""
    g, w = split_line(got_line), split_line(want_line)
    if field == "shape":
        if g["shape"] and not w["shape"] and ":" in g["shape"]:
            return (f"{kind}: ours prints the shape with named axes, the original prints no shape "
                    "(ours keeps named axes the original's printer drops)"), "intended"
        if g["shape"] and w["shape"] and re.search(r"\ds", w["shape"]) and \
                len(re.findall(r"\ds", g["shape"])) < len(re.findall(r"\ds", w["shape"])):
            return ("ours resolves a symbolic size (bound by a Module) that the original keeps in the shape "
                    "[documented in DIFFERENCES.md: module substitution]"), "documented"
        if w["shape"] and not g["shape"]:
            return f"{kind}: the original prints a shape, ours none", "bug"
        if g["shape"] and w["shape"] and _strip_axis_names(g["shape"]) == _strip_axis_names(w["shape"]):
            return "named axes in the shape differ (named-axis propagation)", "bug"
        return f"{kind}: shape differs", "bug"
    if field == "ad":
        return f"{kind}: AD marker differs (ours {'prints' if g['ad'] else 'omits'} it)", "bug"
    if "  !" in got_line and "  !" not in want_line:
        return f"{kind}: two spaces before the ` ! ` binding (payload ends with a space)", "bug"
    if kind == "Rearrange" and field == "payload":
        if re.search(r"[A-Za-z_][\w.]+", w["payload"].replace("->", " ")) or w["payload"] != g["payload"]:
            return "Rearrange: the original prints axis names (fancy rearrange), ours letters", "bug"
    if kind == "Einsum" and field == "payload":
        gf, wf = g["payload"].startswith("fancy:"), w["payload"].startswith("fancy:")
        if wf and not gf and not _labels_in_order(g["payload"]):
            return "Einsum: fancy form only when labels are in first-appearance order [documented]", "documented"
        if wf != gf:
            return (f"Einsum: fancy/plain choice differs (ours {'fancy' if gf else 'plain'}, "
                    f"original {'fancy' if wf else 'plain'})"), "bug"
        if wf and gf:
            return "Einsum: fancy axis words differ (named-axis propagation)", "bug"
    return f"{kind}: {field} differs", "bug"


# ---------------------------------------------------------------------------- the checks
class Finding:
    def __init__(self, check, sig, status, detail):
        self.check, self.sig, self.status, self.detail = check, sig, status, detail


class Result:
    def __init__(self):
        self.cats = collections.OrderedDict()  # signature -> info

    def add(self, f, case_id, text, default_text=None):
        info = self.cats.setdefault(f.sig, {"count": 0, "cases": set(), "checks": collections.Counter(),
                                            "status": f.status, "example": None})
        info["count"] += 1
        info["cases"].add(case_id)
        info["checks"][f.check] += 1
        ex = {"case": case_id, "check": f.check, "text": text,
              "default_text": default_text if default_text is not None else text, **f.detail}
        if info["example"] is None or len(text) < len(info["example"]["text"]):
            info["example"] = ex
        by = info.setdefault("by_check", {})
        if f.check not in by or len(text) < len(by[f.check]["text"]):
            by[f.check] = ex


def _diff_finding(check, got, want, extra=None):
    kind, field, a, b = classify_text(got, want)
    label, status = refine(kind, field, a, b)
    d = {"ours": got, "original": want, "ours_line": a, "original_line": b}
    d.update(extra or {})
    return Finding(check, label, status, d)


def _err_head(err):
    line = err.strip().split("\n")[0]
    line = re.sub(r"'[^']*'|<unnamed [A-Za-z]+>", "'…'", re.sub(r"\[[^\]]*\]", "[…]", line))
    return re.sub(r"\d+", "N", line)[:120]


def check_parse(text, variant="default"):
    """parse[V]: ours(text) vs the original's reprint of its parse of text."""
    check = f"parse[{variant}]"
    try:
        want = orig_print(orig_parse(text))
    except BaseException as e:  # noqa
        if isinstance(e, KeyboardInterrupt):
            raise
        code, got, err = ours(text)
        if code == 0:
            return Finding(check, f"the original rejects an input, ours accepts ({type(e).__name__})", "check",
                           {"ours": got, "original_error": short_err(e)})
        return None  # both reject
    code, got, err = ours(text)
    if code != 0:
        head = _err_head(err)
        if "declared shape" in head and re.search(r"\| .*\] Module", err):
            return Finding(check, ("ours rejects the original's declared Module shape: ours resolves a symbolic "
                                   "size the original keeps [documented in DIFFERENCES.md: module substitution]"),
                           "documented", {"ours": err.strip(), "original": want})
        return Finding(check, f"ours rejects text the original parses ({head})", "bug",
                       {"ours": err.strip(), "original": want})
    if got != want:
        return _diff_finding(check, got, want)
    return None


def check_print(text, variant):
    """print[V]: ours with flags vs original PrintOptions(V) on the parse of text."""
    opts, flags = VARIANTS[variant]
    try:
        want = orig_print(orig_parse(text), opts)
    except BaseException as e:  # noqa
        if isinstance(e, KeyboardInterrupt):
            raise
        return None
    code, got, err = ours(text, flags)
    if code != 0:
        return None  # reported by parse[default]
    if got != want:
        return _diff_finding(f"print[{variant}]", got, want)
    return None


def check_reverse(text, truth=None):
    """reverse: the original parses our output to the same circuits and reprints its text.
    `truth`: hashes of the generated circuits; our output may also match those when the
    original's own print loses information (named axes)."""
    try:
        circs = orig_parse(text)
        want = orig_print(circs)
    except BaseException as e:  # noqa
        if isinstance(e, KeyboardInterrupt):
            raise
        return None
    code, got, err = ours(text)
    if code != 0:
        return None
    try:
        back = orig_parse(got)
    except BaseException as e:  # noqa
        if isinstance(e, KeyboardInterrupt):
            raise
        return Finding("reverse", f"reverse: the original rejects our output ({type(e).__name__})", "bug",
                       {"ours": got, "original": want, "original_error": short_err(e)})
    again = orig_print(back)
    hb = [c.hash for c in back]
    if hb != [c.hash for c in circs]:
        if truth is not None and hb == truth:
            return None  # ours kept what the original's own print dropped
        f = _diff_finding("reverse", again, want, {"ours": got, "original_reprint_of_ours": again})
        f.sig = "reverse: our output parses (in the original) to a different circuit; " + f.sig
        return f
    if again != want:
        f = _diff_finding("reverse", again, want, {"ours": got, "original_reprint_of_ours": again})
        f.sig = "reverse: the original's reprint of our output differs; " + f.sig
        return f
    return None


def run_check(name, text):
    if name.startswith("parse["):
        return check_parse(text, name[6:-1])
    if name.startswith("print["):
        return check_print(text, name[6:-1])
    return check_reverse(text)


def quirk(sig, detail=None):
    return Finding("original", sig, "quirk", detail or {})


# ---------------------------------------------------------------------------- one case
def check_case(roots, case_id, res, stats):
    try:
        t0 = orig_print(roots)
    except BaseException as e:  # noqa
        if isinstance(e, KeyboardInterrupt):
            raise
        res.add(quirk(f"original: cannot print the circuit ({type(e).__name__})", {"error": short_err(e)}),
                case_id, "")
        return
    export_tensors(roots)
    stats["cases"] += 1
    # the original's own round trip
    try:
        r = orig_parse(t0)
    except BaseException as e:  # noqa
        if isinstance(e, KeyboardInterrupt):
            raise
        code, got, err = ours(t0)
        res.add(quirk(f"original: cannot parse its own default output ({type(e).__name__}); ours "
                      + ("accepts it" if code == 0 else "rejects it too"),
                      {"original_error": short_err(e), "ours": got if code == 0 else err.strip()}), case_id, t0)
        return
    r0 = orig_print(r)
    if r0 != t0:
        res.add(quirk("original: its reprint of its own parse differs from its print", {"original_reprint": r0}),
                case_id, t0)
    elif [c.hash for c in r] != [c.hash for c in roots]:
        res.add(quirk("original: parsing its print gives a different circuit (same text; information lost)"),
                case_id, t0)
    for v, (opts, _) in VARIANTS.items():
        try:
            tv = orig_print(roots, opts) if opts else t0
        except BaseException as e:  # noqa
            if isinstance(e, KeyboardInterrupt):
                raise
            continue
        stats["texts"] += 1
        try:
            orig_parse(tv)
        except BaseException as e:  # noqa
            if isinstance(e, KeyboardInterrupt):
                raise
            res.add(quirk(f"original: cannot parse its own {v} output ({type(e).__name__})",
                          {"original_error": short_err(e)}), case_id, tv, t0)
            continue
        f = check_parse(tv, v)
        if f:
            res.add(f, case_id, tv, t0)
    for v in VARIANTS:
        if v != "default":
            f = check_print(t0, v)
            if f:
                res.add(f, case_id, t0)
    f = check_reverse(t0, [c.hash for c in roots])
    if f:
        res.add(f, case_id, t0)


# ---------------------------------------------------------------------------- minimisation
def tree_lines(text):
    """Default-format text -> list of (depth, line)."""
    out = []
    for line in text.split("\n"):
        n = len(line) - len(line.lstrip(" "))
        out.append((n // 2, line))
    return out


def subtree_end(lines, i):
    d = lines[i][0]
    j = i + 1
    while j < len(lines) and lines[j][0] > d:
        j += 1
    return j


def candidates(text):
    lines = tree_lines(text)
    n = len(lines)
    # delete a subtree
    for i in range(n):
        j = subtree_end(lines, i)
        yield "\n".join(l for _, l in lines[:i] + lines[j:])
    # replace a node by one of its children
    for i in range(n):
        j = subtree_end(lines, i)
        d = lines[i][0]
        k = i + 1
        while k < j:
            e = subtree_end(lines, k)
            sub = [l[2:] for _, l in lines[k:e]]
            yield "\n".join([l for _, l in lines[:i]] + sub + [l for _, l in lines[j:]])
            k = e


def rename_candidates(text):
    try:
        circs = orig_parse(text)
    except BaseException:  # noqa
        return
    for node in walk(circs):
        if node.is_module() or node.name in ("", None):
            continue
        for new in ["n", None]:
            try:
                with quiet_stderr():
                    m = rc.Matcher(node)
                    new_roots = [c.update(m, lambda x, new=new: x.rename(new)) for c in circs]
                    yield orig_print(new_roots)
            except BaseException:  # noqa
                continue


def _own_text_variant(check):
    """Variants whose text has the default's line structure: those are minimised as they are."""
    m = re.match(r"parse\[(.*)\]", check)
    return m.group(1) if m and m.group(1) in ("default", "serial", "shapes") else None


def minimise(check, text, sig, budget=600):
    """Shrinks `text` (the check's own input for parse[default|serial|shapes], else the
    circuit's default text) while the original parses it and the check still fails with `sig`."""
    own = _own_text_variant(check)
    canon_opts = VARIANTS[own][0] if own else None

    def canon(t):
        return orig_print(orig_parse(t), canon_opts)

    def same(t):
        try:
            t = canon(t)
            out = run_check(check, t if own else variant_text(check, t))
        except BaseException:  # noqa
            return None
        return t if (out and out.sig == sig) else None

    try:
        cur = canon(text)
    except BaseException:  # noqa
        return text
    if same(cur) is None:
        cur = text
        if same(cur) is None:
            return text
    tries = 0
    changed = True
    while changed and tries < budget:
        changed = False
        for gen in (candidates, rename_candidates):
            for cand in gen(cur):
                tries += 1
                if len(cand) >= len(cur) or tries > budget:
                    continue
                t = same(cand)
                if t is not None and len(t) < len(cur):
                    cur = t
                    changed = True
                    break
            if changed:
                break
    return cur


def variant_text(check, default_text):
    """The input a check consumes, given the default-format text of the circuit."""
    m = re.match(r"parse\[(.*)\]", check)
    if m and m.group(1) != "default":
        opts = VARIANTS[m.group(1)][0]
        return orig_print(orig_parse(default_text), opts)
    return default_text


# ---------------------------------------------------------------------------- format examples
def run_examples(cases_dir, res, stats):
    for name in sorted(os.listdir(cases_dir)):
        d = os.path.join(cases_dir, name)
        if not os.path.isfile(os.path.join(d, "case.json")):
            continue
        meta = json.load(open(os.path.join(d, "case.json")))
        tdir = os.path.join(d, "tensors")
        if os.path.isdir(tdir):
            for f in os.listdir(tdir):
                shutil.copy(os.path.join(tdir, f), os.path.join(NPY_DIR, f))
                t = torch.from_numpy(np.load(os.path.join(tdir, f)))
                with quiet_stderr():
                    rc.save_tensor(t)
        inputs = ([os.path.join(d, "input.circ")] if os.path.exists(os.path.join(d, "input.circ"))
                  else [os.path.join(d, "inputs", f) for f in sorted(os.listdir(os.path.join(d, "inputs")))])
        for inp in inputs:
            text = open(inp, encoding="utf-8").read()
            cid = f"example:{name}/{os.path.basename(inp)}"
            stats["examples"] += 1
            try:
                circs = orig_parse(text)
                t = orig_print(circs)
                export_tensors(circs)
                oerr = None
            except BaseException as e:  # noqa
                if isinstance(e, KeyboardInterrupt):
                    raise
                oerr = short_err(e)
            code, got, err = ours(text)
            if oerr is not None:
                if code == 0:
                    res.add(Finding("examples", "examples: the original rejects the input, ours accepts", "check",
                                    {"ours": got, "original_error": oerr, "case_kind": meta["kind"]}), cid, text)
                else:
                    stats["examples_both_reject"] += 1
                continue
            stats["examples_original_parses"] += 1
            if code != 0:
                res.add(Finding("examples", f"examples: ours rejects an input the original accepts ({_err_head(err)})",
                                "bug", {"ours": err.strip(), "original": t}), cid, text)
                continue
            if "rand" not in text.split("#")[0] and "rand" not in text:
                if got != t:
                    f = _diff_finding("examples-direct", got, t)
                    f.sig = "examples (fmt of the input): " + f.sig
                    res.add(f, cid, text, t)
                else:
                    stats["examples_direct_equal"] += 1
            ok = True
            for chk in ["parse[default]", "reverse"]:
                f = run_check(chk, t)
                if f:
                    ok = False
                    res.add(f, cid, t)
            for v in VARIANTS:
                if v == "default":
                    continue
                try:
                    tv = orig_print(orig_parse(t), VARIANTS[v][0])
                    orig_parse(tv)
                except BaseException:  # noqa
                    continue
                for f in (check_parse(tv, v), check_print(t, v)):
                    if f:
                        ok = False
                        res.add(f, cid, tv if f.check.startswith("parse") else t, t)
            stats["examples_all_checks_pass"] += ok


# ---------------------------------------------------------------------------- report
def report(res, stats, minimised, path_json, path_md):
    rows = []
    for sig, info in res.cats.items():
        rows.append({"category": sig, "status": info["status"], "occurrences": info["count"],
                     "cases": len(info["cases"]), "checks": dict(info["checks"]),
                     "case_ids": sorted(info["cases"], key=lambda c: (c.split(":")[0], int(c.split(":")[1])
                                                                        if c.split(":")[1].isdigit() else 0, c)),
                     "example": info["example"], "minimal": minimised.get(sig)})
    order = {"bug": 0, "intended": 1, "documented": 2, "check": 3, "quirk": 4}
    rows.sort(key=lambda r: (order.get(r["status"], 9), -r["cases"]))
    with open(path_json, "w") as f:
        json.dump({"stats": stats, "categories": rows}, f, indent=1, ensure_ascii=False, default=str)
    with open(path_md, "w") as f:
        f.write(f"# difftest results\n\n`{json.dumps(stats)}`\n\n")
        for r in rows:
            f.write(f"## [{r['status']}] {r['category']}\n\ncases: {r['cases']}, occurrences: {r['occurrences']}, "
                    f"checks: {r['checks']}, first smallest example: {r['example']['case']}\n\n")
            m = r["minimal"] or {k: v for k, v in r["example"].items() if k not in ("default_text",)}
            if "minimal" in r and r["minimal"]:
                f.write(f"minimised from {r['minimal'].get('case')}\n\n")
            for k in ["check", "text", "input", "ours", "original", "original_error", "original_reprint",
                      "original_reprint_of_ours"]:
                if k in m and m[k] not in (None, ""):
                    f.write(f"{k}:\n```\n{m[k]}\n```\n")
            f.write("\n")
    return rows


# ---------------------------------------------------------------------------- main
PREFERRED_CHECKS = ["parse[default]", "print[serial]", "print[shapes]", "print[arrows]", "print[ocb]",
                    "print[arrows+ocb]", "reverse", "parse[shapes]", "parse[serial]", "parse[ocb]", "parse[arrows]",
                    "parse[arrows+ocb]"]


def minimise_all(res):
    minimised = {}
    for sig, info in res.cats.items():
        by = info.get("by_check", {})
        check = next((c for c in PREFERRED_CHECKS if c in by), None)
        if check is None:
            continue
        ex = by[check]
        try:
            if _own_text_variant(check):
                small = minimise(check, ex["text"], sig)
                inp = small
            else:
                small = minimise(check, ex["default_text"], sig)
                inp = variant_text(check, small)
            f = run_check(check, inp)
        except BaseException:  # noqa
            continue
        entry = {"check": check, "input": inp, "case": ex["case"]}
        if f is not None and f.sig == sig:
            entry.update(f.detail)
        else:
            entry = {k: v for k, v in ex.items() if k != "default_text"}
            entry["input"] = entry.pop("text")
        minimised[sig] = entry
    return minimised


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--circ", default=os.path.join(HERE, "..", "..", "target-difftest", "release", "circ"))
    ap.add_argument("--cases", type=int, default=2000, help="number of random circuits")
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument("--examples", default=os.path.join(HERE, "..", "..", "..", "shared", "format-examples", "cases"),
                    help="format-examples cases dir ('' to skip)")
    ap.add_argument("--workdir", default=None, help="scratch dir for tensor stores (default: a temp dir)")
    ap.add_argument("--out", default="target-difftest/difftest-out", help="directory for results.json / results.md")
    ap.add_argument("--no-minimise", action="store_true")
    ap.add_argument("--only-seed", type=int, default=None, help="run a single seed and print its findings")
    ap.add_argument("--show", nargs="+", default=None, metavar="FILE",
                    help="print the original's reprint and `circ fmt` of each .circ file (a reproducer viewer)")
    ap.add_argument("--variant", default="default", choices=list(VARIANTS),
                    help="with --show: the printer options to compare (e.g. shapes = circ fmt --shapes)")
    opts = ap.parse_args()

    workdir = opts.workdir or tempfile.mkdtemp(prefix="difftest-")
    try:
        code = run(opts, workdir)
    finally:
        if not opts.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(code)


def run(opts, workdir):
    if not os.path.exists(opts.circ):
        sys.exit(f"no circ binary at {opts.circ}: build it with "
                 "CARGO_TARGET_DIR=target-difftest cargo build --release -p circuit-cli, or use run.sh")
    setup(workdir, os.path.abspath(opts.circ))
    if opts.show:
        popts, flags = VARIANTS[opts.variant]
        for path in opts.show:
            text = open(path, encoding="utf-8").read().rstrip("\n")
            print(f"=== {path}\n--- input\n{text}")
            try:
                want = orig_print(orig_parse(text), popts)
                print(f"--- original (Parser()(text), PrintOptions({popts or ''}))\n{want}")
            except BaseException as e:  # noqa
                want = None
                print(f"--- original: error {short_err(e)}")
            code, got, err = ours(text, flags)
            print(f"--- ours (circ fmt {' '.join(flags)})\n" + (got if code == 0 else "error: " + err.strip()))
            print("--- " + ("SAME" if code == 0 and got == want else "DIFFERENT"))
        return 0
    sys.dont_write_bytecode = True
    sys.path.insert(0, HERE)
    import gen

    res = Result()
    stats = collections.Counter()
    t_start = time.time()
    seeds = [opts.only_seed] if opts.only_seed is not None else range(opts.seed, opts.seed + opts.cases)
    for i, seed in enumerate(seeds):
        with quiet_stderr():
            try:
                roots = gen.generate(seed, profile_for(seed))
            except BaseException as e:  # noqa
                if isinstance(e, KeyboardInterrupt):
                    raise
                stats["generator_errors"] += 1
                continue
        check_case(roots, f"seed:{seed}", res, stats)
        if (i + 1) % 100 == 0:
            print(f"{i + 1} circuits, {len(res.cats)} categories, {time.time() - t_start:.0f}s", file=sys.stderr)
    if opts.only_seed is not None:
        print(orig_print(roots))
        for sig, info in res.cats.items():
            print(f"--- [{info['status']}] {sig}\n" + json.dumps(info["example"], indent=1, ensure_ascii=False))
        return 0
    if opts.examples and os.path.isdir(opts.examples):
        run_examples(opts.examples, res, stats)
    minimised = {} if opts.no_minimise else minimise_all(res)
    os.makedirs(opts.out, exist_ok=True)
    stats["seconds"] = round(time.time() - t_start)
    rows = report(res, stats, minimised, os.path.join(opts.out, "results.json"), os.path.join(opts.out, "results.md"))
    print(f"\n{stats['cases']} circuits ({stats['texts']} printed texts), {stats['examples']} example inputs; "
          f"{len(rows)} categories")
    for r in rows:
        print(f"  [{r['status']}] {r['category']}: {r['cases']} cases, {r['occurrences']} occurrences")
    print(f"details: {os.path.join(opts.out, 'results.md')}")
    return 1 if any(r["status"] == "bug" for r in rows) else 0


def profile_for(seed):
    """Vary the generator per seed: some runs plain, some nasty, some with odd axis names."""
    k = seed % 10
    return {
        "nasty": k != 0,
        "odd_axes": k == 7,
        "named_axes": 0.4 if k in (3, 7) else 0.15,
        "sym": 0.3 if k == 5 else 0.12,
        "max_ops": 20 if k == 9 else 12,
    }


if __name__ == "__main__":
    main()
