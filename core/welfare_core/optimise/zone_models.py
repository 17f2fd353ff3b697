r"""Location and capacity models over the canonical tables (the model-level drivers).

The doors (SQL ``welfare.optimise_locations`` / ``welfare.allocate_capacity``,
QGIS ``welfare:optimise_locations`` / ``welfare:allocate_capacity``) call
:func:`optimise_locations` and :func:`allocate_capacity_plan`. The inputs are
built as in :mod:`welfare_core.zone_access`:

* **demand points** i: the finest zones carrying demand in the period (one
  point each, :func:`welfare_core.zone_access.zone_points`), weight
  :math:`w_i = \sum_t \text{share}(s, t)\, D_{it}` over the targets t the
  service type s serves (its ``service_target`` shares);
* **sites** j: the facilities of the type active in the period (existing,
  always open, capacity from the table) followed by the candidate sites for
  the type or for any type (``candidate_site.service_type_id`` NULL),
  capacity ``max_capacity``;
* **costs**: planar metres between points, minutes at the type's travel
  speed when its ``cost_unit`` is ``min``; ``max_cost`` defaults to the
  type's.

``new_sites`` counts the candidates to open: the classic models get
:math:`p = \#\text{existing} + \text{new\_sites}` with the existing sites
predefined. Results come back as three DataFrames (sites, allocation,
summary) with the columns listed in :data:`SITE_COLUMNS`,
:data:`ALLOCATION_COLUMNS` and :data:`SUMMARY_KEYS`.
"""
from __future__ import annotations

import numpy as np

from .. import costs as costs_mod
from ..errors import InputError
from .. import zone_access as za
from . import classic, welfare_models

MODELS = ("mclp", "p_median", "p_center", "equity")

SITE_COLUMNS = ("site_id", "kind", "name", "chosen", "x", "y", "capacity", "added_capacity",
                "demand_served", "n_points")
ALLOCATION_COLUMNS = ("zone_id", "site_id", "demand", "cost", "share")
SUMMARY_KEYS = ("model", "service_type_id", "period", "existing_sites", "new_sites", "p",
                "max_cost", "cost_unit", "total_demand", "covered_before", "covered_after",
                "coverage_pct_before", "coverage_pct_after", "mean_cost_before", "mean_cost_after",
                "unmet_before", "unmet_after", "budget", "spend", "objective", "bound", "gap",
                "status", "solver", "seconds")


def _inputs(tables, service_type_id, period, max_cost, candidates, candidate_municipality=None, facilities=True):
    if period is None:
        raise InputError("period is required", hint="e.g. 2023")
    period = int(period)
    stype = za._service_type(tables["service_type"], service_type_id)
    cutoff = costs_mod.check_max_cost(stype["max_cost"] if max_cost is None else max_cost)
    shares = tables["service_target"]
    shares = shares[shares["service_type_id"] == service_type_id]
    if shares.empty:
        raise InputError(f"service type {service_type_id!r} serves no target",
                         hint="add its targets and shares to service_target")
    target_ids = sorted(shares["target_id"].astype(str))
    share = shares.set_index("target_id")["share"].astype(float).reindex(target_ids).to_numpy()
    zone = tables["zone"]
    origins, demand = za._origins(zone, tables["demand"], target_ids, period)
    weights = demand @ share
    o_xy = za.zone_points(zone.set_index("zone_id").loc[origins, "geometry"].tolist())
    fac = tables["facility"]
    fac = fac[fac["service_type_id"] == service_type_id]
    if len(fac):
        start, stop = fac["active_from"].astype(float), fac["active_to"].astype(float)
        fac = fac[((start.isna() | (start <= period)) & (stop.isna() | (stop >= period))).to_numpy()]
    cand = tables.get("candidate_site")
    if candidates and cand is not None and len(cand):
        st = cand["service_type_id"]
        cand = cand[(st.isna() | (st == service_type_id)).to_numpy()]
        if candidate_municipality is not None:
            if "municipality_code" not in cand:
                raise InputError("candidate_municipality: the candidate sites carry no municipality_code",
                                 hint="load candidate_site with its municipality_code column")
            cand = cand[(cand["municipality_code"].astype(str) == str(candidate_municipality)).to_numpy()]
    else:
        cand = None if not candidates else (cand.iloc[0:0] if cand is not None else None)
    ids = fac["facility_id"].astype(str).tolist()
    munis = fac["municipality_code"].astype(str).tolist() if "municipality_code" in fac else [None] * len(fac)
    names = fac["name"].astype(str).tolist() if "name" in fac else [None] * len(fac)
    cap = fac["capacity"].to_numpy(dtype=float).tolist()
    geoms = fac["geometry"].tolist()
    kinds = ["existing"] * len(fac)
    if cand is not None and len(cand):
        ids += cand["site_id"].astype(str).tolist()
        munis += cand["municipality_code"].astype(str).tolist() if "municipality_code" in cand else [None] * len(cand)
        names += cand["name"].astype(str).tolist() if "name" in cand else [None] * len(cand)
        cap += cand["max_capacity"].to_numpy(dtype=float).tolist()
        geoms += cand["geometry"].tolist()
        kinds += ["candidate"] * len(cand)
    if not ids:
        raise InputError(f"no facility of type {service_type_id!r} is active in {period} and no candidate site suits it",
                         hint="add candidate sites (candidate_site) for this type or for any type")
    s_xy = za.zone_points(geoms)
    return dict(stype=stype, cutoff=cutoff, origins=origins, weights=weights, o_xy=o_xy, s_xy=s_xy,
                ids=ids, names=names, capacity=np.asarray(cap, dtype=float), kinds=np.asarray(kinds),
                municipality=np.asarray(munis, dtype=object),
                n_existing=len(fac), cost_unit=stype["cost_unit"], mode=stype["travel_mode"],
                period=period)


def _costs(inp, limit):
    """Costs origin -> site within ``limit`` (in the type's unit); ``None`` = every pair."""
    unit, mode = inp["cost_unit"], inp["mode"]
    if limit is None:
        d = np.hypot(inp["o_xy"][:, None, 0] - inp["s_xy"][None, :, 0], inp["o_xy"][:, None, 1] - inp["s_xy"][None, :, 1])
        return d if unit == "m" else costs_mod.travel_time(d, mode)
    metres = limit if unit == "m" else limit * za._metres_per_minute(mode)
    cm = costs_mod.euclidean(inp["o_xy"], inp["s_xy"], metres)
    if unit == "min":
        cm = costs_mod.travel_time(cm, mode).within(limit)
    return cm


def _before_after(dense, w, cutoff, open_before, open_after):
    out = {}
    total = float(w.sum())
    for tag, is_open in (("before", open_before), ("after", open_after)):
        if not is_open.any():
            out[f"covered_{tag}"], out[f"coverage_pct_{tag}"], out[f"mean_cost_{tag}"] = 0.0, 0.0 if total else None, None
            continue
        near = dense[:, is_open].min(axis=1)
        cov = float(w[near <= cutoff].sum())
        out[f"covered_{tag}"] = cov
        out[f"coverage_pct_{tag}"] = 100.0 * cov / total if total > 0 else None
        out[f"mean_cost_{tag}"] = float(w @ near / total) if total > 0 and np.isfinite(near).all() else None
    return out


def optimise_locations(tables, service_type_id, period, model="mclp", new_sites=1, *, max_cost=None,
                       capacitated=False, groups_level=None, time_limit=None, progress=None,
                       candidate_municipality=None):
    """Where to open ``new_sites`` candidate sites of a service type, existing facilities kept open.

    model: ``mclp`` (most demand within ``max_cost``), ``p_median`` (least
    total demand-weighted cost), ``p_center`` (least worst cost) or
    ``equity`` (least worst zone coverage gap; the zones are the demand points,
    or with ``groups_level`` their ancestors at that level, e.g. ``neighbourhood``:
    the worst neighbourhood's uncovered share is minimised).
    ``capacitated``: capacities of facilities and candidates limit the served
    demand (MCLP, p-median and equity). Returns ``(sites, allocation, summary)``:
    two DataFrames and a dict with :data:`SUMMARY_KEYS`.
    """
    report = progress
    if model not in MODELS:
        raise InputError(f"unknown model {model!r}", hint=f"use one of {', '.join(MODELS)}")
    if isinstance(new_sites, bool) or new_sites is None or not float(new_sites).is_integer() or int(new_sites) < 0:
        raise InputError(f"new_sites: must be a whole number >= 0, got {new_sites!r}")
    new_sites = int(new_sites)
    inp = _inputs(tables, service_type_id, period, max_cost, True, candidate_municipality)
    n_exist, m = inp["n_existing"], len(inp["ids"])
    if new_sites > m - n_exist:
        where = "" if candidate_municipality is None else f" in municipality {candidate_municipality!r}"
        raise InputError(f"new_sites: {new_sites} new sites asked but only {m - n_exist} candidate sites{where} "
                         f"suit service type {service_type_id!r}",
                         hint="lower new_sites, add candidate sites" +
                         ("" if candidate_municipality is None else " or drop candidate_municipality"))
    if new_sites == 0 and n_exist == 0:
        raise InputError("new_sites: must be at least 1 when no facility of the type exists")
    groups = _groups(tables["zone"], inp["origins"], groups_level, model)
    dense = _costs(inp, None)
    if report:
        report(20)
    sites, allocation, summary = _locate(model, dense, inp["weights"], inp["cutoff"], n_exist, new_sites,
                                         inp["capacity"] if capacitated else None, time_limit,
                                         inp["ids"], inp["kinds"], inp["names"], inp["s_xy"], inp["origins"],
                                         groups)
    summary.update(service_type_id=service_type_id, period=inp["period"], cost_unit=inp["cost_unit"])
    sites["capacity"] = inp["capacity"]
    sites["added_capacity"] = np.where(sites["chosen"] & (inp["kinds"] == "candidate"), inp["capacity"], 0.0)
    if report:
        report(100)
    return sites, allocation, {k: summary[k] for k in SUMMARY_KEYS}


def _groups(zone, origins, level, model):
    """The equity groups of the demand points: their ancestors at ``level`` (None: each point)."""
    if level is None:
        return None
    if model != "equity":
        raise InputError(f"groups_level: only the equity model groups demand points, not {model!r}",
                         hint="drop groups_level or use model 'equity'")
    import pandas as pd
    from ..indicators import LEVEL_RANK, ZONE_LEVELS, ancestor_map
    if level not in LEVEL_RANK:
        raise InputError(f"groups_level: unknown level {level!r}", hint=f"use one of {', '.join(ZONE_LEVELS)}")
    up = ancestor_map(zone, level)
    groups = pd.Series(origins).map(up)
    if groups.isna().any():
        outside = pd.Series(origins)[groups.isna()].tolist()
        raise InputError(f"groups_level: {len(outside)} demand points are not inside a zone of level "
                         f"{level!r} (e.g. {outside[:3]})",
                         hint="choose a level that contains every demand point, e.g. 'city', "
                              "or leave groups_level empty")
    return groups.to_numpy(dtype=object)


def _locate(model, dense, w, cutoff, n_exist, new_sites, cap, time_limit, ids, kinds, names, s_xy, origins,
            groups=None):
    """Solve ``model`` on dense costs, the first ``n_exist`` columns open; frames as documented above.

    ``groups`` (equity only): a label per demand point; the worst group's gap is minimised."""
    import pandas as pd

    m = dense.shape[1]
    p = n_exist + new_sites
    pre = list(range(n_exist))
    if model == "mclp":
        res = classic.mclp(dense, w, cutoff, p, predefined=pre, capacities=cap, time_limit=time_limit)
    elif model == "p_median":
        res = classic.p_median(dense, w, p, predefined=pre, capacities=cap, time_limit=time_limit)
    elif model == "p_center":
        if cap is not None:
            raise InputError("capacitated: p_center has no capacitated form; use mclp or p_median")
        res = classic.p_center(dense, p, predefined=pre, time_limit=time_limit)
    else:
        res = welfare_models.equity(dense, w, cutoff, p, groups=groups, predefined=pre, capacities=cap,
                                    time_limit=time_limit).location
    return _frames(model, res, dense, w, cutoff, n_exist, new_sites, cap, ids, kinds, names, s_xy, origins)


def _frames(model, res, dense, w, cutoff, n_exist, new_sites, cap, ids, kinds, names, s_xy, origins):
    """``(sites, allocation, summary)`` of a solved :class:`LocationResult` (see :func:`_locate`)."""
    import pandas as pd

    m = dense.shape[1]
    p = len(res.selected)
    chosen = np.zeros(m, dtype=bool)
    chosen[list(res.selected)] = True
    # allocation: the model's split when capacitated, else each point to its assigned site
    if res.allocation is not None:
        alloc = res.allocation.tocoo()
        rows, cols, share = alloc.row, alloc.col, alloc.data
    else:
        rows = np.flatnonzero(res.assignment >= 0)
        cols = res.assignment[rows]
        share = np.ones(len(rows))
        if model in ("mclp", "equity", "closure"):  # coverage models: only points within the cutoff are served
            keep = dense[rows, cols] <= cutoff
            rows, cols, share = rows[keep], cols[keep], share[keep]
    has = w[rows] * share > 0  # points without demand are not allocated
    rows, cols, share = rows[has], cols[has], share[has]
    allocation = pd.DataFrame({"zone_id": np.asarray(origins, dtype=object)[rows],
                               "site_id": np.asarray(ids, dtype=object)[cols],
                               "demand": w[rows] * share, "cost": dense[rows, cols], "share": share})
    allocation = allocation[list(ALLOCATION_COLUMNS)].sort_values(["zone_id", "site_id"]).reset_index(drop=True)
    kinds = np.asarray(kinds)
    capacity = np.full(m, np.nan) if cap is None else np.asarray(cap, dtype=float)
    sites = pd.DataFrame({"site_id": ids, "kind": kinds, "name": names, "chosen": chosen,
                          "x": s_xy[:, 0], "y": s_xy[:, 1], "capacity": capacity,
                          "added_capacity": np.where(chosen & (kinds == "candidate"), np.nan_to_num(capacity), 0.0),
                          "demand_served": np.bincount(cols, weights=w[rows] * share, minlength=m),
                          "n_points": np.bincount(cols, minlength=m)})[list(SITE_COLUMNS)]
    open_before = np.zeros(m, dtype=bool)
    open_before[:n_exist] = True
    summary = dict(model=model, service_type_id=None, period=None, existing_sites=n_exist,
                   new_sites=new_sites, p=p, max_cost=cutoff, cost_unit="m",
                   total_demand=float(w.sum()), unmet_before=None, unmet_after=None, budget=None, spend=None,
                   objective=res.objective, bound=res.bound, gap=res.gap, status=res.status, solver=res.solver,
                   seconds=res.seconds)
    summary.update(_before_after(dense, w, cutoff, open_before, chosen))
    return sites, allocation, summary


def locate_points(model, demand_xy, weights, candidate_xy, new_sites, max_cost, *, existing_xy=None,
                  candidate_capacity=None, existing_capacity=None, demand_ids=None, candidate_ids=None,
                  existing_ids=None, time_limit=None, progress=None, cost=None, cost_unit="m", groups=None):
    """:func:`optimise_locations` on plain points (planar metres): the QGIS door's generic form.

    Sites are the existing points (always open) followed by the candidates;
    capacities make the model capacitated (both must then be given when
    there are existing points). ``cost``: an ``(n, existing + candidates)``
    dense array (``np.inf`` = unreachable) or CostMatrix (e.g.
    :func:`welfare_core.costs.from_od_table` over network costs) used instead
    of the planar distances, columns in the site order above, ``max_cost``
    in its unit (``cost_unit``, reported in the summary). ``groups`` (model
    ``equity`` only): a label per demand point (e.g. its district); the
    worst group's coverage gap is minimised instead of the worst point's.
    Returns ``(sites, allocation, summary)``.
    """
    if model not in MODELS:
        raise InputError(f"unknown model {model!r}", hint=f"use one of {', '.join(MODELS)}")
    d_xy = np.asarray(demand_xy, dtype=float).reshape(-1, 2)
    c_xy = np.asarray(candidate_xy, dtype=float).reshape(-1, 2)
    e_xy = np.zeros((0, 2)) if existing_xy is None else np.asarray(existing_xy, dtype=float).reshape(-1, 2)
    n_exist = len(e_xy)
    if isinstance(new_sites, bool) or not float(new_sites).is_integer() or int(new_sites) < 0:
        raise InputError(f"new_sites: must be a whole number >= 0, got {new_sites!r}")
    new_sites = int(new_sites)
    if new_sites > len(c_xy):
        raise InputError(f"new_sites: {new_sites} new sites asked but there are only {len(c_xy)} candidate sites",
                         hint="lower new_sites or add candidate sites")
    if new_sites + n_exist == 0:
        raise InputError("new_sites: must be at least 1 when there are no existing facilities")
    cutoff = costs_mod.check_max_cost(max_cost) if max_cost is not None else np.inf
    if model in ("mclp", "equity") and not np.isfinite(cutoff):
        raise InputError(f"max_cost: {model} needs the coverage cutoff")
    w = np.asarray(weights, dtype=float).ravel()
    s_xy = np.vstack([e_xy, c_xy])
    if cost is None:
        dense = np.hypot(d_xy[:, None, 0] - s_xy[None, :, 0], d_xy[:, None, 1] - s_xy[None, :, 1])
    else:
        dense = _given_costs(cost, (len(d_xy), len(s_xy)))
    if groups is not None:
        if model != "equity":
            raise InputError(f"groups: only the equity model uses groups, not {model}",
                             hint="choose model equity or leave groups out")
        groups = np.asarray(groups, dtype=object).ravel()
        if groups.shape != (len(d_xy),):
            raise InputError(f"groups: expected {len(d_xy)} labels (one per demand point), got {groups.size}")
        if any(g is None or (isinstance(g, float) and g != g) for g in groups):
            raise InputError("groups: a demand point has no group", hint="fill in the group of every demand point")
        groups = groups.astype(str)
    cap = None
    if candidate_capacity is not None:
        if n_exist and existing_capacity is None:
            raise InputError("existing_capacity: give the existing facilities' capacity too (capacitated model)")
        cap = np.r_[np.asarray(existing_capacity if n_exist else [], dtype=float),
                    np.asarray(candidate_capacity, dtype=float)]
    ids = list(existing_ids if existing_ids is not None else [f"E{i}" for i in range(n_exist)]) + \
        list(candidate_ids if candidate_ids is not None else [f"C{j}" for j in range(len(c_xy))])
    kinds = ["existing"] * n_exist + ["candidate"] * len(c_xy)
    origins = list(demand_ids) if demand_ids is not None else list(range(len(d_xy)))
    if progress:
        progress(20)
    sites, allocation, summary = _locate(model, dense, w, cutoff, n_exist, new_sites, cap, time_limit, ids, kinds,
                                         [None] * len(ids), s_xy, origins, groups)
    summary["cost_unit"] = cost_unit
    if progress:
        progress(100)
    return sites, allocation, {k: summary[k] for k in SUMMARY_KEYS}


def _given_costs(cost, shape):
    """A caller's cost (dense array or CostMatrix) as a dense array of ``shape``, ``np.inf`` = unreachable."""
    if isinstance(cost, np.ndarray):
        dense = costs_mod.dense_array(cost, "cost")
    else:
        dense = cost.to_dense()
    if dense.shape != tuple(shape):
        raise InputError(f"cost: expected shape {tuple(shape)} (demand points x sites, existing first), "
                         f"got {dense.shape}")
    return dense


def allocate_capacity_plan(tables, service_type_id, period, budget, *, max_cost=None, uptake=None,
                           module_size=1.0, unit_cost=1.0, max_increase=None, candidates=False,
                           time_limit=None, progress=None):
    """Spread ``budget`` of capacity over the facilities of a type (and, with ``candidates``, new sites).

    Need per demand point = ``uptake`` x :math:`w_i`; ``uptake`` defaults to
    the type's ``standard_per_100 / 100`` (e.g. 33 nursery places per 100
    children), 1 when the type has no standard. ``budget`` is in the unit of
    ``unit_cost`` (per module of ``module_size`` capacity units); the
    defaults make it a number of places. ``max_increase`` caps the capacity
    added at an existing site; a candidate takes at most its
    ``max_capacity``. Returns ``(sites, allocation, summary)`` as
    :func:`optimise_locations` (``demand`` and ``share`` in allocation are
    the served need and its share of the point's need).
    """
    import pandas as pd

    inp = _inputs(tables, service_type_id, period, max_cost, candidates)
    std = inp["stype"].get("standard_per_100")
    if uptake is None:
        uptake = 1.0 if std is None or (isinstance(std, float) and np.isnan(std)) else float(std) / 100.0
    uptake = float(uptake)
    if not np.isfinite(uptake) or uptake < 0:
        raise InputError(f"uptake: must be a non-negative number, got {uptake!r}")
    need = inp["weights"] * uptake
    m, n_exist = len(inp["ids"]), inp["n_existing"]
    cap0 = np.where(inp["kinds"] == "existing", inp["capacity"], 0.0)
    module = np.broadcast_to(np.asarray(module_size, dtype=float), (m,)).copy()
    limit = np.full(m, np.inf)
    if max_increase is not None:
        limit[:n_exist] = float(max_increase)
    limit[n_exist:] = inp["capacity"][n_exist:]
    with np.errstate(divide="ignore", invalid="ignore"):
        kmax = np.where(module > 0, np.floor(limit / np.where(module > 0, module, 1.0) + 1e-9), 0.0)
    kmax = np.where(np.isfinite(kmax), kmax, 1e9)
    cm = _costs(inp, inp["cutoff"])
    if progress:
        progress(10)
    res = welfare_models.allocate_capacity(cm, need, inp["cutoff"], cap0, budget, module_size=module,
                                           unit_cost=unit_cost, max_modules=kmax, time_limit=time_limit)
    if progress:
        progress(90)
    served = res.served.tocoo()
    pairs_cost = np.full(len(served.row), np.nan)
    if len(served.row):
        key = cm.row.astype(np.int64) * m + cm.col
        order = np.argsort(key)
        pos = order[np.searchsorted(key[order], served.row.astype(np.int64) * m + served.col)]
        pairs_cost = np.asarray(cm.cost)[pos]
    allocation = pd.DataFrame({"zone_id": np.asarray(inp["origins"], dtype=object)[served.row],
                               "site_id": np.asarray(inp["ids"], dtype=object)[served.col],
                               "demand": served.data, "cost": pairs_cost,
                               "share": served.data / np.where(need[served.row] > 0, need[served.row], 1.0)})
    allocation = allocation[list(ALLOCATION_COLUMNS)].sort_values(["zone_id", "site_id"]).reset_index(drop=True)
    sites = pd.DataFrame({"site_id": inp["ids"], "kind": inp["kinds"], "name": inp["names"],
                          "chosen": res.modules > 0, "x": inp["s_xy"][:, 0], "y": inp["s_xy"][:, 1],
                          "capacity": cap0, "added_capacity": res.added_capacity,
                          "demand_served": res.site_load,
                          "n_points": np.bincount(served.col, minlength=m)})[list(SITE_COLUMNS)]
    total = float(need.sum())
    summary = dict(model="allocate_capacity", service_type_id=service_type_id, period=inp["period"],
                   existing_sites=n_exist, new_sites=int(((res.modules > 0) & (inp["kinds"] == "candidate")).sum()),
                   p=None, max_cost=inp["cutoff"], cost_unit=inp["cost_unit"], total_demand=total,
                   covered_before=total - res.unmet_before, covered_after=total - res.unmet_after,
                   coverage_pct_before=100.0 * (total - res.unmet_before) / total if total > 0 else None,
                   coverage_pct_after=100.0 * (total - res.unmet_after) / total if total > 0 else None,
                   mean_cost_before=None, mean_cost_after=None, unmet_before=res.unmet_before,
                   unmet_after=res.unmet_after, budget=float(budget), spend=res.spend, objective=res.objective,
                   bound=res.bound, gap=res.gap, status=res.status, solver=res.solver, seconds=res.seconds)
    if progress:
        progress(100)
    return sites, allocation, {k: summary[k] for k in SUMMARY_KEYS}


# --------------------------------------------------------------------------- closure and sweeps

SWEEP_COLUMNS = ("new_sites", "p", "objective", "covered", "coverage_pct", "gain", "status", "gap",
                 "new_site_ids", "seconds")


def _closure(dense, w, cutoff, k, keep_idx, cap, time_limit, ids, names, s_xy, origins, progress=None):
    """Solve :func:`welfare_models.closure` on dense costs; frames as :func:`optimise_locations`."""
    res = welfare_models.closure(dense, w, cutoff, k, keep=keep_idx, capacities=cap, time_limit=time_limit,
                                 progress=progress)
    m = dense.shape[1]
    sites, allocation, summary = _frames("closure", res.location, dense, w, cutoff, m, 0, cap, ids,
                                         ["existing"] * m, names, s_xy, origins)
    total = float(w.sum())
    loc = res.location
    summary.update(model="closure", existing_sites=m, new_sites=0, p=m - k,
                   covered_before=res.coverage_before, covered_after=res.coverage_after,
                   coverage_pct_before=100.0 * res.coverage_before / total if total > 0 else None,
                   coverage_pct_after=100.0 * res.coverage_after / total if total > 0 else None,
                   objective=res.loss,
                   bound=None if loc.bound is None else res.coverage_before - float(loc.bound))
    before = np.ones(m, dtype=bool)
    mean = _before_after(dense, w, cutoff, before, sites["chosen"].to_numpy())
    summary.update(mean_cost_before=mean["mean_cost_before"], mean_cost_after=mean["mean_cost_after"])
    return sites, allocation, {k_: summary[k_] for k_ in SUMMARY_KEYS}


def _keep_index(keep, ids, what="keep"):
    if keep is None:
        return []
    keep = [str(x) for x in keep]
    pos = {s: j for j, s in enumerate(ids)}
    unknown = [x for x in keep if x not in pos]
    if unknown:
        raise InputError(f"{what}: unknown facility id(s) {unknown[:5]}",
                         hint="list ids of the facilities of the type active in the period")
    return sorted({pos[x] for x in keep})


def closure_plan(tables, service_type_id, k, period, *, max_cost=None, keep=None, capacitated=False,
                 time_limit=None, progress=None, facility_municipality=None):
    """Which ``k`` facilities of a service type (active in ``period``) to close with the least coverage loss.

    Coverage is the demand (the weights of :func:`optimise_locations`) within
    ``max_cost`` (default the type's) of an open facility; with
    ``capacitated`` the share the capacities can serve. ``keep``: facility
    ids that must stay open. The model is :func:`welfare_models.closure`
    (an MCLP keeping :math:`m - k` of the :math:`m` facilities, exact).
    Returns ``(sites, allocation, summary)`` as :func:`optimise_locations`:
    ``chosen`` is False for the facilities to close, the allocation is the
    one after closing, and ``summary["objective"]`` is the coverage lost
    (``covered_before - covered_after``, proven least when ``status`` is
    ``optimal``); ``model`` is ``closure`` and ``p`` the facilities kept.
    Candidate sites are not considered. ``facility_municipality`` (an ISTAT
    code): only that municipality's facilities may be closed; the others
    (e.g. a neighbouring comune's) stay open and keep covering the demand
    near the border, as if listed in ``keep``.
    """
    inp = _inputs(tables, service_type_id, period, max_cost, False)
    m = inp["n_existing"]
    if m == 0:
        raise InputError(f"no facility of type {service_type_id!r} is active in {period}: nothing to close")
    keep_idx = _keep_index(keep, inp["ids"])
    if facility_municipality is not None:
        muni = inp["municipality"][:m]
        if any(x is None for x in muni):
            raise InputError("facility_municipality: the facilities carry no municipality_code",
                             hint="load facility with its municipality_code column")
        inside = muni == str(facility_municipality)
        if not inside.any():
            raise InputError(f"facility_municipality: no facility of type {service_type_id!r} active in {period} "
                             f"is in municipality {facility_municipality!r}",
                             hint="check the ISTAT code (6 digits, e.g. '015146') or drop facility_municipality")
        closable = int((inside & ~np.isin(np.arange(m), keep_idx)).sum())
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k > closable:
            raise InputError(f"k: cannot close {k} facilities: only {closable} of type {service_type_id!r} in "
                             f"municipality {facility_municipality!r} may close",
                             hint="lower k, shorten keep or drop facility_municipality")
        keep_idx = sorted(set(keep_idx) | set(np.flatnonzero(~inside).tolist()))
    dense = _costs(inp, None)
    if progress:
        progress(20)
    sites, allocation, summary = _closure(dense, inp["weights"], inp["cutoff"], k, keep_idx,
                                          inp["capacity"] if capacitated else None, time_limit, inp["ids"],
                                          inp["names"], inp["s_xy"], inp["origins"])
    summary.update(service_type_id=service_type_id, period=inp["period"], cost_unit=inp["cost_unit"])
    sites["capacity"] = inp["capacity"]
    if progress:
        progress(100)
    return sites, allocation, summary


def _sweep(model, dense, w, cutoff, n_exist, max_new, cap, time_limit, ids, progress=None):
    """Trade-off curve over ``new_sites = 0 .. max_new`` (from 1 when nothing exists): a DataFrame."""
    import pandas as pd

    if model not in ("mclp", "p_median"):
        raise InputError(f"model: unknown model {model!r} for a sweep; use mclp or p_median")
    if isinstance(max_new, bool) or max_new is None or not float(max_new).is_integer() or int(max_new) < 0:
        raise InputError(f"max_new: must be a whole number >= 0, got {max_new!r}")
    max_new = int(max_new)
    m = dense.shape[1]
    if max_new > m - n_exist:
        raise InputError(f"max_new: {max_new} new sites asked but only {m - n_exist} candidate sites suit",
                         hint="lower max_new or add candidate sites")
    first = 0 if n_exist else 1
    if max_new < first:
        raise InputError("max_new: must be at least 1 when no facility of the type exists")
    ps = [n_exist + j for j in range(first, max_new + 1)]
    curve = welfare_models.sweep_p(dense, w, ps, model=model, max_cost=cutoff if model == "mclp" else None,
                                   predefined=range(n_exist), capacities=cap, time_limit=time_limit,
                                   progress=progress)
    ids = np.asarray(ids, dtype=object)
    total = float(w.sum())
    rows = []
    for pt in curve:
        sel = list(pt.selected)
        if model == "mclp":
            covered = float(pt.objective)
        else:  # p-median: coverage within the cutoff of an open site, for the curve
            covered = float(w[(dense[:, sel] <= cutoff).any(axis=1)].sum()) if np.isfinite(cutoff) else total
        rows.append(dict(new_sites=int(pt.value) - n_exist, p=int(pt.value), objective=pt.objective,
                         covered=covered, coverage_pct=100.0 * covered / total if total > 0 else None,
                         gain=pt.gain, status=pt.status, gap=pt.gap,
                         new_site_ids=[str(s) for s in ids[[j for j in sel if j >= n_exist]]],
                         seconds=pt.seconds))
    return pd.DataFrame(rows, columns=list(SWEEP_COLUMNS))


def sweep_locations(tables, service_type_id, model, max_new, period, *, max_cost=None, capacitated=False,
                    candidate_municipality=None, time_limit=None, progress=None):
    """The trade-off curve of :func:`optimise_locations` over ``new_sites = 0 .. max_new``.

    ``model``: ``mclp`` or ``p_median``. One exact solve per point (each
    within ``time_limit`` seconds), existing facilities open. Returns a
    DataFrame with :data:`SWEEP_COLUMNS`: ``objective`` is the model's
    (covered demand for MCLP, total weighted cost for p-median), ``covered``
    and ``coverage_pct`` the demand within ``max_cost`` of an open site (the
    served share when capacitated MCLP), ``gain`` the improvement over the
    previous point (demand added for MCLP, cost saved for p-median; ``None``
    on the first), ``new_site_ids`` the candidates opened. Where ``gain``
    drops, more sites stop paying off.
    """
    inp = _inputs(tables, service_type_id, period, max_cost, True, candidate_municipality)
    dense = _costs(inp, None)
    return _sweep(model, dense, inp["weights"], inp["cutoff"], inp["n_existing"], max_new,
                  inp["capacity"] if capacitated else None, time_limit, inp["ids"], progress)


def _point_inputs(demand_xy, weights, site_xy, max_cost, capacity, n_sites, what, cost=None):
    d_xy = np.asarray(demand_xy, dtype=float).reshape(-1, 2)
    s_xy = np.asarray(site_xy, dtype=float).reshape(-1, 2)
    cutoff = costs_mod.check_max_cost(max_cost) if max_cost is not None else np.inf
    w = np.asarray(weights, dtype=float).ravel()
    if w.shape != (len(d_xy),):
        raise InputError(f"weights: expected {len(d_xy)} values (one per demand point), got {w.size}")
    if cost is None:
        dense = np.hypot(d_xy[:, None, 0] - s_xy[None, :, 0], d_xy[:, None, 1] - s_xy[None, :, 1])
    else:
        dense = _given_costs(cost, (len(d_xy), len(s_xy)))
    cap = None if capacity is None else np.asarray(capacity, dtype=float).ravel()
    if cap is not None and cap.shape != (n_sites,):
        raise InputError(f"{what}: expected {n_sites} capacities (one per site), got {cap.size}")
    return dense, w, cutoff, cap, s_xy


def close_points(demand_xy, weights, facility_xy, k, max_cost, *, keep=None, capacity=None, demand_ids=None,
                 facility_ids=None, time_limit=None, progress=None, cost=None, cost_unit="m"):
    """:func:`closure_plan` on plain points (planar metres): the QGIS door's generic form.

    ``keep``: facility ids (or, without ``facility_ids``, indices) that must
    stay open; ``capacity`` makes it capacitated. ``cost``: an ``(n, m)``
    dense array (``np.inf`` = unreachable) or CostMatrix of demand points x
    facilities used instead of the planar distances, ``max_cost`` in its
    unit (``cost_unit``, reported in the summary), as in
    :func:`locate_points`. Returns ``(sites, allocation, summary)``.
    """
    m = len(np.asarray(facility_xy, dtype=float).reshape(-1, 2))
    if max_cost is None:
        raise InputError("max_cost: closure needs the coverage cutoff")
    dense, w, cutoff, cap, s_xy = _point_inputs(demand_xy, weights, facility_xy, max_cost, capacity, m, "capacity",
                                                cost)
    ids = [str(x) for x in facility_ids] if facility_ids is not None else [f"F{j}" for j in range(m)]
    if keep is not None and facility_ids is None:
        keep = [f"F{int(j)}" for j in keep]
    origins = list(demand_ids) if demand_ids is not None else list(range(len(w)))
    if progress:
        progress(20)
    sites, allocation, summary = _closure(dense, w, cutoff, k, _keep_index(keep, ids), cap, time_limit, ids,
                                          [None] * m, s_xy, origins)
    summary["cost_unit"] = cost_unit
    if progress:
        progress(100)
    return sites, allocation, summary


def sweep_points(model, demand_xy, weights, candidate_xy, max_new, max_cost, *, existing_xy=None,
                 candidate_capacity=None, existing_capacity=None, candidate_ids=None, existing_ids=None,
                 time_limit=None, progress=None, cost=None):
    """:func:`sweep_locations` on plain points (planar metres): the QGIS door's generic form.

    ``max_cost`` is required for ``mclp``; for ``p_median`` it only sets the
    coverage reported (``None``: every point counts as covered). ``cost``:
    an ``(n, existing + candidates)`` dense array (``np.inf`` = unreachable)
    or CostMatrix used instead of the planar distances, columns existing
    first, ``max_cost`` in its unit, as in :func:`locate_points`.
    """
    if model == "mclp" and max_cost is None:
        raise InputError("max_cost: the mclp sweep needs the coverage cutoff")
    c_xy = np.asarray(candidate_xy, dtype=float).reshape(-1, 2)
    e_xy = np.zeros((0, 2)) if existing_xy is None else np.asarray(existing_xy, dtype=float).reshape(-1, 2)
    n_exist = len(e_xy)
    cap = None
    if candidate_capacity is not None:
        if n_exist and existing_capacity is None:
            raise InputError("existing_capacity: give the existing facilities' capacity too (capacitated model)")
        cap = np.r_[np.asarray(existing_capacity if n_exist else [], dtype=float),
                    np.asarray(candidate_capacity, dtype=float)]
    dense, w, cutoff, cap, _ = _point_inputs(demand_xy, weights, np.vstack([e_xy, c_xy]), max_cost, cap,
                                             n_exist + len(c_xy), "candidate_capacity", cost)
    ids = list(existing_ids if existing_ids is not None else [f"E{i}" for i in range(n_exist)]) + \
        list(candidate_ids if candidate_ids is not None else [f"C{j}" for j in range(len(c_xy))])
    return _sweep(model, dense, w, cutoff, n_exist, max_new, cap, time_limit, ids, progress)
