"""``PropertyPredictor.fit(pretrained=NAME)`` starts from the zoo's encoder, offline."""

from __future__ import annotations

import torch

from molssl.nn.pretrained import load_encoder_state
from molssl.tasks.finetune import FinetuneConfig
from molssl.tasks.predictor import PropertyPredictor
from molssl.zoo import pretrained_dir
from tests.conftest import MOLECULENET

GAT = "hu2020/gat_supervised_contextpred"


def test_fit_resolves_a_zoo_name_and_starts_from_its_weights(tmp_path):
    header, *rows = (MOLECULENET / "bbbp.csv").read_text().splitlines()
    label = header.split(",").index("p_np")
    by_class = [[r for r in rows if r.split(",")[label] == c][:30] for c in ("0", "1")]
    data = tmp_path / "bbbp60.csv"
    data.write_text("\n".join([header, *by_class[0], *by_class[1]]) + "\n")
    predictor = PropertyPredictor(encoder="gin")  # the architecture comes from the zoo's checkpoint
    predictor.fit(str(data), split="stratified", pretrained=GAT, config=FinetuneConfig(epochs=1, mode="linear_probe", seeds=(0,)))
    config = predictor.model_.config.encoder
    assert (config.conv, config.conv_options, config.dropout) == ("gat", {"heads": 2, "softmax": "pretrain_gnns_legacy"}, 0.5)
    assert predictor.info_["pretrained"] == GAT
    _, zoo_state = load_encoder_state(pretrained_dir(GAT))
    fitted = predictor.model_.encoder.state_dict()
    assert all(torch.equal(fitted[k], zoo_state[k]) for k in zoo_state)  # frozen: exactly the zoo's weights
