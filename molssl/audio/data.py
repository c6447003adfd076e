"""Audio clips as a pretraining and evaluation data source, and the "audio" opener of ``molssl.pretrain.source``.

``AudioSource`` holds every clip's samples in memory as 16-bit PCM (the 3,000 FSDD recordings are 21 MB) and cuts
each into one fixed window of ``logmel.samples_for(frames)`` samples (64 frames = 8,320 samples, 1.04 s, at the
defaults): shorter clips are zero-padded at the end, longer ones keep their centre (how many were trimmed is in
``describe()``). Batches are ``AudioBatch`` es of float32 waveforms; the view recipes compute the log-mel
spectrograms on the training device. The opener reads:

- ``None`` / ``"fsdd"`` / ``"embedded"``: the embedded Free Spoken Digit Dataset (``datasets/fsdd``);
- a directory of PCM WAV files (``molssl.audio.wav``): class sub-folders (labels in sorted sub-folder order), or
  flat, FSDD-named files ``{digit}_{speaker}_{take}.wav`` (digit, speaker and take labels), or any flat files
  (unlabeled). Files at another sample rate are an error unless the option ``resample=true``.

Options (``--data-option KEY=VALUE``): ``label`` (``digit`` or ``speaker`` for FSDD-named clips; default digit),
``frames``, the ``LogMelConfig`` fields (``sample_rate``, ``n_fft``, ``hop_length``, ``n_mels``, ``f_min``,
``f_max``, ``floor``), ``mean``/``std`` (the log-mel normalization; default computed from the clips' own frames),
``resample`` and ``takes`` (keep only these takes of FSDD-named clips, e.g. ``takes=10-49``: pretraining on the
probes' train takes, so neither the test clips nor their statistics enter it).

FSDD's customary split (its README) tests on takes 0-4; ``probe_split`` also holds out takes 5-9 for validation
(train: takes 10-49), so the probes select on validation and report test on the customary test takes.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import logging
import lzma
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np
import torch
from torch import Tensor

from molssl.audio.batch import AudioBatch
from molssl.audio.logmel import LogMelConfig, log_mel
from molssl.audio.wav import read_wav, resample
from molssl.pretrain.source import DataSource, register_source

logger = logging.getLogger(__name__)

#: the embedded recordings (see datasets/fsdd/README.md)
FSDD_SAMPLES = "fsdd/fsdd_samples.npy.xz"
FSDD_INDEX = "fsdd/fsdd_index.csv"
FSDD_NAME = re.compile(r"^(\d+)_([A-Za-z]+)_(\d+)\.wav$")
#: FSDD's customary test takes (its README), and the validation takes the probes hold out before them
TEST_TAKES, VALIDATION_TAKES = range(0, 5), range(5, 10)
#: (data sha256, clips, LogMelConfig, frames) -> the log-mel mean and std computed from them, once per process
_STATISTICS: dict[tuple[str, int, LogMelConfig, int], tuple[float, float]] = {}


class AudioSource(DataSource):
    """A labeled or unlabeled set of clips at one sample rate, cut into one fixed window each.

    Args:
        clips: each clip's samples, int16 (16-bit PCM).
        logmel: how the clips become spectrograms (``sample_rate`` is the clips').
        frames: spectrogram frames per window.
        labels: label name -> [N] int64 per clip (e.g. ``{"digit": ..., "speaker": ...}``); ``classes`` names them.
        label: which of ``labels`` batches carry (None: none).
        takes: [N] take number of each clip (FSDD), for ``probe_split``; None when there are none.
        path, digest: where the clips came from and the sha256 of what was read (it also keys the cached
            normalization statistics, so it must identify these clips).
        mean, std: the log-mel normalization; None computes it from the clips' own frames.
    """

    modality: ClassVar[str] = "audio"
    unit: ClassVar[str] = "clips"

    def __init__(self, clips: Sequence[np.ndarray], logmel: LogMelConfig | None = None, *, frames: int = 64,
                 labels: dict[str, Tensor] | None = None, classes: dict[str, list[str]] | None = None,
                 label: str | None = None, takes: Tensor | None = None, path: str = "<memory>",
                 digest: str | None = None, mean: float | None = None, std: float | None = None) -> None:  # fmt: skip
        self.logmel = logmel or LogMelConfig()
        if not clips:
            raise ValueError(f"{path}: no clips")
        if frames < 1:
            raise ValueError(f"frames must be >= 1, got {frames}")
        self.clips = [np.asarray(c, dtype=np.int16) for c in clips]
        self.frames, self.path, self.digest = int(frames), path, digest
        self.labels = {k: v.to(torch.int64) for k, v in (labels or {}).items()}
        self.classes = dict(classes or {})
        for name, values in self.labels.items():
            if values.shape != (len(self.clips),):
                raise ValueError(f"{path}: {len(self.clips)} clips but {tuple(values.shape)} {name} labels")
        if label is not None and label not in self.labels:
            raise ValueError(f"{path}: no {label!r} labels; these clips have {sorted(self.labels) or 'none'}")
        self.label, self.takes = label, takes
        self.windows, self.lengths, self.trimmed = _windows(self.clips, self.logmel.samples_for(self.frames))
        if (mean is None) != (std is None):
            raise ValueError("give both mean and std, or neither (computed from the clips)")
        self.mean, self.std = 0.0, 1.0  # until computed: ``_statistics`` collates unnormalized batches
        if mean is None:
            key = (digest, len(self.clips), self.logmel, self.frames)
            statistics = _STATISTICS.get(key) if digest is not None else None
            if statistics is None:
                statistics = self._statistics()
                if digest is not None:
                    _STATISTICS[key] = statistics
            mean, std = statistics
        if not std > 0:
            raise ValueError(f"{path}: the log-mel std must be > 0, got {std}")
        self.mean, self.std = float(mean), float(std)

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def num_classes(self) -> int | None:
        """Classes of the batches' label (None without one)."""
        return None if self.label is None else len(self.classes.get(self.label, [])) or int(self.labels[self.label].max()) + 1

    def batch(self, indices: Tensor, generator: torch.Generator | None = None) -> AudioBatch:
        """The clips ``indices`` (nothing is drawn).

        Shapes:
            indices: [B] int64 -> AudioBatch.waveforms [B, T]
        """
        waveforms = self.windows[indices].to(torch.float32).div_(32768.0)
        labels = None if self.label is None else self.labels[self.label][indices]
        return AudioBatch(waveforms, self.lengths[indices], self.logmel, labels, self.mean, self.std)

    def _statistics(self) -> tuple[float, float]:
        """Mean and std of the log-mel values of the clips' own frames (not the padding), rounded to 4 decimals."""
        total, square, count = 0.0, 0.0, 0
        for chunk in torch.arange(len(self)).split(512):
            batch = self.batch(chunk)
            values = log_mel(batch.waveforms, self.logmel).double()  # [b, M, frames]
            inside = torch.arange(batch.frames) < batch.clip_frames().unsqueeze(1)  # [b, frames]
            chosen = values.transpose(1, 2)[inside]  # [frames inside, M]
            total += float(chosen.sum())
            square += float(chosen.square().sum())
            count += chosen.numel()
        mean = total / count
        return round(mean, 4), round(max(square / count - mean**2, 1e-8) ** 0.5, 4)

    def preprocessing(self) -> dict[str, Any]:
        """Log-mel settings, window length in frames and normalization: what an encoder trained on these clips expects."""
        return {"logmel": self.logmel.to_dict(), "frames": self.frames,
                "normalization": {"mean": self.mean, "std": self.std}}  # fmt: skip

    def describe(self) -> dict[str, Any]:
        """What was read (path, sha256, counts, labels) and how (``preprocessing``)."""
        return {"modality": self.modality, "path": self.path, "sha256": self.digest, "clips": len(self),
                "label": self.label, "num_classes": self.num_classes, "classes": self.classes.get(self.label or ""),
                "padded": int((self.lengths < self.windows.size(1)).sum()), "trimmed": self.trimmed,
                **self.preprocessing()}  # fmt: skip

    def encoder_options(self) -> dict[str, Any]:
        """Spectrograms are 1-channel images."""
        return {"in_channels": 1}

    def with_label(self, label: str | None) -> AudioSource:
        """This source with batches carrying ``label`` (same clips and preprocessing)."""
        return self._replace(label=label)

    def with_preprocessing(self, preprocessing: dict[str, Any]) -> AudioSource:
        """This source prepared as ``preprocessing`` (an encoder checkpoint's) says: log-mel, frames, normalization.

        Raises:
            ValueError: the recorded sample rate differs from the clips'.
        """
        logmel = LogMelConfig.from_dict(preprocessing.get("logmel", self.logmel.to_dict()))
        if logmel.sample_rate != self.logmel.sample_rate:
            raise ValueError(f"{self.path}: clips at {self.logmel.sample_rate} Hz, the encoder was trained on "
                             f"{logmel.sample_rate} Hz audio; open them with the option sample_rate={logmel.sample_rate} "
                             "resample=true")  # fmt: skip
        norm = preprocessing.get("normalization") or {"mean": self.mean, "std": self.std}
        return self._replace(logmel=logmel, frames=int(preprocessing.get("frames", self.frames)), mean=norm["mean"],
                             std=norm["std"])  # fmt: skip

    def with_takes(self, takes: Sequence[int], *, mean: float | None = None, std: float | None = None) -> AudioSource:
        """The clips whose take is in ``takes``, in order, normalized from their own frames (or ``mean``/``std``).

        Raises:
            ValueError: these clips have no takes, or none has one of ``takes``.
        """
        if self.takes is None:
            raise ValueError(f"{self.path}: these clips have no takes to choose from (FSDD-named files "
                             "{digit}_{speaker}_{take}.wav have)")  # fmt: skip
        wanted = sorted({int(t) for t in takes})
        keep = torch.from_numpy(np.flatnonzero(np.isin(self.takes.numpy(), wanted)))
        if not len(keep):
            raise ValueError(f"{self.path}: no clip has a take in {wanted}; its takes are "
                             f"{int(self.takes.min())}-{int(self.takes.max())}")  # fmt: skip
        # the subset's own digest: the normalization cache is keyed by it
        digest = None if self.digest is None else hashlib.sha256(f"{self.digest} takes {wanted}".encode()).hexdigest()
        return AudioSource([self.clips[i] for i in keep.tolist()], self.logmel, frames=self.frames,
                           labels={k: v[keep] for k, v in self.labels.items()}, classes=self.classes, label=self.label,
                           takes=self.takes[keep], path=f"{self.path} (takes {_ranges(wanted)})", digest=digest,
                           mean=mean, std=std)  # fmt: skip

    def _replace(self, **changes: Any) -> AudioSource:
        kept = {"logmel": self.logmel, "frames": self.frames, "labels": self.labels, "classes": self.classes,
                "label": self.label, "takes": self.takes, "path": self.path, "digest": self.digest, "mean": self.mean,
                "std": self.std}  # fmt: skip
        return AudioSource(self.clips, **{**kept, **changes})

    def probe_split(self, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """FSDD's customary split by take: train takes 10-49, validation 5-9, test 0-4 (None without takes).

        ``seed`` is accepted for the probe protocol's signature; this split draws nothing.
        """
        if self.takes is None:
            return None
        takes = self.takes.numpy()
        test, val = np.isin(takes, TEST_TAKES), np.isin(takes, VALIDATION_TAKES)
        return np.flatnonzero(~(test | val)), np.flatnonzero(val), np.flatnonzero(test)


def _windows(clips: Sequence[np.ndarray], samples: int) -> tuple[Tensor, Tensor, int]:
    """Each clip in a window of ``samples``: zero-padded at the end, or its centre kept. -> [N, T] int16, [N] int64, trimmed"""
    windows = np.zeros((len(clips), samples), dtype=np.int16)
    lengths = np.zeros(len(clips), dtype=np.int64)
    trimmed = 0
    for i, clip in enumerate(clips):
        if len(clip) > samples:
            start = (len(clip) - samples) // 2
            clip, trimmed = clip[start : start + samples], trimmed + 1
        windows[i, : len(clip)] = clip
        lengths[i] = len(clip)
    return torch.from_numpy(windows), torch.from_numpy(lengths), trimmed


def parse_takes(value: Any) -> list[int]:
    """The takes of the ``takes`` option: ``"10-49"``, ``"0-4,7"``, one number, or a list of numbers.

    Raises:
        ValueError: anything else, with the forms it takes.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, (list, tuple, range)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return [int(v) for v in value]
    takes: list[int] = []
    for part in str(value).split(",") if isinstance(value, str) else [None]:
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part or "")
        if match is None or (match[2] is not None and int(match[2]) < int(match[1])):
            raise ValueError(f"the audio option takes={value!r} is not a list of takes; give e.g. takes=10-49 or "
                             "takes=0-4,7")  # fmt: skip
        takes += range(int(match[1]), int(match[2] or match[1]) + 1)
    return takes


def _ranges(values: list[int]) -> str:
    """Sorted distinct integers as ranges: [0, 1, 2, 7] -> "0-2,7"."""
    runs: list[list[int]] = []
    for v in values:
        if runs and v == runs[-1][1] + 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


# ------------------------------------------------------------------------------------------------ readers


@lru_cache(maxsize=2)
def read_fsdd(samples_file: str, index_file: str) -> tuple[list[np.ndarray], list[dict[str, str]], str]:
    """The embedded FSDD clips (int16), their index rows and the sha256 of both files (cached per process).

    Raises:
        ValueError: an index row whose offset and length do not fit the samples, naming the row.
    """
    compressed = Path(samples_file).read_bytes()
    index = Path(index_file).read_bytes()
    samples = np.load(io.BytesIO(lzma.decompress(compressed)), allow_pickle=False)
    if samples.dtype != np.int16 or samples.ndim != 1:
        raise ValueError(f"{samples_file}: expected one int16 array of samples, got {samples.dtype} {samples.shape}")
    rows = list(csv.DictReader(io.StringIO(index.decode())))
    clips = []
    for number, row in enumerate(rows, start=2):
        offset, length = int(row["offset"]), int(row["samples"])
        if offset < 0 or length < 1 or offset + length > samples.size:
            raise ValueError(f"{index_file} row {number}: samples {offset}..{offset + length} outside the "
                             f"{samples.size} samples of {samples_file}")  # fmt: skip
        clips.append(samples[offset : offset + length])
    digest = hashlib.sha256(compressed + index).hexdigest()
    return clips, rows, digest


def fsdd_labels(names: Sequence[tuple[int, str, int]]) -> tuple[dict[str, Tensor], dict[str, list[str]], Tensor]:
    """Digit and speaker labels (speakers in sorted order) and takes of FSDD-named clips ``(digit, speaker, take)``."""
    speakers = sorted({speaker for _, speaker, _ in names})
    digits = sorted({digit for digit, _, _ in names})
    labels = {"digit": torch.tensor([digits.index(d) for d, _, _ in names]),
              "speaker": torch.tensor([speakers.index(s) for _, s, _ in names])}  # fmt: skip
    return labels, {"digit": [str(d) for d in digits], "speaker": speakers}, torch.tensor([t for _, _, t in names])


def read_wav_folder(directory: Path, sample_rate: int, allow_resample: bool) -> tuple[list[np.ndarray], dict[str, Any], list[Path]]:
    """The WAV files of a folder as int16 clips at ``sample_rate``, with labels (module docstring) and the files read."""
    classes = sorted(p.name for p in directory.iterdir() if p.is_dir())
    if classes:
        files = [(f, label) for label, name in enumerate(classes) for f in sorted((directory / name).glob("*.wav"))]
    else:
        files = [(f, None) for f in sorted(directory.glob("*.wav"))]
    if not files:
        raise ValueError(f"{directory}: no WAV files (expected {directory}/*.wav or {directory}/CLASS/*.wav)")
    clips = []
    for path, _ in files:
        samples, rate = read_wav(path)
        if rate != sample_rate:
            if not allow_resample:
                raise ValueError(f"{path}: {rate} Hz audio, the data is read at {sample_rate} Hz; pass the option "
                                 f"sample_rate={rate} or resample=true")  # fmt: skip
            samples = resample(samples, rate, sample_rate)
        clips.append(np.round(np.clip(samples, -1.0, 32767 / 32768) * 32768.0).astype(np.int16))
    info: dict[str, Any] = {"labels": {}, "classes": {}, "takes": None}
    if classes:
        info["labels"] = {"class": torch.tensor([label for _, label in files])}
        info["classes"] = {"class": classes}
    elif all(FSDD_NAME.match(p.name) for p, _ in files):
        names = [(int(m[1]), m[2], int(m[3])) for m in (FSDD_NAME.match(p.name) for p, _ in files)]
        info["labels"], info["classes"], info["takes"] = fsdd_labels(names)
    return clips, info, [p for p, _ in files]


@dataclass(frozen=True, kw_only=True)
class AudioDataOptions:
    """The audio opener's options (``molssl pretrain --data-option KEY=VALUE``) besides the ``LogMelConfig`` fields.

    Attributes:
        label: the label batches carry: ``digit`` or ``speaker`` (FSDD-named clips), ``class`` (class folders).
        frames: spectrogram frames per window.
        mean, std: log-mel normalization (default: computed from the clips).
        resample: resample WAV files at another rate to ``sample_rate`` (else an error).
        takes: keep only the clips of these takes (``parse_takes``: ``"10-49"``, ``"0-4,7"``; FSDD-named clips).
    """

    label: str | None = None
    frames: int = 64
    mean: float | None = None
    std: float | None = None
    resample: bool = False
    takes: Any = None

    @classmethod
    def split(cls, options: dict[str, Any]) -> tuple[AudioDataOptions, LogMelConfig]:
        """These options and the log-mel settings from one flat dict of options.

        Raises:
            ValueError: a key that is neither (the valid ones listed).
        """
        logmel_keys = {f.name for f in dataclasses.fields(LogMelConfig)}
        unknown = sorted(set(options) - logmel_keys - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            valid = [f.name for f in dataclasses.fields(cls)] + [f.name for f in dataclasses.fields(LogMelConfig)]
            raise ValueError(f"unknown audio data options {unknown}; valid keys: {', '.join(valid)}")
        logmel = LogMelConfig.from_dict({k: v for k, v in options.items() if k in logmel_keys})
        return cls(**{k: v for k, v in options.items() if k not in logmel_keys}), logmel


def open_audio_source(data: Any = None, options: dict[str, Any] | None = None, *, labels: bool = False,
                      workers: int = 1) -> AudioSource:  # fmt: skip
    """Open ``data`` (see the module docstring) as an ``AudioSource``.

    Raises:
        ValueError: unknown options, unreadable data, or ``labels=True`` for clips without labels.
        FileNotFoundError: a path that does not exist.
    """
    opts, logmel = AudioDataOptions.split(dict(options or {}))
    chosen_takes = None if opts.takes is None else parse_takes(opts.takes)
    common = {"frames": opts.frames, "mean": opts.mean, "std": opts.std}
    if chosen_takes is not None:  # normalized once the takes are chosen (with_takes), not from all the clips first
        common.update(mean=0.0, std=1.0)
    if isinstance(data, AudioSource):
        source = data
    elif data is None or (isinstance(data, str) and data in ("fsdd", "embedded")):
        from molssl.data.embedded import embedded_file

        if logmel.sample_rate != 8000:
            raise ValueError("the embedded FSDD recordings are 8 kHz; leave sample_rate at 8000")
        clips, rows, digest = read_fsdd(str(embedded_file(FSDD_SAMPLES)), str(embedded_file(FSDD_INDEX)))
        names = [(int(r["digit"]), r["speaker"], int(r["take"])) for r in rows]
        label_values, classes, takes = fsdd_labels(names)
        source = AudioSource(clips, logmel, labels=label_values, classes=classes, label=opts.label or "digit",
                             takes=takes, path="embedded:" + FSDD_SAMPLES, digest=digest, **common)  # fmt: skip
    else:
        path = Path(data)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such directory of WAV files")
        if not path.is_dir():
            raise ValueError(f"{path}: audio data is a directory of WAV files (or 'fsdd', the embedded recordings)")
        clips, info, files = read_wav_folder(path, logmel.sample_rate, opts.resample)
        sha = hashlib.sha256()
        for file in files:
            sha.update(file.read_bytes())
        default = "class" if "class" in info["labels"] else ("digit" if "digit" in info["labels"] else None)
        source = AudioSource(clips, logmel, labels=info["labels"], classes=info["classes"], label=opts.label or default,
                             takes=info["takes"], path=str(path), digest=sha.hexdigest(), **common)  # fmt: skip
    if chosen_takes is not None:
        source = source.with_takes(chosen_takes, mean=opts.mean, std=opts.std)
    if source.trimmed:
        logger.info("%s: %d of %d clips are longer than the %d-frame window; their centre is kept", source.path,
                    source.trimmed, len(source), source.frames)  # fmt: skip
    if labels and source.label is None:
        raise ValueError(f"{source.path}: these clips have no labels; give class sub-folders or FSDD-named files "
                         "({digit}_{speaker}_{take}.wav)")  # fmt: skip
    return source


register_source("audio", open_audio_source)
