#!/usr/bin/env python3
"""Google OR-Tools baseline for Cordeau DARP instances, for side-by-side comparison with
`planner-bench darp`. Prints the same line format:

    instance=<name> cost=<total distance> vehicles=<used> feasible=<true|false> seconds=<wall>

Model: routing solver with pickups and deliveries (same vehicle, pickup first), a time
dimension with service + travel transits and windows, ride-time limits as cumul constraints,
capacity dimension, route duration as span limit; local cheapest insertion + guided local
search, single thread. Every request may be left out at a huge penalty (unless --strict), so
the first solution never fails outright; a plan counts as feasible only if it serves everybody.
Times are scaled to integers (x1000) with travel times rounded up, so
every solution OR-Tools returns is feasible for the exact Euclidean instance; the printed cost
is the exact Euclidean distance of its routes.

Usage: python3 ortools_darp.py --time-limit-s 10 FILE...   (pip install ortools)
"""

import argparse
import math
import pathlib
import time

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

SCALE = 1000


def read_cordeau(path):
    rows = [l.split() for l in pathlib.Path(path).read_text().splitlines() if l.strip()]
    k, size, duration, capacity, max_ride = (float(x) for x in rows[0][:5])
    k, size, capacity = int(k), int(size), int(capacity)
    nodes = [[float(x) for x in r[:7]] for r in rows[1:]]
    if len(nodes) == size + 1:
        n, end = size // 2, 0
    elif len(nodes) == 2 * size + 2:
        n, end = size, 2 * size + 1
    else:
        raise ValueError(f"{path}: unexpected number of node lines")
    return dict(k=k, n=n, end=end, duration=duration, capacity=capacity, max_ride=max_ride, nodes=nodes)


def solve(path, time_limit, drop_penalty=0):
    inst = read_cordeau(path)
    nodes, n, k = inst["nodes"], inst["n"], inst["k"]
    started = time.monotonic()
    pts = [(r[1], r[2]) for r in nodes]
    count = len(pts)
    dist = [[math.dist(a, b) for b in pts] for a in pts]
    # The end depot of the 2003 variant is node 0 itself; OR-Tools needs distinct end nodes, so
    # model it with the same index (allowed: start and end may coincide).
    starts, ends = [0] * k, [inst["end"]] * k
    manager = pywrapcp.RoutingIndexManager(count, k, starts, ends)
    routing = pywrapcp.RoutingModel(manager)

    def cost_cb(i, j):
        a, b = manager.IndexToNode(i), manager.IndexToNode(j)
        return int(round(dist[a][b] * SCALE))

    cost_idx = routing.RegisterTransitCallback(cost_cb)
    routing.SetArcCostEvaluatorOfAllVehicles(cost_idx)

    def time_cb(i, j):
        a, b = manager.IndexToNode(i), manager.IndexToNode(j)
        return int(round(nodes[a][3] * SCALE)) + math.ceil(dist[a][b] * SCALE)

    time_idx = routing.RegisterTransitCallback(time_cb)
    horizon = int(max(r[6] for r in nodes) * SCALE) + 1
    routing.AddDimension(time_idx, horizon, horizon, False, "time")
    tdim = routing.GetDimensionOrDie("time")
    for node in range(1, 2 * n + 1):
        idx = manager.NodeToIndex(node)
        tdim.CumulVar(idx).SetRange(int(nodes[node][5] * SCALE), int(nodes[node][6] * SCALE))
    for v in range(k):
        s, e = routing.Start(v), routing.End(v)
        tdim.CumulVar(s).SetRange(int(nodes[0][5] * SCALE), int(nodes[0][6] * SCALE))
        tdim.CumulVar(e).SetRange(int(nodes[inst["end"]][5] * SCALE), int(nodes[inst["end"]][6] * SCALE))
        tdim.SetSpanUpperBoundForVehicle(int(inst["duration"] * SCALE), v)

    def load_cb(i):
        return int(nodes[manager.IndexToNode(i)][4])

    load_idx = routing.RegisterUnaryTransitCallback(load_cb)
    routing.AddDimensionWithVehicleCapacity(load_idx, 0, [inst["capacity"]] * k, True, "load")

    solver = routing.solver()
    for i in range(1, n + 1):
        p, d = manager.NodeToIndex(i), manager.NodeToIndex(n + i)
        routing.AddPickupAndDelivery(p, d)
        solver.Add(routing.VehicleVar(p) == routing.VehicleVar(d))
        solver.Add(tdim.CumulVar(p) <= tdim.CumulVar(d))
        ride = int((inst["max_ride"] + nodes[i][3]) * SCALE)
        solver.Add(tdim.CumulVar(d) - tdim.CumulVar(p) <= ride)
        # The same limit where the routing filters see it; without this the insertion
        # heuristics ignore the ride limit and the first solution fails outright.
        tdim.SetPickupToDeliveryLimitFunctionForPair(lambda a, b, ride=ride: ride, i - 1)
        if drop_penalty:
            # Optional visits with a huge penalty: the insertion heuristic then always yields a
            # (partial) first solution that guided local search completes; a plan counts as
            # feasible only if it serves everybody.
            routing.AddDisjunction([p, d], drop_penalty, 2)

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    remaining = max(0.1, time_limit - (time.monotonic() - started))
    params.time_limit.FromMilliseconds(int(remaining * 1000))
    solution = routing.SolveWithParameters(params)
    seconds = time.monotonic() - started
    name = pathlib.Path(path).stem
    if solution is None:
        print(f"instance={name} cost=nan vehicles=0 feasible=false seconds={seconds:.2f}", flush=True)
        return
    served = sum(1 for node in range(1, 2 * n + 1) if solution.Value(routing.NextVar(manager.NodeToIndex(node))) != manager.NodeToIndex(node))
    feasible = "true" if served == 2 * n else "false"
    total, used = 0.0, 0
    for v in range(k):
        idx = routing.Start(v)
        prev = manager.IndexToNode(idx)
        legs = 0
        while not routing.IsEnd(idx):
            idx = solution.Value(routing.NextVar(idx))
            node = manager.IndexToNode(idx)
            total += dist[prev][node]
            prev = node
            legs += 1
        if legs > 1:
            used += 1
    print(f"instance={name} cost={total:.2f} vehicles={used} feasible={feasible} seconds={seconds:.2f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit-s", type=float, default=10.0)
    ap.add_argument(
        "--strict",
        action="store_true",
        help="all visits mandatory (no drop penalty); the first solution then often fails",
    )
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    for f in args.files:
        solve(f, args.time_limit_s, drop_penalty=0 if args.strict else 10**9)


if __name__ == "__main__":
    main()
