"""The atom-level SMILES tokenizer: round trip on the embedded corpora, chirality tokens, [UNK] counting, JSON."""

from __future__ import annotations

import csv
import functools
import gzip
import json

import pytest

from molssl.data.embedded import embedded_file
from molssl.text.default_vocabulary import BASE_TOKENS, build_default_vocabulary, default_tokenizer, vocabulary_path
from molssl.text.tokenizer import SmilesTokenizer, detokenize, tokenize
from tests.conftest import AWKWARD

MOLECULENET = ("bace", "bbbp", "clintox", "esol", "freesolv", "lipo", "sider")


@functools.lru_cache(maxsize=1)
def corpus_smiles() -> tuple[str, ...]:
    with gzip.open(embedded_file("moses/moses_50k.smi.gz"), "rt") as handle:
        smiles = [line.split()[0] for line in handle.read().splitlines()[1:]]
    for name in MOLECULENET:
        with open(embedded_file(f"moleculenet/{name}.csv"), newline="") as handle:
            smiles += [row[0] for row in list(csv.reader(handle))[1:]]
    return tuple(smiles)


def test_round_trip_exact_for_every_embedded_smiles():
    smiles = corpus_smiles()
    assert len(smiles) > 60_000
    assert [s for s in smiles if detokenize(tokenize(s)) != s] == []
    tokenizer = default_tokenizer()
    # ids round-trip too, wherever no token is unknown (the unknown ones are counted instead)
    for s in smiles[::7]:
        encoding = tokenizer.encode(s)
        if encoding.unknown == 0:
            assert tokenizer.decode(encoding.ids) == s


def test_round_trip_of_awkward_molecules_with_byte_fallback():
    tokenizer = SmilesTokenizer.build(list(corpus_smiles()[:1000]), unknown="bytes")
    for smiles in AWKWARD:
        assert detokenize(tokenize(smiles)) == smiles
        assert tokenizer.decode(tokenizer.encode(smiles).ids) == smiles


@pytest.mark.parametrize(
    ("smiles", "tokens"),
    [
        ("C[C@@H](N)C(=O)O", ["C", "[C@@H]", "(", "N", ")", "C", "(", "=", "O", ")", "O"]),
        ("F/C=C\\Cl", ["F", "/", "C", "=", "C", "\\", "Cl"]),
        ("BrCCBr", ["Br", "C", "C", "Br"]),
        ("C1CC%12CC1%12", ["C", "1", "C", "C", "%12", "C", "C", "1", "%12"]),
        ("[NH3+]CC([O-])=O.[Na+]", ["[NH3+]", "C", "C", "(", "[O-]", ")", "=", "O", ".", "[Na+]"]),
        ("c1ccccc1[2H]", ["c", "1", "c", "c", "c", "c", "c", "1", "[2H]"]),
        ("C[S@](=O)c1ccccc1", ["C", "[S@]", "(", "=", "O", ")", "c", "1", "c", "c", "c", "c", "c", "1"]),
        ("*C#N", ["*", "C", "#", "N"]),
    ],
)
def test_tokens_keep_chirality_charges_and_two_letter_elements(smiles, tokens):
    assert tokenize(smiles) == tokens


def test_chirality_survives_encoding_with_the_default_vocabulary():
    tokenizer = default_tokenizer()
    a, b = tokenizer.encode("N[C@@H](C)C(=O)O"), tokenizer.encode("N[C@H](C)C(=O)O")
    assert a.unknown == b.unknown == 0 and a.ids != b.ids
    assert tokenizer.decode(a.ids) == "N[C@@H](C)C(=O)O"


def test_unknown_tokens_become_unk_and_are_counted_never_split():
    tokenizer = SmilesTokenizer.build(["CCO", "c1ccccc1"])
    encoding = tokenizer.encode("CC[Se]CX")
    assert encoding.unknown == 2  # the bracket atom whole, and the stray character
    assert encoding.ids.count(tokenizer.unk_id) == 2
    assert len(encoding.ids) == 2 + len(tokenize("CC[Se]CX"))  # [CLS] ... [SEP], one id per token
    report = tokenizer.unknown_report(["CC[Se]C", "[Se]"])
    assert report["unknown"] == 2 and report["most_common"] == [("[Se]", 2)]


def test_byte_fallback_round_trips_any_text():
    tokenizer = SmilesTokenizer.build(["CCO"], unknown="bytes")
    for text in ("CC[Se]C", "free text: ünïcode ✓", "CCO"):
        encoding = tokenizer.encode(text)
        assert tokenizer.decode(encoding.ids) == text
    assert tokenizer.encode("CCO").unknown == 0 and tokenizer.encode("C[Se]").unknown == 1


def test_frequency_cutoff_and_order():
    tokenizer = SmilesTokenizer.build(["CCO", "CCN", "CS"], min_frequency=2)
    assert tokenizer.corpus_tokens == ("C",)  # C: 5; O, N, S: once each
    assert tokenizer.corpus["dropped_tokens"] == 3


def test_truncation_keeps_sep():
    tokenizer = SmilesTokenizer.build(["CCCCCC"])
    encoding = tokenizer.encode("CCCCCC", max_length=4)
    assert encoding.truncated and encoding.ids == [tokenizer.cls_id, tokenizer.stoi["C"], tokenizer.stoi["C"], tokenizer.sep_id]


def test_json_round_trip_and_version_checks(tmp_path):
    tokenizer = SmilesTokenizer.build(["C[C@@H](N)O"], min_frequency=1, corpus={"file": "x"})
    path = tokenizer.save(tmp_path / "vocab.json")
    loaded = SmilesTokenizer.load(path)
    assert loaded.itos == tokenizer.itos and loaded.digest() == tokenizer.digest()
    data = json.loads(path.read_text())
    for key, value, message in (("version", 99, "version"), ("format", "bpe", "not a molssl"), ("extra", 1, "unknown")):
        bad = tmp_path / f"{key}.json"
        bad.write_text(json.dumps({**data, key: value}))
        with pytest.raises(ValueError, match=message) as info:
            SmilesTokenizer.load(bad)
        assert str(bad) in str(info.value)


def test_frozen_default_vocabulary_equals_a_rebuild():
    frozen = json.loads(vocabulary_path().read_text())
    assert build_default_vocabulary().to_dict() == frozen
    tokenizer = default_tokenizer()
    assert set(BASE_TOKENS) <= set(tokenizer.itos)
    with pytest.raises(ValueError, match="valid vocabularies: smiles_v1"):
        default_tokenizer("nope")
