"""Generate the committed opt_einsum oracle table (random_specs.txt) for circuit-einsum tests.

Not run at test time. Needs `pip install opt_einsum==3.4.0`.  For each random spec it records
  * opt_einsum 3.4.0's `optimal` path cost (as `contract_path` reports it),
  * opt_einsum 3.4.0's `dp` path cost,
  * opt_einsum 3.4.0's `greedy` path cost,
  * the exact optimum under the same cost model, found here by an independent exhaustive
    search over all contraction sequences (pairwise steps, plus one-operand steps that sum an
    input's private labels early), memoised on the set of current operands.
The cost model is contract_path's: a step contracting the operands with label union U costs
prod(size[U]) * (max(1, n_terms - 1) + (1 if any label of U is removed else 0)).

  * the exact optimum over pairwise steps only (no early one-operand reductions), the space
    opt_einsum's `optimal` searches.
Output line format (one spec a line, fields separated by ' '):
  EQUATION SIZES OE_OPTIMAL OE_DP OE_GREEDY EXACT EXACT_PAIRWISE
with SIZES as 'a=3;b=5' (sorted by label).  Usage: python3 gen_oracle.py > random_specs.txt
"""
import functools
import random
import sys

import opt_einsum as oe


def step_cost(labels, removed, n_terms, sizes):
    size = 1
    for l in labels:
        size *= sizes[l]
    return size * (max(1, n_terms - 1) + (1 if removed else 0))


def exact_optimum(inputs, output, sizes, reductions=True):
    """Exhaustive search over every contraction sequence (independent of the Rust DP).

    Moves: contract two current operands, or (with `reductions`) reduce a not-yet-contracted
    input over its private labels (labels in no other input and not in the output) with a
    one-operand step, as opt_einsum's `dp` does.  Memoised on the set of current operands.
    """
    leaves = [frozenset(x) for x in inputs]
    out = frozenset(output)
    n = len(leaves)
    if n == 0:
        return 0
    if n == 1:
        u = leaves[0]
        return step_cost(u, bool(u - out), 1, sizes)

    def private(i):
        others = set(out)
        for j, l in enumerate(leaves):
            if j != i:
                others |= l
        return leaves[i] - others

    def labels_of(group):
        s = frozenset()
        for i in group:
            s |= leaves[i]
        return s

    def keep_of(group):
        keep = set(out)
        for j in range(n):
            if j not in group:
                keep |= leaves[j]
        return labels_of(group) & keep

    # an operand is (group, labels): group = frozenset of leaf ids
    @functools.lru_cache(maxsize=None)
    def best(state):
        if len(state) == 1:
            return 0
        ops = sorted(state, key=lambda g: (sorted(g[0]), sorted(g[1])))
        result = None
        for x in range(len(ops)):
            g, labels = ops[x]
            if reductions and len(g) == 1 and labels == leaves[next(iter(g))]:
                p = private(next(iter(g)))
                if p:
                    c = step_cost(labels, True, 1, sizes)
                    rest = [o for k, o in enumerate(ops) if k != x]
                    total = c + best(frozenset(rest + [(g, labels - p)]))
                    if result is None or total < result:
                        result = total
            for y in range(x + 1, len(ops)):
                (ga, la), (gb, lb) = ops[x], ops[y]
                rest = [o for k, o in enumerate(ops) if k not in (x, y)]
                either = la | lb
                res = keep_of(ga | gb)
                c = step_cost(either, bool(either - res), 2, sizes)
                total = c + best(frozenset(rest + [(ga | gb, res)]))
                if result is None or total < result:
                    result = total
        return result

    return best(frozenset((frozenset([i]), leaves[i]) for i in range(n)))


def oe_cost(eq, shapes, optimize):
    _, info = oe.contract_path(eq, *shapes, shapes=True, optimize=optimize)
    return int(info.opt_cost)


def random_spec(rng):
    letters = "abcdef"
    n_ops = rng.randint(1, 6)
    n_labels = rng.randint(1, 6)
    pool = letters[:n_labels]
    sizes = {l: rng.randint(1, 8) for l in pool}
    inputs = []
    for _ in range(n_ops):
        k = rng.randint(0, 4)
        term = "".join(rng.choice(pool) for _ in range(k))
        inputs.append(term)
    used = sorted(set("".join(inputs)))
    out = [l for l in used if rng.random() < 0.35]
    rng.shuffle(out)
    eq = ",".join(inputs) + "->" + "".join(out)
    sizes = {l: sizes[l] for l in used}
    return eq, inputs, out, sizes


def main():
    rng = random.Random(20251122)
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    done = 0
    while done < count:
        eq, inputs, out, sizes = random_spec(rng)
        if len(inputs) < 3 and done % 4 != 0:
            continue  # keep the table focused on specs with a real choice
        shapes = [tuple(sizes[c] for c in term) for term in inputs]
        exact = exact_optimum(inputs, out, sizes)
        row = [
            eq,
            ";".join(f"{l}={sizes[l]}" for l in sorted(sizes)) or "-",
            str(oe_cost(eq, shapes, "optimal")),
            str(oe_cost(eq, shapes, "dp")),
            str(oe_cost(eq, shapes, "greedy")),
            str(exact),
            str(exact_optimum(inputs, out, sizes, reductions=False)),
        ]
        print(" ".join(row))
        done += 1


if __name__ == "__main__":
    main()
