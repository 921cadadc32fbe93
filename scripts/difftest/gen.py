"""Random circuit generator built on the ORIGINAL rust_circuit Python API.

Used only by `difftest.py` (a development aid; rust_circuit is never a dependency of the
project). Everything is derived from one `random.Random(seed)`, so a seed reproduces its
circuits exactly (uuids and tensors included).
"""
import math
import uuid

import rust_circuit as rc
import torch

SYM = rc.symbolic_sizes()

# Names: plain, shared (forcing serial numbers), and nasty ones that stress quoting,
# comments, `!` bindings, the `AD` marker, tree characters and unicode.
PLAIN_NAMES = ["a", "b", "x1", "w.q", "layer.0.attn", "mlp_out", "emb", "θ", "resid"]
SHARED_NAMES = ["dup", "dup", "1", "0", "hi"]
NASTY_NAMES = [
    "", " ", "a b", "  lead", "trail  ", "#", "# 43", "a#b", "a # b", "!", "a ! b", "a!b",
    "a'b", "'", "''", "\\", "a\\", "\\'", "' ", "a' b", "x' #y", "x'!", "x' ! y", "x'#",
    "AD", "'AD'", "1", "007", "[2]", "[2] Scalar 1", "Scalar", "Add", "▼", "|/", "│ x",
    "├‣y", "a\tb", "\t", "ünï", "→", "'quoted'", "a''b", "\\\\'", "end\\\\", "a\\' b",
    "a:b", "a [3]", "  ", "x ' y", "'#'", "q'' ", "a\\'", "t0", "fancy:", "->",
]
AXIS_NAMES = ["batch", "seq", "d", "h", "x", "y", "a", "b", "c", "pos", "d_model", "head.0", "é"]
ODD_AXIS_NAMES = ["a,b", "", "1", "a#b", "a'b", "a!b", "a\\b", "b-c"]

GF_SIMPLE = [
    "sin", "cos", "sigmoid", "tanh", "rsqrt", "gelu", "gelu_new", "relu", "step",
    "reciprocal", "log_exp_p_1", "gaussian_pdf", "gaussian_cdf", "softmax", "log_softmax",
    "min", "max", "last_dim_size", "abs", "exp", "log", "logit",
]

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class Gen:
    def __init__(self, rng, profile):
        self.r = rng
        self.p = profile
        self.pool = []
        self.tensors = []  # torch tensors used (Arrays and index tensors)

    # ------------------------------------------------------------------ helpers
    def uuid(self):
        return uuid.UUID(int=self.r.getrandbits(128), version=4)

    def name(self):
        r = self.r.random()
        if r < 0.35:
            return None
        if r < 0.6:
            return self.r.choice(PLAIN_NAMES) + ("" if self.r.random() < 0.5 else str(self.r.randrange(100)))
        if r < 0.75:
            return self.r.choice(SHARED_NAMES)
        return self.r.choice(NASTY_NAMES) if self.p.get("nasty", True) else self.r.choice(PLAIN_NAMES)

    def dim(self, symbolic_ok):
        if symbolic_ok and self.r.random() < self.p.get("sym", 0.12):
            k = self.r.randrange(4)
            f = self.r.choice([1, 1, 1, 2, 3])
            if self.r.random() < 0.1:
                return SYM[k] * SYM[(k + 1) % 4]
            return f * SYM[k]
        return self.r.choice([1, 2, 2, 3, 3, 4, 5])

    def shape(self, symbolic_ok=True, rank=None):
        if rank is None:
            rank = self.r.choice([0, 1, 1, 2, 2, 2, 3, 3, 4])
        return tuple(self.dim(symbolic_ok) for _ in range(rank))

    def number(self):
        r = self.r.random()
        if r < 0.4:
            return float(self.r.randrange(-5, 10))
        if r < 0.7:
            return round(self.r.uniform(-3, 3), self.r.randrange(1, 6))
        return self.r.choice(
            [0.1, 1 / 3, 1e-7, 1e20, 1e-20, 123456789.0, -0.0, 2.5e-5, 0.017857142857142856,
             float("inf"), float("-inf"), float("nan"), 1e16, 1.5e300, 5e-324, 0.3]
        )

    def tensor(self, shape, dtype):
        n = math.prod(shape)
        if dtype == torch.int64:
            vals = [self.r.randrange(-3, 4) for _ in range(n)]
        else:
            vals = [round(self.r.gauss(0, 1), 4) for _ in range(n)]
        t = torch.tensor(vals, dtype=dtype).reshape(shape)
        self.tensors.append(t)
        return t

    def pick(self, pred=None):
        cands = [c for c in self.pool if pred is None or pred(c)]
        if not cands:
            return None
        # prefer recent nodes (depth), sometimes old ones (sharing)
        if self.r.random() < 0.6:
            return cands[-1 - min(int(self.r.expovariate(0.7)), len(cands) - 1)]
        return self.r.choice(cands)

    @staticmethod
    def is_concrete(c):
        return all(d < SYM[0] for d in c.shape)

    # ------------------------------------------------------------------ leaves
    def scalar(self):
        return rc.Scalar(self.number(), self.shape(), name=self.name())

    def symbol(self):
        s = self.shape()
        r = self.r.random()
        if r < 0.15:
            return rc.Symbol.new_with_none_uuid(s, name=self.name())
        return rc.Symbol(s, self.uuid(), name=self.name())

    def array(self):
        s = self.shape(symbolic_ok=False, rank=self.r.choice([0, 1, 1, 2, 2, 3]))
        r = self.r.random()
        dt = torch.float64 if r < 0.1 else torch.float16 if r < 0.14 else torch.int64 if r < 0.18 else torch.float32
        return rc.Array(self.tensor(s, dt), name=self.name())

    # ------------------------------------------------------------------ inner nodes
    def einsum(self):
        n = self.r.choice([1, 1, 2, 2, 2, 3])
        ops = [self.pick() for _ in range(n)]
        if any(o is None for o in ops) or sum(o.rank for o in ops) > 10:
            return None
        size_of = {}
        axes = []
        high = self.r.random() < 0.1  # sparse high labels (still <= 75)
        next_label = [0]

        def fresh(size):
            if high:
                while True:
                    l = self.r.randrange(76)
                    if l not in size_of:
                        break
            else:
                l = next_label[0]
                next_label[0] += 1
            size_of[l] = size
            return l

        for o in ops:
            ax = []
            for d in o.shape:
                same = [l for l, s in size_of.items() if s == d and l not in ax]
                if same and self.r.random() < 0.5:
                    ax.append(self.r.choice(same))
                else:
                    ax.append(fresh(d))
            axes.append(tuple(ax))
        labels = list(size_of)
        self.r.shuffle(labels)
        out = tuple(labels[: self.r.randrange(len(labels) + 1)])
        return rc.Einsum(*zip(ops, axes), out_axes=out, name=self.name())

    def add(self):
        n = self.r.choice([1, 2, 2, 3])
        first = self.pick()
        if first is None:
            return None
        ops = [first]
        for _ in range(n - 1):
            o = self.pick()
            try:
                rc.broadcast_shapes(*[x.shape for x in ops], o.shape)
                ops.append(o)
            except Exception:
                ops.append(rc.Scalar(self.number(), first.shape[self.r.randrange(first.rank + 1):], name=self.name()))
        return rc.Add(*ops, name=self.name())

    def rearrange(self):
        c = self.pick()
        if c is None:
            return None
        letters = list(LETTERS)
        self.r.shuffle(letters)
        toks_in, ints = [], []
        li = 0
        for d in c.shape:
            if d in (4, 6) and self.r.random() < 0.4:  # split a dim
                a, b = letters[li], letters[li + 1]
                li += 2
                toks_in.append(f"({a}:2 {b})")
                ints += [a, b]
            elif d == 1 and self.r.random() < 0.3:
                toks_in.append("()")
            else:
                a = letters[li]
                li += 1
                toks_in.append(a + (f":{d}" if self.r.random() < 0.2 and d < SYM[0] else ""))
                ints.append(a)
        self.r.shuffle(ints)
        out = []
        i = 0
        while i < len(ints):
            if i + 1 < len(ints) and self.r.random() < 0.25:
                out.append(f"({ints[i]} {ints[i + 1]})")
                i += 2
            else:
                out.append(ints[i])
                i += 1
        for _ in range(self.r.choice([0, 0, 0, 1])):
            out.insert(self.r.randrange(len(out) + 1), self.r.choice(["2", "()", "3", "1s"]))
        spec = " ".join(toks_in) + " -> " + " ".join(out)
        return rc.Rearrange.from_string(c, spec, name=self.name())

    def index_entry(self, d, allow_tensor):
        r = self.r.random()
        if d >= SYM[0]:
            return slice(None, None)
        if r < 0.3:
            return self.r.randrange(-d, d)
        if r < 0.75 or not allow_tensor:
            a = self.r.choice([None, 0, self.r.randrange(-d, d)])
            b = self.r.choice([None, d, self.r.randrange(-d, d + 1)])
            return slice(a, b)
        n = self.r.randrange(1, 5)
        t = torch.tensor([self.r.randrange(-d, d) for _ in range(n)], dtype=torch.int64)
        self.tensors.append(t)
        return t

    def index(self):
        c = self.pick(lambda c: c.rank > 0)
        if c is None:
            return None
        k = self.r.randrange(1, c.rank + 1)
        idx = [self.index_entry(d, self.p.get("tensors", True)) for d in c.shape[:k]]
        return rc.Index(c, idx, name=self.name())

    def scatter(self):
        c = self.pick(lambda c: c.rank > 0 and self.is_concrete(c))
        if c is None:
            return None
        idx, shape = [], []
        for d in c.shape:
            extra = self.r.randrange(3)
            start = self.r.randrange(extra + 1)
            idx.append(slice(start, start + d))
            shape.append(d + extra)
        return rc.Scatter(c, idx, tuple(shape), name=self.name())

    def concat(self):
        c = self.pick(lambda c: c.rank > 0)
        if c is None:
            return None
        axis = self.r.randrange(c.rank)
        others = [
            o for o in self.pool
            if o.rank == c.rank and all(a == b for i, (a, b) in enumerate(zip(o.shape, c.shape)) if i != axis)
        ]
        ops = [c] + [self.r.choice(others) for _ in range(self.r.randrange(3))]
        ax = axis - c.rank if self.r.random() < 0.3 else axis
        return rc.Concat(*ops, axis=ax, name=self.name())

    def general_function(self):
        r = self.r.random()
        c = self.pick()
        if c is None:
            return None
        if r < 0.6:
            return rc.GeneralFunction.new_by_name(c, spec_name=self.r.choice(GF_SIMPLE), name=self.name())
        if r < 0.7:
            e = self.pick(lambda o: len(o.shape) <= len(c.shape))
            return rc.pow(c, e, name=self.name())
        if r < 0.8 and c.rank >= 1:
            idx = rc.Scalar(0.0, c.shape[:-1] if self.r.random() < 0.5 else (2,), name=self.name())
            bx = idx.rank == c.rank - 1
            return rc.GeneralFunction.gen_index(
                c, idx, -1, batch_x=not bx, batch_index=bx, check_index_ints=self.r.random() < 0.5,
                name=self.name())
        if r < 0.85 and c.rank >= 1:
            idx = rc.Scalar(0.0, (2,), name=self.name())
            return rc.GeneralFunction.explicit_index(c, idx, 0, c.rank, check_index_ints=self.r.random() < 0.5,
                                                     name=self.name())
        if r < 0.93:
            dts = [None, None, "float32", "float32", "float64", "float16", "int64"]
            devs = [None, "cpu"]
            inp = rc.TorchDeviceDtypeOp(device=self.r.choice(devs), dtype=self.r.choice(dts))
            out = rc.TorchDeviceDtypeOp(device=self.r.choice(devs), dtype=self.r.choice(dts))
            return rc.GeneralFunction.new_cast(c, inp, out, name=self.name())
        if c.rank >= 1:
            seed = rc.Scalar(0.0, c.shape[:-1], name=self.name())
            return rc.multinomial(c, seed, tuple(self.r.randrange(1, 4) for _ in range(self.r.randrange(3))),
                                  replacement=self.r.random() < 0.5, name=self.name())
        return None

    def module(self):
        n = self.r.choice([1, 1, 2])
        syms, args = [], []
        for _ in range(n):
            a = self.pick(lambda c: c.rank <= 3)
            if a is None:
                return None
            # the symbol's shape: a's shape, some dims symbolic, maybe without batch dims
            batch = self.r.randrange(a.rank + 1) if self.r.random() < 0.3 else 0
            sshape = tuple(
                (SYM[self.r.randrange(4)] if self.r.random() < 0.3 else d) for d in a.shape[batch:]
            )
            sym = rc.Symbol(sshape, self.uuid(), name=self.r.choice(
                [f"arg{len(syms)}", f"m.in{self.r.randrange(9)}", None, self.name() or "s"]))
            if sym.name in [s.name for s, _ in syms]:
                sym = sym.rename(sym.name + "_")
            if self.r.random() < 0.1:
                sym = sym.with_autoname_disabled()
            flags = (True, True, True)
            if self.r.random() < 0.4:
                flags = (batch > 0 or self.r.random() < 0.5, True, self.r.random() < 0.5)
                if sshape != a.shape[batch:]:
                    flags = (flags[0], True, False)
            syms.append((sym, flags))
            args.append(a)
        s = [x for x, _ in syms]
        r = self.r.random()
        if r < 0.4 and all(x.rank >= 1 for x in s):
            body = rc.Einsum(*[(x, tuple(range(10 * i, 10 * i + x.rank))) for i, x in enumerate(s)],
                             out_axes=(0,), name=self.name())
        elif r < 0.7:
            body = rc.Add(*[rc.Einsum((x, tuple(range(x.rank))), out_axes=()) for x in s], name=self.name())
        else:
            body = rc.Cumulant(*s, name=self.name())
        if self.r.random() < 0.15:
            body = body.with_autoname_disabled()
        specs = [rc.ModuleArgSpec(x, *f) for x, f in syms]
        spec = rc.ModuleSpec(body, specs, check_all_inputs_used=True, check_unique_arg_names=False)
        return rc.Module.new_flat(spec, *args, name=self.name())

    def tag(self):
        c = self.pick()
        return None if c is None else rc.Tag(c, self.uuid(), name=self.name())

    def discrete_var(self):
        c = self.pick(lambda c: c.rank >= 1 and c.shape[0] < SYM[0])
        if c is None:
            return None
        probs = rc.Tag(rc.Scalar(1.0 / c.shape[0], (c.shape[0],), name=self.name()), self.uuid(),
                       name=self.name())
        return rc.DiscreteVar(c, probs, name=self.name())

    def cumulant(self):
        ops = [self.pick() for _ in range(self.r.choice([0, 1, 1, 2, 3]))]
        if any(o is None for o in ops):
            return None
        return rc.Cumulant(*ops, name=self.name())

    def stored_cumulant_var(self):
        s = self.shape(rank=self.r.choice([0, 1, 1, 2]))
        cums = {1: rc.Scalar(self.number(), s, name=self.name()), 2: rc.Scalar(1.0, s + s, name=self.name())}
        if self.r.random() < 0.3:
            cums[4] = rc.Scalar(0.5, s * 4, name=self.name())
        return rc.StoredCumulantVar(cums, self.uuid(), name=self.name())

    def set_symbolic_shape(self):
        c = self.pick(lambda c: c.rank >= 1)
        if c is None:
            return None
        new = tuple((SYM[self.r.randrange(4)] if (d < SYM[0] and self.r.random() < 0.5) else d) for d in c.shape)
        return rc.SetSymbolicShape(c, new, name=self.name())

    # ------------------------------------------------------------------ decorations
    def decorate(self, c):
        r = self.r.random()
        if r < 0.06:
            c = c.with_autoname_disabled()
        elif r < 0.12:
            c = c.rename(self.name())
        if c.rank >= 1 and self.r.random() < self.p.get("named_axes", 0.15):
            pool = AXIS_NAMES + (ODD_AXIS_NAMES if self.p.get("odd_axes") else [])
            axes = {}
            for i in range(c.rank):
                if self.r.random() < 0.7:
                    axes[i] = self.r.choice(pool)
            try:
                c = c.rename_axes(axes)
            except Exception:
                pass
        return c

    KINDS = [
        ("scalar", 10), ("symbol", 5), ("array", 4), ("einsum", 10), ("add", 7), ("rearrange", 6),
        ("index", 6), ("scatter", 3), ("concat", 4), ("general_function", 7), ("module", 4),
        ("tag", 2), ("discrete_var", 2), ("cumulant", 2), ("stored_cumulant_var", 1),
        ("set_symbolic_shape", 2),
    ]

    def generate(self):
        n_ops = self.r.randrange(2, self.p.get("max_ops", 12))
        for _ in range(3):
            self.pool.append(self.decorate(self.r.choice([self.scalar, self.symbol, self.array])()))
        kinds = [k for k, _ in self.KINDS]
        weights = [w for _, w in self.KINDS]
        for _ in range(n_ops):
            k = self.r.choices(kinds, weights)[0]
            try:
                c = getattr(self, k)()
            except (Exception, BaseException) as e:  # pyo3 panics are BaseExceptions
                if isinstance(e, KeyboardInterrupt):
                    raise
                c = None
            if c is not None:
                self.pool.append(self.decorate(c))
        roots = [self.pool[-1]]
        for _ in range(self.r.choice([0, 0, 0, 1, 2])):
            roots.append(self.r.choice(self.pool))
        return roots


def generate(seed, profile):
    import random

    g = Gen(random.Random(seed), profile)
    roots = g.generate()
    return roots
