"""Reading OGB's on-disk layout: graphs equal smiles2graph and OGB's own reader; clear errors on bad input."""

from __future__ import annotations

import gzip
import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from ogb.utils import smiles2graph
from rdkit import Chem

from molssl.chem.featurize import featurize_many
from molssl.data.splits import scaffold_split
from molssl.ogb.cache import cache_dir
from molssl.ogb.catalog import get_ogb_dataset
from molssl.ogb.layout import (
    OgbDataError,
    OgbLayoutError,
    dataset_dir,
    read_ogb_dataset,
    required_files,
)
from molssl.ogb.writer import graphs_from_smiles2graph, write_ogb_dataset
from tests.conftest import AWKWARD, moleculenet_smiles
from tests.ogb.conftest import NAME


def _graph(arrays, i):
    a0, a1, e0, e1 = arrays.atom_ptr[i], arrays.atom_ptr[i + 1], arrays.edge_ptr[i], arrays.edge_ptr[i + 1]
    return arrays.x[a0:a1], arrays.edge_index[:, e0:e1], arrays.edge_attr[e0:e1]


@pytest.fixture(scope="module")
def smiles2graph_copy(tmp_path_factory):
    """Real and awkward molecules written in OGB's raw format from ``ogb.utils.smiles2graph`` itself."""
    smiles = [s for s in moleculenet_smiles("bace", 120) + AWKWARD if Chem.MolFromSmiles(s) is not None]
    graphs = graphs_from_smiles2graph(smiles)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=(len(smiles), 1)).astype(float)
    labels[::7] = np.nan
    root = tmp_path_factory.mktemp("s2g")
    write_ogb_dataset(root / "ogbg_molbace", graphs, labels, scaffold_split(smiles), smiles, ["Class"])
    return root, smiles, labels


def test_graphs_read_back_equal_smiles2graph(smiles2graph_copy):
    root, smiles, labels = smiles2graph_copy
    data = read_ogb_dataset(root, "ogbg-molbace", cache=False)
    assert len(data) == len(smiles) and len(smiles) > 150
    assert data.graphs.num_edges.min() == 0  # single atoms, e.g. "C" and "[Na+]"
    for i, s in enumerate(smiles):
        expected = smiles2graph(s)
        x, edge_index, edge_attr = _graph(data.graphs, i)
        assert np.array_equal(x, expected["node_feat"]), s
        assert np.array_equal(edge_index, expected["edge_index"]), s  # same edges in the same order
        assert np.array_equal(edge_attr, expected["edge_feat"]), s
    np.testing.assert_array_equal(data.labels, labels.astype(np.float32))
    assert data.smiles() == smiles and data.task_names == ("Class",)


def test_graphs_equal_ogbs_own_raw_reader_and_molssl_featurizer(smiles2graph_copy):
    from ogb.io.read_graph_raw import read_csv_graph_raw

    root, smiles, _ = smiles2graph_copy
    data = read_ogb_dataset(root, "ogbg-molbace", cache=False)
    theirs = read_csv_graph_raw(str(root / "ogbg_molbace" / "raw"), add_inverse_edge=True)
    ours = featurize_many(smiles, scheme="ogb").graphs
    for i, graph in enumerate(theirs):
        x, edge_index, edge_attr = _graph(data.graphs, i)
        assert np.array_equal(x, graph["node_feat"]) and np.array_equal(edge_index, graph["edge_index"])
        assert np.array_equal(edge_attr, graph["edge_feat"]) and graph["num_nodes"] == len(x)
        for mine, molssl in zip((x, edge_index, edge_attr), _graph(ours, i)):
            assert np.array_equal(mine, molssl)
    split = data.split
    for part, idx in zip(("train", "valid", "test"), split):
        official = pd.read_csv(root / "ogbg_molbace" / "split" / "scaffold" / f"{part}.csv.gz", header=None).values.T[0]
        assert np.array_equal(idx, official)
    labels = pd.read_csv(root / "ogbg_molbace" / "raw" / "graph-label.csv.gz", header=None).values
    np.testing.assert_array_equal(np.isnan(labels), np.isnan(data.labels))


def test_fixture_build_records_provenance(ogb_root, bbbp_subset):
    data = read_ogb_dataset(ogb_root, NAME)
    assert len(data) == len(bbbp_subset) == 340
    assert not data.official and data.provenance["stands_for"] == NAME
    assert [len(p) for p in data.split] == data.provenance["split_sizes"] == [272, 34, 34]
    assert set(data.files) == set(required_files(data.info))
    assert "not an official OGB release" in (ogb_root / "ogbg_molbbbp" / "RELEASE_v1.txt").read_text()


def test_cache_is_reused_and_rebuilt_when_a_file_changes(ogb_copy):
    first = read_ogb_dataset(ogb_copy, NAME)
    meta = cache_dir(ogb_copy / "ogbg_molbbbp") / "meta.json"
    assert meta.is_file()
    stamp = meta.stat().st_mtime_ns
    again = read_ogb_dataset(ogb_copy, NAME)
    assert meta.stat().st_mtime_ns == stamp
    assert np.array_equal(again.graphs.edge_index, first.graphs.edge_index) and np.array_equal(again.labels, first.labels, equal_nan=True)
    label_file = ogb_copy / "ogbg_molbbbp" / "raw" / "graph-label.csv.gz"
    flipped = 1 - first.labels
    with gzip.open(label_file, "wt") as fh:
        fh.write("\n".join(str(int(v)) for v in flipped[:, 0]) + "\n")
    changed = read_ogb_dataset(ogb_copy, NAME)
    assert np.array_equal(changed.labels, flipped) and json.loads(meta.read_text())["files"] == changed.files


def test_dataset_dir_finds_folder_variants(ogb_copy):
    info = get_ogb_dataset(NAME)
    assert dataset_dir(ogb_copy, info) == ogb_copy / "ogbg_molbbbp"
    assert dataset_dir(ogb_copy / "ogbg_molbbbp", info) == ogb_copy / "ogbg_molbbbp"  # the folder itself
    (ogb_copy / "ogbg_molbbbp").rename(ogb_copy / "ogbg_molbbbp_pyg")
    assert len(read_ogb_dataset(ogb_copy, NAME, cache=False)) == 340


# --- bad input ---------------------------------------------------------------------------------------


def test_missing_split_file_is_named(ogb_copy):
    (ogb_copy / "ogbg_molbbbp" / "split" / "scaffold" / "valid.csv.gz").unlink()
    (ogb_copy / "ogbg_molbbbp" / "raw" / "edge-feat.csv.gz").unlink()
    with pytest.raises(OgbLayoutError) as info:
        read_ogb_dataset(ogb_copy, NAME)
    message = str(info.value)
    assert "raw/edge-feat.csv.gz" in message and "split/scaffold/valid.csv.gz" in message
    assert "lacks 2 file(s)" in message and "bbbp.zip" in message
    assert info.value.missing == ["raw/edge-feat.csv.gz", "split/scaffold/valid.csv.gz"]


def test_missing_dataset_folder(tmp_path):
    with pytest.raises(OgbLayoutError, match=r"no folder .*ogbg_molhiv.*hiv\.zip"):
        read_ogb_dataset(tmp_path, "ogbg-molhiv")


def test_missing_release_note_says_another_release(ogb_copy):
    (ogb_copy / "ogbg_molbbbp" / "RELEASE_v1.txt").unlink()
    with pytest.raises(OgbLayoutError, match="another release"):
        read_ogb_dataset(ogb_copy, NAME)


def _rewrite(path, transform):
    frame = pd.read_csv(path, header=None, keep_default_na=False, dtype=str)
    transform(frame).to_csv(path, header=False, index=False, compression="gzip")


def test_mismatched_number_of_graphs(ogb_copy):
    _rewrite(ogb_copy / "ogbg_molbbbp" / "raw" / "graph-label.csv.gz", lambda f: f.iloc[:-3])
    with pytest.raises(OgbDataError, match=r"mismatched number of graphs \(.*num-node-list.csv.gz: 340.*graph-label.csv.gz: 337"):
        read_ogb_dataset(ogb_copy, NAME)


def test_truncated_node_features(ogb_copy):
    _rewrite(ogb_copy / "ogbg_molbbbp" / "raw" / "node-feat.csv.gz", lambda f: f.iloc[:-1])
    with pytest.raises(OgbDataError, match=r"node-feat.csv.gz: \d+ rows, but raw/num-node-list.csv.gz counts \d+ atoms"):
        read_ogb_dataset(ogb_copy, NAME)


def test_feature_out_of_range_and_edge_outside_graph(ogb_copy, tmp_path):
    spare = tmp_path / "spare"
    shutil.copytree(ogb_copy, spare)

    def bump(frame):
        frame.iloc[5, 3] = "12"
        return frame

    _rewrite(ogb_copy / "ogbg_molbbbp" / "raw" / "node-feat.csv.gz", bump)
    with pytest.raises(OgbDataError, match=r"atom feature column 3 has value 12 at row 5, outside OGB's range \[0, 12\)"):
        read_ogb_dataset(ogb_copy, NAME)

    def far(frame):
        frame.iloc[0, 1] = "999"
        return frame

    _rewrite(spare / "ogbg_molbbbp" / "raw" / "edge.csv.gz", far)
    with pytest.raises(OgbDataError, match=r"row 0 \(\d+,999\) names an atom outside graph 0"):
        read_ogb_dataset(spare, NAME)


def test_bad_split_files(ogb_copy):
    split = ogb_copy / "ogbg_molbbbp" / "split" / "scaffold"
    shutil.copy(split / "train.csv.gz", split / "test.csv.gz")
    with pytest.raises(OgbDataError, match="in both train and test"):
        read_ogb_dataset(ogb_copy, NAME)
    with gzip.open(split / "test.csv.gz", "wt") as fh:
        fh.write("3\n340\n")
    with pytest.raises(OgbDataError, match=r"index 340 is outside \[0, 340\)"):
        read_ogb_dataset(ogb_copy, NAME)


def test_non_binary_label(ogb_copy):
    def two(frame):
        frame.iloc[4, 0] = "2"
        return frame

    _rewrite(ogb_copy / "ogbg_molbbbp" / "raw" / "graph-label.csv.gz", two)
    with pytest.raises(OgbDataError, match="row 4, task 0: label 2 is not 0, 1 or nan"):
        read_ogb_dataset(ogb_copy, NAME)


def test_writer_refuses_unpaired_edges(tmp_path):
    graphs = featurize_many(["CCO"], scheme="ogb").graphs  # edges (0,1), (1,0), (1,2), (2,1)
    bad = type(graphs)(graphs.x, graphs.edge_index[:, [0, 2, 1, 3]], graphs.edge_attr, graphs.atom_ptr, graphs.edge_ptr)
    with pytest.raises(ValueError, match="edges must come in pairs"):
        write_ogb_dataset(tmp_path / "d", bad, np.zeros((1, 1)), ([0], [], []), ["CCO"], ["y"])


# --- damaged files: one error naming the file; a damaged cache is rebuilt ------------------------------

_GZ_FILES = ("mapping/mol.csv.gz", "raw/num-node-list.csv.gz", "raw/num-edge-list.csv.gz", "raw/node-feat.csv.gz", "raw/edge.csv.gz",
             "raw/edge-feat.csv.gz", "raw/graph-label.csv.gz", "split/scaffold/train.csv.gz", "split/scaffold/test.csv.gz")  # fmt: skip


@pytest.mark.parametrize("rel", _GZ_FILES)
@pytest.mark.parametrize("damage", ["truncated", "not gzip", "empty gzip member cut"])
def test_damaged_gzip_file_is_named(ogb_copy, rel, damage):
    path = ogb_copy / "ogbg_molbbbp" / rel
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "not gzip":
        path.write_bytes(b"0,1\n2,3\n")
    else:
        path.write_bytes(data[:-4])  # the size trailer cut off: the stream ends early
    with pytest.raises(OgbDataError, match=re.escape(str(path))) as info:
        read_ogb_dataset(ogb_copy, NAME, cache=False)
    assert "get a fresh copy" in str(info.value)


def test_invalid_provenance_file_is_named(ogb_copy):
    provenance = ogb_copy / "ogbg_molbbbp" / "molssl_build.json"
    provenance.write_text('{"official": false, ')
    with pytest.raises(OgbDataError, match=rf"{re.escape(str(provenance))}: not valid JSON"):
        read_ogb_dataset(ogb_copy, NAME)
    provenance.write_text("[1, 2]")
    with pytest.raises(OgbDataError, match="not a JSON object"):
        read_ogb_dataset(ogb_copy, NAME)


def _shift_bond(raw, graph):
    """Move the first bond of ``graph + 1`` into ``graph`` by editing num-edge-list alone (+1, then -1)."""
    path = raw / "num-edge-list.csv.gz"
    counts = pd.read_csv(path, header=None).values[:, 0].copy()
    counts[graph] += 1
    counts[graph + 1] -= 1
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(str(c) for c in counts) + "\n")


def test_shifted_edge_counts_are_found(ogb_copy, ogb_root):
    raw = ogb_copy / "ogbg_molbbbp" / "raw"
    data = read_ogb_dataset(ogb_root, NAME)
    bonds = data.graphs.num_edges // 2
    graph = int(np.flatnonzero((bonds[:-1] > 0) & (bonds[1:] > 0))[0])
    _shift_bond(raw, graph)
    with pytest.raises(OgbDataError) as info:
        read_ogb_dataset(ogb_copy, NAME, cache=False)
    message = str(info.value)
    assert message.startswith(f"{raw / 'edge.csv.gz'}: ") and f"graph {graph} " in message and "num-edge-list.csv.gz" in message


@pytest.mark.parametrize("direction", [1, -1])
def test_every_single_shift_of_a_bond_between_neighbours_is_found(ogb_root, tmp_path, direction):
    """Over the whole fixture (salts and hydrates included): moving one bond across any boundary, either way, is found."""
    from molssl.ogb.layout import check_bonds

    data = read_ogb_dataset(ogb_root, NAME)
    bonds = data.graphs.num_edges // 2
    edge = data.graphs.edge_index[:, 0::2].T  # each bond once, as edge.csv.gz holds it
    check_bonds(edge, data.graphs.num_atoms, bonds, tmp_path, data.graphs.x)  # the true counts pass
    giver = bonds[1:] if direction == 1 else bonds[:-1]
    missed, shifts = [], np.flatnonzero(giver > 0)
    assert len(shifts) > 300
    for graph in shifts:
        shifted = bonds.copy()
        shifted[graph] += direction
        shifted[graph + 1] -= direction
        try:
            check_bonds(edge, data.graphs.num_atoms, shifted, tmp_path, data.graphs.x)
        except OgbDataError:
            continue
        missed.append(int(graph))
    assert missed == []


def _cache(root):
    return cache_dir(root / "ogbg_molbbbp")


def _hand_edit_edge_index(cache):
    edge_index = np.load(cache / "edge_index.npy")
    edge_index[:, [0, 1]] = edge_index[:, [1, 0]][:, ::-1]  # plausible values, wrong graph
    edge_index[0, 2] = edge_index[0, 3]
    np.save(cache / "edge_index.npy", edge_index)


def _hand_edit_atom_ptr(cache):
    atom_ptr = np.load(cache / "atom_ptr.npy")
    atom_ptr[5] += 1
    np.save(cache / "atom_ptr.npy", atom_ptr)


def _hand_edit_labels(cache):
    labels = np.load(cache / "labels.npy")
    np.save(cache / "labels.npy", 1 - labels)


_CACHE_DAMAGE = {
    "edge_index edited": _hand_edit_edge_index,
    "atom_ptr edited": _hand_edit_atom_ptr,
    "labels edited": _hand_edit_labels,
    "x truncated": lambda c: (c / "x.npy").write_bytes((c / "x.npy").read_bytes()[:-7]),
    "train deleted": lambda c: (c / "train.npy").unlink(),
    "meta a list": lambda c: (c / "meta.json").write_text("[]"),
    "meta without task names": lambda c: (c / "meta.json").write_text(
        json.dumps({k: v for k, v in json.loads((c / "meta.json").read_text()).items() if k != "task_names"})),
    "meta not UTF-8": lambda c: (c / "meta.json").write_bytes(b"\xff\xfe"),
    "cache is a file": lambda c: (shutil.rmtree(c), c.write_text("x")),
}  # fmt: skip


@pytest.mark.parametrize("damage", list(_CACHE_DAMAGE))
def test_damaged_cache_is_rebuilt(ogb_copy, damage):
    first = read_ogb_dataset(ogb_copy, NAME)
    expected = (np.array(first.graphs.edge_index), np.array(first.graphs.atom_ptr), np.array(first.labels), np.array(first.split.train))
    del first
    _CACHE_DAMAGE[damage](_cache(ogb_copy))
    with pytest.warns(UserWarning, match=r"rebuilding the cache .*raw-v2"):
        again = read_ogb_dataset(ogb_copy, NAME)
    for mine, theirs in zip((again.graphs.edge_index, again.graphs.atom_ptr, again.labels, again.split.train), expected):
        assert np.array_equal(mine, theirs)
    assert _cache(ogb_copy).is_dir() and read_ogb_dataset(ogb_copy, NAME).files == again.files  # rewritten, and reused quietly


def test_release_check(smiles2graph_copy, monkeypatch):
    """Official only when nothing marks the copy as built elsewhere and what the catalog knows matches."""
    import dataclasses

    from molssl.ogb import catalog

    root, smiles, _ = smiles2graph_copy
    data = read_ogb_dataset(root, "ogbg-molbace", cache=False)
    assert not data.official  # the catalog cannot check bace's graph count
    assert data.not_official_because == ("the catalog has no graph count of the official ogbg-molbace release to check this copy against",)
    info = dataclasses.replace(catalog.get_ogb_dataset("ogbg-molbace"), num_graphs=len(smiles))
    monkeypatch.setattr("molssl.ogb.layout.get_ogb_dataset", lambda name: info)
    counted = read_ogb_dataset(root, "ogbg-molbace", cache=False)
    assert counted.official and counted.not_official_because == ()
    off_by_one = dataclasses.replace(info, num_graphs=len(smiles) + 1)
    monkeypatch.setattr("molssl.ogb.layout.get_ogb_dataset", lambda name: off_by_one)
    assert read_ogb_dataset(root, "ogbg-molbace", cache=False).not_official_because == (
        f"{len(smiles)} graphs, but the official ogbg-molbace release has {len(smiles) + 1:,}",)


def test_molssl_build_is_never_official(ogb_copy):
    data = read_ogb_dataset(ogb_copy, NAME)
    assert not data.official
    assert data.not_official_because[0].startswith("built by molssl (molssl_build.json) from ")
    (ogb_copy / "ogbg_molbbbp" / "molssl_build.json").unlink()  # its release note still says what it is
    assert read_ogb_dataset(ogb_copy, NAME).not_official_because[0] == "its RELEASE_v1.txt says it is not an official OGB release"


def test_leaderboard_datasets_know_their_release_size():
    # https://ogb.stanford.edu/docs/graphprop/ (#Graphs)
    assert get_ogb_dataset("ogbg-molhiv").num_graphs == 41_127
    assert get_ogb_dataset("ogbg-molpcba").num_graphs == 437_929
