"""The references of bench/graph: networkx or igraph doing what
`lifeboat analyze` does (read the edge list, the K-core with follows taken
both ways, modularity communities), timed inside the process. Prints one
JSON object: seconds (wall), cpu_seconds, viable (sorted labels),
modularity, membership."""
import json
import sys
import time


def run_networkx(path, k):
    import networkx as nx
    t, c = time.perf_counter(), time.process_time()
    g = nx.read_edgelist(path, nodetype=str, comments="#", create_using=nx.Graph)
    g.remove_edges_from(nx.selfloop_edges(g))
    core = nx.k_core(g, k)
    comms = nx.community.louvain_communities(g, seed=1)
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    q = nx.community.modularity(g, comms)
    membership = {}
    for i, c in enumerate(comms):
        for v in c:
            membership[v] = i
    return seconds, cpu, sorted(core.nodes()), q, membership


def run_igraph(path, k):
    import igraph as ig
    t, c = time.perf_counter(), time.process_time()
    g = ig.Graph.Read_Ncol(path, directed=False, names=True, weights=False)
    g.simplify()
    coreness = g.coreness()
    names = g.vs["name"]
    viable = [names[i] for i, c in enumerate(coreness) if c >= k]
    comms = g.community_multilevel()
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    membership = {names[i]: c for i, c in enumerate(comms.membership)}
    return seconds, cpu, sorted(viable), comms.modularity, membership


def main():
    lib, path, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
    seconds, cpu, viable, q, membership = {"networkx": run_networkx, "igraph": run_igraph}[lib](path, k)
    json.dump({"seconds": seconds, "cpu_seconds": cpu, "viable": viable, "modularity": q, "membership": membership}, sys.stdout)


main()
