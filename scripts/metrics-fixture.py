#!/usr/bin/env python3
"""Writes tests/fixtures/metrics/: a small run and graded qrels, deterministic, with the figures
pytrec_eval (trec_eval's definitions) computes for them. MedShelf's metric code must match.

Usage: python3 -m pip install pytrec-eval-terrier && python3 scripts/metrics-fixture.py
"""
import json, random, pathlib
import pytrec_eval

out = pathlib.Path(__file__).resolve().parent.parent / "tests/fixtures/metrics"
out.mkdir(parents=True, exist_ok=True)
rng = random.Random(7)
docs = [f"d{i}" for i in range(300)]
qrels, run = {}, {}
for q in range(12):
    qid = f"q{q}"
    relevant = rng.sample(docs, rng.randint(1, 6))
    qrels[qid] = {d: rng.choice([1, 2]) for d in relevant}
    # Rankings of varied length (some past 100), with relevant documents at varied depths.
    ranked = rng.sample(docs, rng.choice([5, 20, 150]))
    for d in relevant:
        if rng.random() < 0.6 and d not in ranked:
            ranked.insert(rng.randrange(len(ranked) + 1), d)
    # Distinct, decreasing scores: the ranking is the order, whatever the tie rules.
    run[qid] = {d: float(len(ranked) - i) for i, d in enumerate(ranked)}
# A query whose run finds nothing relevant, and one absent from the run.
qrels["q_none"] = {"d299": 1}
run["q_none"] = {"d1": 2.0, "d2": 1.0}
qrels["q_missing"] = {"d5": 2}

ev = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100", "recip_rank"})
per = ev.evaluate(run)
# trec_eval skips queries with no run; MedShelf counts them as zero, so average over all judged.
def mean(measure):
    return sum(per.get(q, {}).get(measure, 0.0) for q in qrels) / len(qrels)

with open(out / "qrels.tsv", "w") as f:
    f.write("query-id\tcorpus-id\tscore\n")
    for q, rels in qrels.items():
        for d, s in rels.items():
            f.write(f"{q}\t{d}\t{s}\n")
with open(out / "run.tsv", "w") as f:
    for q, ranked in run.items():
        for d, s in ranked.items():
            f.write(f"{q}\t{d}\t{s}\n")
# MRR@10: pytrec_eval's recip_rank is uncut; the cut version is computed from the same run.
def mrr10(q):
    ranked = sorted(run.get(q, {}), key=lambda d: -run[q][d])[:10]
    return next((1 / (i + 1) for i, d in enumerate(ranked) if qrels[q].get(d, 0) > 0), 0.0)
expected = {
    "queries": len(qrels),
    "ndcg@10": mean("ndcg_cut_10"),
    "recall@100": mean("recall_100"),
    "mrr": mean("recip_rank"),
    "mrr@10": sum(mrr10(q) for q in qrels) / len(qrels),
    "per_query_ndcg@10": {q: per.get(q, {}).get("ndcg_cut_10", 0.0) for q in qrels},
}
json.dump(expected, open(out / "expected.json", "w"), indent=1)
print(json.dumps({k: v for k, v in expected.items() if k != "per_query_ndcg@10"}))
