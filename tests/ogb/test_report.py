"""The leaderboard table: columns, ranking by the metric's direction, formatting, and the notes under it."""

from __future__ import annotations

from molssl.ogb.record import summarize
from molssl.ogb.report import markdown_table, mean_std


def _record(dataset, method, tests, valids, **extra):
    seeds = {str(i): {"seed": i, "test": t, "valid": v, "hardware": "NVIDIA H100 (80GB GPU)", "evaluator_matches_protocol": True}
             for i, (t, v) in enumerate(zip(tests, valids))}  # fmt: skip
    record = {
        "dataset": dataset, "method": method, "config": {"seeds": list(range(extra.pop("requested", len(tests)))), "epochs": 100},
        "seeds": seeds, "updated": "2026-11-22T02:10:46+00:00", "contact": "", "references": "",
        "num_parameters": {"all_stages": 3_343_806, "reserved_embedding_rows": 0}, "data": {"official": True},
        "features": {"features": "full"}, "external_data": {"used": False, "description": None}, **extra,
    }  # fmt: skip
    record["summary"] = summarize(record)
    return record


def test_columns_ranking_and_format():
    ten = [0.75 + 0.001 * i for i in range(10)]
    records = [
        _record("ogbg-molhiv", "GIN", [0.70 + 0.002 * i for i in range(10)], ten),
        _record("ogbg-molhiv", "GIN-virtual | pipe", ten, ten),
        _record("ogbg-molesol", "GCN", [1.2] * 10, [1.1] * 10),
        _record("ogbg-molesol", "GIN", [0.9, 1.1] * 5, [1.0] * 10),
    ]
    table = markdown_table(records)
    lines = table.splitlines()
    assert lines[0] == "### ogbg-molhiv (ROC-AUC)"
    assert lines[2] == "| Rank | Method | Ext. data | Test ROC-AUC | Validation ROC-AUC | Contact | References | #Params | Hardware | Date |"
    assert lines[4].startswith("| 1 | GIN-virtual \\| pipe | No | 0.7545 ± 0.0030 | 0.7545 ± 0.0030 |")
    assert lines[4].endswith("| 3,343,806 | NVIDIA H100 (80GB GPU) | Nov 22, 2026 |")
    assert lines[5].startswith("| 2 | GIN | No | 0.7090 ± 0.0061 |")
    esol = table[table.index("### ogbg-molesol (RMSE)"):].splitlines()
    assert esol[4].startswith("| 1 | GIN | No | 1.0000 ± 0.1054 |") and esol[5].startswith("| 2 | GCN |")  # lower RMSE ranks first
    assert "- " not in table  # complete, official, 10 seeds, 100 epochs: nothing to note


def test_notes_say_what_the_numbers_cannot():
    record = _record("ogbg-molpcba", "GIN-virtual (pre-trained)", [0.27], [0.28], requested=3,
                     data={"official": False, "provenance": {"source": "my.csv"}},
                     external_data={"used": True, "description": None})  # fmt: skip
    table = markdown_table([record])
    assert "| Test AP | Validation AP |" in table and "| Yes |" in table and "0.2700 |" in table
    for note in ("1 of 3 seeds finished (0)", "3 seed(s); the leaderboard asks for 10", "built by molssl from my.csv",
                 "whose source is not recorded"):  # fmt: skip
        assert note in table


def test_mean_std():
    assert mean_std({"mean": 0.77071, "std": 0.01489}) == "0.7707 ± 0.0149"
    assert mean_std({"mean": 0.5, "std": None}) == "0.5000" and mean_std({"mean": None, "std": None}) == "n/a"
