"""From case records to cells: one verdict per (framework, function, feature).

A case exercises several features at once (a NaN case has padding too), so a failing
case is put down to its features that no agreeing case shares (of those, the ones most
failing cases share); when every feature it has also agrees elsewhere (a combination),
to those with the lowest share of agreeing cases. This is done output by output: a wrong
output that a pervasive convention explains (float32 arithmetic, a float32 parameter)
goes to that convention's own feature, a wrong running statistic to its "... compared"
feature. A refusal is put down to its features that no case which ran shares; a refusal
of features that each ran elsewhere is a refused combination. A cell is then:

  differs      some case of the feature fails and is put down to it; the convention is
               the diagnosis most of those cases share (None: no known convention
               explains it), with the largest error among them
  refuses      every case of the feature was refused, or a refusal is put down to it
  agrees       otherwise, when at least one of its cases agreed; refusals of it only in
               combination with another feature are kept as a note
  not defined  the framework does not define the function
  not run      its cases were cut by the function's deadline (or none was drawn)

Example: a max pool that ignores NaN fails exactly its NaN cases; their other features
(padding>0, ...) agree in other cases, so only the "NaN" cell differs, convention
"NaN ignored (torch: a NaN in the window is the maximum)".
"""
from __future__ import annotations

from collections import Counter

from cnnref.verification.check.diagnose import ROUNDED, ROUNDED_COMPLEMENT
from cnnref.verification.matrix.cases import FLOAT_PARAMETERS
from cnnref.verification.mutants.conv import FLOAT32

FLOAT32_ONLY = "float32 only (the framework documents no float64 kernel)"
HUNG = "hung or crashed"

# Conventions that touch every case they can (each float64 case, each float argument):
# a case they explain is put down to their own feature, and counts as agreeing for its
# other features, so that one pervasive convention does not paint the whole column.
PERVASIVE = {FLOAT32: "float64", ROUNDED: FLOAT_PARAMETERS,
             ROUNDED_COMPLEMENT: FLOAT_PARAMETERS}


def tensor_conventions(record: dict) -> dict:
    """{wrong output: its explanation or None}: the first mistake of the diagnosis that
    explains that output (complete explanations come first)."""
    explains = record.get("explains")
    if explains is None:       # a record without per-output explanations (a lost unit)
        first = (record.get("conventions") or [None])[0]
        return {t: first for t in record.get("wrong") or ["out"]}
    return {t: (explains.get(t) or [None])[0] for t in record.get("wrong") or ["out"]}


def explained_by(record: dict) -> str | None:
    """The pervasive convention that explains every wrong output of a failing case, if
    one does (the first, when float32 and a rounded parameter share the outputs)."""
    if record["status"] != "differs":
        return None
    found = set(tensor_conventions(record).values())
    return next((c for c in PERVASIVE if c in found), None) \
        if found and found <= set(PERVASIVE) else None


def short(convention: str) -> str:
    return convention.split(" (")[0]


def _share(records: list, feature: str, status: str) -> float:
    mine = [r for r in records if feature in r["features"]]
    hits = sum(r["status"] == status or (status == "agrees" and bool(explained_by(r)))
               for r in mine)
    return hits / len(mine) if mine else 0.0


def blame_outputs(record: dict, records: list) -> dict:
    """{feature: (convention, [outputs])} a failing case is put down to, output by
    output: an output a pervasive convention explains goes to that convention's feature,
    a wrong running statistic to its "... compared" feature, any other to the case's own
    features (see the module docstring). Batch norm's worked example with eps stored in
    float32 and a biased running_var blames "float parameters" (out, running_mean) and
    "running_var compared" (running_var)."""
    out: dict = {}
    rest = []
    for tensor, convention in tensor_conventions(record).items():
        if convention in PERVASIVE:
            feature = PERVASIVE[convention]
        elif f"{tensor} compared" in record["features"]:
            feature = f"{tensor} compared"
        else:
            rest.append((tensor, convention))
            continue
        out.setdefault(feature, (convention, []))[1].append(tensor)
    if rest:
        for f in _blame_features(record, records, rest[0][1]):
            out.setdefault(f, (rest[0][1], []))[1].extend(t for t, _ in rest)
    return out


def _error(record: dict, tensors: list) -> float | None:
    """The largest |error| among these outputs of a failing case (the record's own when
    it has no per-output errors)."""
    errors = record.get("errors") or {}
    found = [errors[t] for t in tensors if errors.get(t) is not None]
    return max(found) if found else record.get("max_error")


def blame(record: dict, records: list) -> list:
    """The features a failing or refused case is put down to (see the module docstring)."""
    if record["status"] == "differs":
        return list(blame_outputs(record, records))
    return _blame_features(record, records)


def _same_cause(record: dict, records: list, convention: str | None) -> list:
    """The features every failing case explained by the same named convention shares
    (the record's own features when the convention is unnamed): one named mistake is
    one cause, so its cases are put down to what they have in common. Paddle's rescaled
    divisor_override fails cases with padding pairs in one draw and stride pairs in
    another; what they share is divisor_override."""
    if convention is None:
        return list(record["features"])
    group = [r for r in records if r["status"] == "differs"
             and convention in tensor_conventions(r).values()]
    common = set.intersection(*(set(r["features"]) for r in group))
    return [f for f in record["features"] if f in common] or list(record["features"])


def _blame_features(record: dict, records: list, convention: str | None = None) -> list:
    good = "agrees" if record["status"] == "differs" else None
    ran = [r for r in records if r["status"] in ("agrees", "differs")]
    pool = [r for r in records if r["status"] == "agrees" or explained_by(r)] if good \
        else ran
    covered = {f for r in pool for f in r["features"]}
    alone = [f for f in record["features"] if f not in covered]
    if not good:               # a refusal only in combination blames no single feature
        return _widest(alone, record, records)
    candidates = _same_cause(record, records, convention)
    shared = [f for f in alone if f in candidates]
    if shared or alone:
        return _widest(shared or alone, record, records)
    shares = {f: _share(records, f, "agrees") for f in candidates}
    low = min(shares.values(), default=0.0)
    return [f for f, v in shares.items() if v == low]


def _widest(alone: list, record: dict, records: list) -> list:
    """Of the features a case alone could be blamed on, those most failing cases of the
    same status share: a leaky ReLU whose one failing |x| = 1000 case also holds a 0,
    like every other failing case, is put down to "x == 0", not to "|x| >= 30"."""
    peers = [r for r in records if r["status"] == record["status"] and not explained_by(r)]
    counts = {f: sum(f in r["features"] for r in peers) for f in alone}
    top = max(counts.values(), default=0)
    return [f for f in alone if counts[f] == top]


def _smallest(records: list) -> dict:
    return min(records, key=lambda r: (r.get("size", 0), r.get("label", "")))


def _convention(failing: list, feature: str, blamed: dict) -> str | None:
    if any(r.get("kind") in ("timeout", "crashed") for r in failing):
        return HUNG
    votes = Counter(blamed[id(r)][feature][0] for r in failing
                    if blamed[id(r)][feature][0])
    return votes.most_common(1)[0][0] if votes else None


def _cell(feature: str, records: list, blamed: dict) -> dict:
    mine = [r for r in records if feature in r["features"]]
    failing = [r for r in mine if r["status"] == "differs" and feature in blamed[id(r)]]
    refused = [r for r in mine if r["status"] == "refuses"]
    if failing:
        errors = [e for r in failing
                  if (e := _error(r, blamed[id(r)][feature][1])) is not None]
        return {"verdict": "differs", "convention": _convention(failing, feature, blamed),
                "max_error": max(errors) if errors else None, "case": _smallest(failing),
                "cases": len(mine), "failing": len(failing)}
    ran = [r for r in mine if r["status"] in ("agrees", "differs")]
    if refused and (not ran or any(feature in blamed[id(r)] for r in refused)):
        return {"verdict": "refuses", "convention": None, "max_error": None,
                "case": _smallest(refused), "cases": len(mine), "failing": len(refused)}
    if ran:
        cell = {"verdict": "agrees", "convention": None, "max_error": None, "case": None,
                "cases": len(mine), "failing": 0}
        combined = [r for r in refused if not blamed[id(r)]]
        notes = [f"{len(combined)} case(s) refused in combination with other features"] \
            if combined else []
        up_to = Counter(short(explained_by(r)) for r in mine if explained_by(r))
        notes += [f"{n} case(s) agree only up to: {c}" for c, n in up_to.items()]
        if notes:
            cell["note"] = "; ".join(notes)
        return cell
    return {"verdict": "not run", "convention": None, "max_error": None, "case": None,
            "cases": len(mine), "failing": 0}


def function_cells(records: list, float32_only: bool = False) -> dict:
    """{feature: cell} of one function from its case records."""
    if records and all(r["status"] == "not defined" for r in records):
        return {"(function)": {"verdict": "not defined", "convention": None,
                               "max_error": None, "case": None, "cases": 0, "failing": 0}}
    blamed = {id(r): blame_outputs(r, records) if r["status"] == "differs"
              else dict.fromkeys(blame(r, records), (None, [])) for r in records
              if r["status"] in ("differs", "refuses")}
    features = sorted({f for r in records for f in r.get("features", ())})
    cells = {f: _cell(f, records, blamed) for f in features}
    if float32_only:
        cells["float64"] = {"verdict": "refuses", "convention": FLOAT32_ONLY,
                            "max_error": None, "case": None, "cases": 0, "failing": 0}
    return cells
