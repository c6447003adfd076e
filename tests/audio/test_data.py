"""The audio data source: the embedded FSDD against its card, windows, labels, the customary split, WAV folders."""

from __future__ import annotations

import hashlib
import json
import lzma
import re
import wave

import numpy as np
import pytest
import torch

from molssl.audio.data import FSDD_SAMPLES, AudioSource, open_audio_source, parse_takes, read_fsdd
from molssl.data.embedded import REPO_DATASETS, embedded_file
from molssl.pretrain.source import open_source


def test_embedded_recordings_match_the_dataset_card(fsdd):
    card = (REPO_DATASETS / "fsdd" / "README.md").read_text()
    record = json.loads((REPO_DATASETS / "fsdd" / "fsdd.json").read_text())
    raw = lzma.decompress(embedded_file(FSDD_SAMPLES).read_bytes())
    assert hashlib.sha256(raw).hexdigest() == record["sha256"]["fsdd_samples.npy (uncompressed)"]
    for digest in record["sha256"].values():
        assert digest in card
    assert len(fsdd) == 3000 and record["samples"] == sum(len(c) for c in fsdd.clips)
    assert fsdd.classes["speaker"] == ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]
    assert torch.bincount(fsdd.labels["digit"]).tolist() == [300] * 10
    assert torch.bincount(fsdd.labels["speaker"]).tolist() == [500] * 6
    assert torch.bincount(fsdd.takes).tolist() == [60] * 50


def test_windows_keep_the_samples_and_pad_or_trim(fsdd):
    length = fsdd.windows.size(1)
    assert length == 8320 and fsdd.trimmed == 14
    for i in (0, 1234, 2999):
        clip = fsdd.clips[i]
        if len(clip) <= length:
            assert np.array_equal(fsdd.windows[i, : len(clip)].numpy(), clip) and not fsdd.windows[i, len(clip) :].any()
    long = int(np.argmax([len(c) for c in fsdd.clips]))
    start = (len(fsdd.clips[long]) - length) // 2
    assert np.array_equal(fsdd.windows[long].numpy(), fsdd.clips[long][start : start + length])
    batch = fsdd.batch(torch.tensor([0, 1234]))
    torch.testing.assert_close(batch.waveforms, fsdd.windows[[0, 1234]].float() / 32768)
    assert batch.labels.tolist() == fsdd.labels["digit"][[0, 1234]].tolist()


def test_customary_split_tests_on_takes_0_to_4(fsdd):
    train, val, test = fsdd.probe_split()
    assert (len(train), len(val), len(test)) == (2400, 300, 300)
    assert set(fsdd.takes[test].tolist()) == set(range(5)) and set(fsdd.takes[val].tolist()) == set(range(5, 10))
    assert torch.bincount(fsdd.labels["speaker"][test]).tolist() == [50] * 6


def test_normalization_and_preprocessing_are_recorded(fsdd):
    described = fsdd.describe()
    assert described["clips"] == 3000 and described["num_classes"] == 10 and described["trimmed"] == 14
    assert described["normalization"]["std"] > 1 and described["logmel"]["n_mels"] == 64
    spectrograms = fsdd.batch(torch.arange(0, 3000, 7)).normalized()
    assert spectrograms.shape[1:] == (1, 64, 64)
    speaker = open_audio_source("fsdd", {"label": "speaker"})
    assert speaker.num_classes == 6 and speaker.preprocessing() == fsdd.preprocessing()
    other = speaker.with_preprocessing({**fsdd.preprocessing(), "normalization": {"mean": 0.0, "std": 2.0}})
    assert other.std == 2.0 and other.frames == 64
    shorter = fsdd.with_preprocessing({**fsdd.preprocessing(), "frames": 32})
    assert shorter.batch(torch.arange(2)).normalized().shape == (2, 1, 64, 32)


def test_raw_features_average_each_clips_own_frames(fsdd):
    batch = fsdd.batch(torch.tensor([0, 5]))
    features = batch.raw_features()
    for i in range(2):
        frames = int((batch.lengths[i] - 1) // 128 + 1)
        torch.testing.assert_close(features[i], batch.spectrogram()[i, 0, :, :frames].mean(1))


def _write(path, samples: np.ndarray, rate: int = 8000) -> None:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1), writer.setsampwidth(2), writer.setframerate(rate)
        writer.writeframes(samples.astype("<i2").tobytes())


def test_a_folder_of_fsdd_named_wavs_reads_like_the_embedded_set(fsdd, tmp_path):
    rows = read_fsdd(str(embedded_file(FSDD_SAMPLES)), str(embedded_file("fsdd/fsdd_index.csv")))[1]
    chosen = [0, 60, 700, 2999]
    for i in chosen:
        _write(tmp_path / f"{rows[i]['digit']}_{rows[i]['speaker']}_{rows[i]['take']}.wav", fsdd.clips[i])
    folder = open_source("audio", str(tmp_path), {"label": "speaker"}, labels=True)
    order = sorted(chosen, key=lambda i: f"{rows[i]['digit']}_{rows[i]['speaker']}_{rows[i]['take']}.wav")
    assert all(np.array_equal(a, fsdd.clips[i]) for a, i in zip(folder.clips, order))
    assert folder.classes["speaker"] == sorted({rows[i]["speaker"] for i in chosen})
    assert folder.probe_split() is not None


def test_class_folders_and_bad_folders(tmp_path):
    for name in ("no", "yes"):
        (tmp_path / "classes" / name).mkdir(parents=True)
        _write(tmp_path / "classes" / name / "a.wav", np.random.default_rng(0).integers(-3000, 3000, 4000))
    source = open_audio_source(str(tmp_path / "classes"))
    assert source.label == "class" and source.classes["class"] == ["no", "yes"] and source.probe_split() is None
    (tmp_path / "rate").mkdir()
    _write(tmp_path / "rate" / "x.wav", np.zeros(3200), rate=16000)
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "rate" / "x.wav")) + ": 16000 Hz"):
        open_audio_source(str(tmp_path / "rate"))
    resampled = open_audio_source(str(tmp_path / "rate"), {"resample": True})
    assert len(resampled.clips[0]) == 1600 and resampled.label is None
    with pytest.raises(ValueError, match="no labels"):
        open_audio_source(str(tmp_path / "rate"), {"resample": True}, labels=True)
    with pytest.raises(ValueError, match=r"unknown audio data options \['n_mel'\]; valid keys: label, .*n_mels"):
        open_audio_source(None, {"n_mel": 40})
    with pytest.raises(FileNotFoundError, match="no such directory"):
        open_audio_source(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="no clips"):
        AudioSource([])


def test_takes_option_keeps_those_takes_and_normalizes_from_them_alone(fsdd):
    train = open_audio_source("fsdd", {"takes": "10-49", "label": "speaker"})
    rows = fsdd.probe_split()[0]  # the probes' train takes
    assert len(train) == 2400 and sorted(set(train.takes.tolist())) == list(range(10, 50))
    assert all(np.array_equal(a, fsdd.clips[i]) for a, i in zip(train.clips, rows.tolist()))
    assert train.labels["speaker"].tolist() == fsdd.labels["speaker"][rows].tolist() and train.label == "speaker"
    by_hand = AudioSource([fsdd.clips[i] for i in rows.tolist()], fsdd.logmel)  # statistics of these clips only
    assert (train.mean, train.std) == (by_hand.mean, by_hand.std) != (fsdd.mean, fsdd.std)
    assert train.path.endswith("(takes 10-49)") and train.digest != fsdd.digest
    fixed = fsdd.with_takes([0, 1, 2, 7], mean=-6.0, std=4.0)
    assert len(fixed) == 240 and (fixed.mean, fixed.std) == (-6.0, 4.0) and fixed.path.endswith("(takes 0-2,7)")
    assert parse_takes("0-4, 7") == [0, 1, 2, 3, 4, 7] and parse_takes(7) == [7] and parse_takes([3, 1]) == [3, 1]
    for bad in ("4-0", "ten", "1-", 1.5, True):
        with pytest.raises(ValueError, match="takes=10-49"):
            parse_takes(bad)
    with pytest.raises(ValueError, match="no clip has a take in \\[50\\]; its takes are 0-49"):
        fsdd.with_takes([50])
    with pytest.raises(ValueError, match="no takes to choose from"):
        AudioSource(fsdd.clips[:2], mean=0.0, std=1.0).with_takes([0])
